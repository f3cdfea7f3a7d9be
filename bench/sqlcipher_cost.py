"""What SQLCipher (encryption at rest) would cost the desk: plain SQLite vs SQLCipher 4 from the
``sqlcipher3-wheels`` wheel on the same work: small fsync'd commits (an intake is one), a full
scan, an FTS5 query, an online backup, and opening the file (key derivation, paid per start).

    pip install sqlcipher3-wheels   # not a ccdesk dependency (docs/operations.md, "Encryption")
    python bench/sqlcipher_cost.py [--rows 20000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def _work(module, path: Path, key: str | None, rows: int) -> dict[str, float]:  # noqa: ANN001
    started = time.perf_counter()
    con = module.connect(str(path), isolation_level=None)
    if key:
        con.execute(f"PRAGMA key = '{key}'")
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    opened = time.perf_counter() - started
    con.execute("CREATE TABLE d (id INTEGER PRIMARY KEY, name TEXT, phone TEXT, note TEXT)")
    con.execute("CREATE VIRTUAL TABLE f USING fts5(name)")
    con.execute("BEGIN")
    for i in range(rows):
        con.execute("INSERT INTO d (name, phone, note) VALUES (?, ?, ?)",
                    (f"nguyen van {i}", f"09{i:08d}", "x" * 200))
        con.execute("INSERT INTO f (name) VALUES (?)", (f"nguyen van {i}",))
    con.execute("COMMIT")
    commits = []
    for _ in range(200):  # like an intake: one small transaction, fsync'd
        t0 = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO d (name, phone, note) VALUES (?, ?, ?)", ("tran", "0912", "y"))
        con.execute("COMMIT")
        commits.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    con.execute("SELECT count(*), sum(length(note)) FROM d").fetchone()
    scan = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    for _ in range(50):
        con.execute("SELECT rowid FROM f WHERE f MATCH 'van' LIMIT 20").fetchall()
    fts = (time.perf_counter() - t0) * 1000 / 50
    target = path.with_name(path.name + ".bak")
    t0 = time.perf_counter()
    dst = module.connect(str(target))
    if key:
        dst.execute(f"PRAGMA key = '{key}'")
    con.backup(dst)
    dst.close()
    backup = (time.perf_counter() - t0) * 1000
    con.close()
    return {"open_ms": opened * 1000, "commit_p50_ms": statistics.median(commits),
            "commit_p95_ms": sorted(commits)[189], "scan_ms": scan, "fts_ms": fts,
            "backup_ms": backup, "mib": path.stat().st_size / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    import sqlcipher3.dbapi2 as sqlcipher

    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory() as tmp:
        plain = _work(sqlite3, Path(tmp) / "plain.db", None, args.rows)
        enc = _work(sqlcipher, Path(tmp) / "enc.db", "correct horse battery", args.rows)
        # The file is unreadable without the key.
        probe = sqlite3.connect(Path(tmp) / "enc.db")
        try:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
            readable = True
        except sqlite3.DatabaseError:
            readable = False
        probe.close()
    print(f"rows={args.rows}  encrypted file readable by plain sqlite3: {readable}")
    print(f"{'':16}{'SQLite':>10}{'SQLCipher':>11}{'ratio':>7}")
    for name in plain:
        ratio = enc[name] / plain[name] if plain[name] else float("nan")
        print(f"{name:16}{plain[name]:>10.2f}{enc[name]:>11.2f}{ratio:>7.2f}")


if __name__ == "__main__":
    main()
