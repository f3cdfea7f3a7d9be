"""What the double stored, in one SQLite file: a kill -9 of the double keeps every call it
answered (each call is one transaction in WAL mode: a committed transaction survives the death
of the process; ``synchronous=NORMAL`` may lose the last ones only if the *machine* loses power,
which a rehearsal double can afford).

Nothing here is logged: snapshots carry citizens' names and ID numbers, so they live only in the
database and come out only through ``/_inspect`` on the double's own address."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from sync.upstream.double.rules import step_fingerprint

SCHEMA = """
CREATE TABLE IF NOT EXISTS dossier (
    ma_ho_so TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    snapshot BLOB NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshot (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ma_ho_so TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    is_updating TEXT NOT NULL,
    snapshot BLOB NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshot_by_code ON snapshot (ma_ho_so, version);
CREATE TABLE IF NOT EXISTS step (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ma_ho_so TEXT NOT NULL,
    thoi_diem TEXT NOT NULL,
    trang_thai TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    duplicate INTEGER NOT NULL,
    step BLOB NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS step_by_code ON step (ma_ho_so, id);
CREATE INDEX IF NOT EXISTS step_by_fingerprint ON step (fingerprint);
CREATE TABLE IF NOT EXISTS rating (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    data BLOB NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reject (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    rule TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class DoubleStore:
    """The double's state. One connection guarded by a lock: the double is a test fixture and
    a rehearsal tool, its speed is the forwarder's loopback figure, not a province's load."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        # Calls and faults are counted in memory (since this start): one fsync less per call.
        self.calls: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ---- reads used by the rules ---------------------------------------------------------
    def status_of(self, code: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT status FROM dossier WHERE ma_ho_so = ?",
                                   (code,)).fetchone()
        return row[0] if row else None

    def last_step(self, code: str) -> tuple[str, str] | None:
        """(ThoiDiemXuLy, TrangThai) of the dossier's latest step."""
        with self._lock:
            row = self._db.execute(
                "SELECT thoi_diem, trang_thai FROM step WHERE ma_ho_so = ? "
                "ORDER BY id DESC LIMIT 1", (code,)).fetchone()
        return (row[0], row[1]) if row else None

    def stored_steps(self, fingerprints: list[str]) -> set[str]:
        """The fingerprints among ``fingerprints`` that a stored step has."""
        found: set[str] = set()
        with self._lock:
            for start in range(0, len(fingerprints), 500):   # SQLite's variable limit
                chunk = fingerprints[start:start + 500]
                found.update(r[0] for r in self._db.execute(
                    "SELECT DISTINCT fingerprint FROM step WHERE fingerprint IN "   # noqa: S608
                    f"({', '.join('?' * len(chunk))})", chunk))
        return found

    def exists(self, code: str) -> bool:
        return self.status_of(code) is not None

    # ---- writes ----------------------------------------------------------------------------
    def put_snapshots(self, items: list[dict[str, Any]], is_updating: str) -> None:
        """Upsert by ``MaHoSo`` and keep every version for the timeline."""
        now = _now()
        with self.transaction() as db:
            for item in items:
                code, status = item["MaHoSo"], item["TrangThaiHoSo"]
                blob = orjson.dumps(item)
                row = db.execute("SELECT version FROM dossier WHERE ma_ho_so = ?",
                                 (code,)).fetchone()
                version = (row[0] if row else 0) + 1
                if row:
                    db.execute("UPDATE dossier SET version = ?, status = ?, snapshot = ?, "
                               "updated_at = ? WHERE ma_ho_so = ?",
                               (version, status, blob, now, code))
                else:
                    db.execute("INSERT INTO dossier VALUES (?, ?, ?, ?, ?, ?)",
                               (code, version, status, blob, now, now))
                db.execute("INSERT INTO snapshot (ma_ho_so, version, status, is_updating, "
                           "snapshot, received_at) VALUES (?, ?, ?, ?, ?, ?)",
                           (code, version, status, is_updating, blob, now))

    def put_steps(self, items: list[dict[str, Any]],
                  checked: list[tuple[str, bool]] | None = None) -> int:
        """Store the steps (a re-posted step is stored again, as upstream does) and return how
        many were duplicates of a step already stored: a client bug the double counts.
        ``checked``: each item's :func:`step_fingerprint` and whether it was stored before,
        as the checker found them just now (the event loop runs one call at a time)."""
        if not checked:
            prints = [step_fingerprint(item) for item in items]
            before = self.stored_steps(prints)
            checked = [(f, f in before) for f in prints]
        now, rows, in_call = _now(), [], set()
        for item, (fingerprint, stored) in zip(items, checked, strict=False):
            seen = stored or fingerprint in in_call
            in_call.add(fingerprint)
            rows.append((item["MaHoSo"], item["ThoiDiemXuLy"], item["TrangThai"], fingerprint,
                         int(seen), orjson.dumps(item), now))
        with self.transaction() as db:
            db.executemany("INSERT INTO step (ma_ho_so, thoi_diem, trang_thai, fingerprint, "
                           "duplicate, step, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return sum(row[4] for row in rows)

    def put_rating(self, data: Any) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO rating (data, received_at) VALUES (?, ?)",
                       (orjson.dumps(data), _now()))

    def rating_months(self) -> set[str]:
        """The ``NgayTongHop`` of every aggregate stored."""
        months: set[str] = set()
        for entry in self.ratings():
            data = entry["data"]
            for item in data if isinstance(data, list) else [data]:
                if isinstance(item, dict):
                    months.add(str(item.get("NgayTongHop")))
        return months

    def ratings(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT data, received_at FROM rating ORDER BY id").fetchall()
        return [{"data": orjson.loads(r[0]), "received_at": r[1]} for r in rows]

    def count_reject(self, service: str, rule: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO reject (service, rule, at) VALUES (?, ?, ?)",
                       (service, rule, _now()))

    def clear(self) -> None:
        with self.transaction() as db:
            for table in ("dossier", "snapshot", "step", "rating", "reject"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
            self.calls.clear()
            self.faults.clear()

    def count_call(self, service: str) -> None:
        with self._lock:
            self.calls[service] += 1

    def count_fault(self, name: str) -> None:
        with self._lock:
            self.faults[name] += 1

    # ---- inspection ------------------------------------------------------------------------
    def inspect(self, code: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT version, snapshot FROM dossier WHERE ma_ho_so = ?",
                                   (code,)).fetchone()
            if row is None:
                return None
            versions = self._db.execute(
                "SELECT version, status, is_updating, received_at, snapshot FROM snapshot "
                "WHERE ma_ho_so = ? ORDER BY version", (code,)).fetchall()
            steps = self._db.execute(
                "SELECT duplicate, received_at, step FROM step WHERE ma_ho_so = ? ORDER BY id",
                (code,)).fetchall()
        return {
            "MaHoSo": code,
            "version": row[0],
            "snapshot": orjson.loads(row[1]),
            "status_timeline": [v[1] for v in versions],
            "snapshots": [{"version": v[0], "TrangThaiHoSo": v[1], "isUpdating": v[2],
                           "received_at": v[3], "snapshot": orjson.loads(v[4])}
                          for v in versions],
            "steps": [{**orjson.loads(s[2]), "_duplicate": bool(s[0]), "_received_at": s[1]}
                      for s in steps],
        }

    def latest_snapshots(self, status: str | None = None) -> Iterator[dict[str, Any]]:
        with self._lock:
            if status is None:
                rows = self._db.execute(
                    "SELECT snapshot FROM dossier ORDER BY ma_ho_so").fetchall()
            else:
                rows = self._db.execute("SELECT snapshot FROM dossier WHERE status = ? "
                                        "ORDER BY ma_ho_so", (status,)).fetchall()
        for (blob,) in rows:
            yield orjson.loads(blob)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            one = self._db.execute
            dossiers = one("SELECT count(*) FROM dossier").fetchone()[0]
            snapshots = one("SELECT count(*) FROM snapshot").fetchone()[0]
            steps, duplicates = one("SELECT count(*), coalesce(sum(duplicate), 0) "
                                    "FROM step").fetchone()
            rejected = one("SELECT count(*) FROM reject").fetchone()[0]
            ratings = one("SELECT count(*) FROM rating").fetchone()[0]
            by_rule = dict(one("SELECT rule, count(*) FROM reject GROUP BY rule").fetchall())
            calls, faults = dict(self.calls), dict(self.faults)
        return {"dossiers": dossiers, "snapshots": snapshots, "steps": steps,
                "duplicate_steps": duplicates, "rejected": rejected, "ratings": ratings,
                "rejected_by_rule": by_rule, "calls": calls, "faults": faults}
