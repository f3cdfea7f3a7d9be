"""Pruning acknowledged outbox rows past the retention window
(``ccdesk/storage/outbox/retention.py``): prints
its figures, asserts nothing.

Builds a desk database (real migrations) holding ``--rows`` outbox rows with realistic payloads
(≈ 2.5 kB per dossier of 4 rows: Vietnamese names, addresses, codes, events), all acknowledged
as one seq range 100 days ago, as a desk looks after months of pushes, plus a few quarantined
rows inside and a waiting tail. Then it prints:

* the prune's time, rows/s, transactions (chunks) and the longest single transaction;
* the waits of a concurrent writer (the desk's intake: one small ``BEGIN IMMEDIATE``
  transaction every 20 ms in another thread, ``synchronous=FULL``) while the prune runs;
* a ``sync prune --dry-run``-style count's time before it;
* with ``--vacuum-full``, a ``VACUUM`` of the full file first (what VACUUM costs per MB of live
  data: after a prune it rewrites only what is left, which on a real desk is the dossiers);
* the file size before, after the prune (VACUUM is never run automatically), and after a
  ``VACUUM`` run here only to show what it would give back, with its time.

    .venv/bin/python bench/prune.py [--rows 1000000] [--chunk 2000] [--pause 0.01] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ccdesk.paths import Paths  # noqa: E402
from ccdesk.services import Services  # noqa: E402
from ccdesk.storage.engine import Database  # noqa: E402
from ccdesk.storage.outbox import retention  # noqa: E402
from ccdesk.storage.outbox.write import utcnow  # noqa: E402

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Gia", "Xuân"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hòa", "Hùng", "Lan", "Linh"]
HAMLETS = ["Thôn Đông", "Thôn Tây", "Xóm Bến", "Ấp Mỹ Phước", "Thôn Hạ", "Thôn Thượng"]


def payloads(rng: random.Random, n: int) -> tuple[str, str, str, str]:
    """One dossier's 4 rows (create + 3 events), ≈ 2.5 kB of canonical JSON together."""
    code = f"000.17.22.H56-{260000 + n // 9000:06}-{n % 9000 + 1:04}"
    at = datetime(2026, 5, 1, 7, 30) + timedelta(minutes=n)
    name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
    create = {"dossier": {
        "code": code, "procedure_code": "1.001193", "procedure_name":
        "Đăng ký khai sinh cho người đã có hồ sơ, giấy tờ cá nhân", "field": "Hộ tịch",
        "applicant_name": name, "applicant_id_number": f"0{rng.randint(10**10, 10**11 - 1)}",
        "applicant_phone": f"09{rng.randint(0, 99999999):08}",
        "applicant_address": f"{rng.choice(HAMLETS)}, xã An Phú, huyện Châu Thành, tỉnh An Giang",
        "received_at": at.isoformat(), "accepted_at": at.isoformat(), "due_at":
        (at + timedelta(days=3)).isoformat(), "status": "received", "fee_amount": 8000,
        "channel": "direct", "note": "Nộp trực tiếp tại bộ phận một cửa, đã kiểm tra đủ thành "
        "phần hồ sơ", "birth_place": "Trạm y tế xã An Phú, huyện Châu Thành, tỉnh An Giang",
        "updated_at":
        at.isoformat()},
        "checklist": [{"position": i, "name": f"Giấy tờ số {i}: bản sao có chứng thực hoặc bản "
                                               "chính để đối chiếu",
                       "present": True, "copies": 1} for i in range(1, 6)],
        "event": {"action": "receive", "at": at.isoformat(), "from_status": None,
                  "to_status": "received", "officer": "lan", "reason": "", "data": {}}}
    events = [{"code": code, "event": {"action": action, "at": (at + timedelta(hours=h))
                                       .isoformat(), "from_status": frm, "to_status": to,
                                       "officer": "lan", "reason": "", "data": data},
               "changes": {"status": to, "updated_at": (at + timedelta(hours=h)).isoformat()}}
              for action, h, frm, to, data in (
                  ("start", 1, "received", "in_progress", {}),
                  ("hand_off", 5, "in_progress", "handed_off",
                   {"body": "Phòng Tư pháp huyện Châu Thành"}),
                  ("result_back", 30, "handed_off", "result_ready", {}))]
    dump = [orjson.dumps(p, option=orjson.OPT_SORT_KEYS).decode() for p in [create, *events]]
    return code, *dump  # type: ignore[return-value]


def build(path: Path, rows: int) -> int:
    """``rows`` acknowledged rows (one range, acknowledged 100 days ago), 12 quarantined inside,
    20 waiting at the tail; returns the payload bytes."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous = OFF")          # building only; the prune runs as usual
    rng = random.Random(1)
    total = 0
    batch: list[tuple] = []
    for n in range((rows + 3) // 4):
        code, *bodies = payloads(rng, n)
        for i, body in enumerate(bodies):
            if n * 4 + i >= rows:
                break
            data = body.encode()
            total += len(data)
            batch.append((f"{n:012x}-{i}", code, "dossier.create" if i == 0 else "dossier.event",
                          body, hashlib.sha256(data).hexdigest()))
        if len(batch) >= 20000:
            _insert(con, batch)
            batch = []
    _insert(con, batch)
    last = con.execute("SELECT MAX(device_seq) FROM outbox").fetchone()[0]
    ago = (utcnow() - timedelta(days=100)).isoformat(" ")
    con.execute("INSERT INTO outbox_acked VALUES (1, ?, ?)", (last, ago))
    con.execute("INSERT INTO outbox_ack_log (first_seq, last_seq, acked_at) VALUES (1, ?, ?)",
                (last, ago))
    step = max(1, last // 12)
    con.execute("UPDATE outbox SET state = 'quarantined', last_error = 'bench: held' "
                "WHERE device_seq % ? = 7", (step,))
    con.commit()
    tail = [(f"tail-{i}", "X", "dossier.event", '{"code":"X"}',
             hashlib.sha256(b'{"code":"X"}').hexdigest()) for i in range(20)]
    _insert(con, tail)
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return total


def _insert(con: sqlite3.Connection, batch: list[tuple]) -> None:
    con.executemany("INSERT INTO outbox (mutation_id, entity, entity_id, op, payload, "
                    "payload_sha256, changed_fields, client_time, state, attempts, last_error) "
                    "VALUES (?, 'dossier', ?, ?, ?, ?, '[]', '2026-05-01 07:30:00', 'pending', 0, "
                    "'')", batch)


def size_mb(path: Path) -> str:
    total = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return f"{total / 1e6:,.1f} MB (main {path.stat().st_size / 1e6:,.1f} MB)"


class Writer(threading.Thread):
    """The desk's intake meanwhile: a small write transaction every 20 ms; keeps its longest
    wait for the write lock plus commit."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path, self.stop, self.waits = path, threading.Event(), [0.0]

    def run(self) -> None:
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        con.execute("PRAGMA synchronous = FULL")
        while not self.stop.is_set():
            started = time.perf_counter()
            con.execute("BEGIN IMMEDIATE")
            con.execute("INSERT INTO sync_attempt (at, kind, outcome) VALUES "
                        "(strftime('%Y-%m-%d %H:%M:%f', 'now'), 'bench', 'ok')")
            con.execute("COMMIT")
            self.waits.append(time.perf_counter() - started)
            time.sleep(0.02)
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=retention.CHUNK_ROWS)
    parser.add_argument("--pause", type=float, default=retention.PAUSE_S,
                        help="seconds between transactions")
    parser.add_argument("--keep", type=Path, help="build here and keep the files")
    parser.add_argument("--vacuum-full", action="store_true",
                        help="also time a VACUUM of the full file first (what VACUUM costs "
                             "per MB of live data)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="ccdesk-prune-"))
    try:
        paths = Paths(root / "data", root / "config")
        Services.open(paths.default_db, paths).close()       # real migrations, to head
        db_path = paths.default_db
        started = time.perf_counter()
        payload = build(db_path, args.rows)
        print(f"built {args.rows:,} rows, {payload / 1e6:,.1f} MB of payload "
              f"({payload / max(1, args.rows) * 4:,.0f} B per 4-row dossier) "
              f"in {time.perf_counter() - started:.1f} s")
        print(f"file before:                 {size_mb(db_path)}")
        if args.vacuum_full:
            con = sqlite3.connect(db_path)
            started = time.perf_counter()
            con.execute("VACUUM")
            con.close()
            print(f"VACUUM of the full file:     {time.perf_counter() - started:.1f} s")
        db = Database(db_path)
        started = time.perf_counter()
        dry = retention.prune(db, 90, dry_run=True)
        print(f"dry run (count only):        {dry.rows:,} rows, {dry.bytes / 1e6:,.1f} MB "
              f"in {time.perf_counter() - started:.2f} s")
        writer = Writer(db_path)
        writer.start()
        started = time.perf_counter()
        done = retention.prune(db, 90, chunk_rows=args.chunk, pause_s=args.pause)
        elapsed = time.perf_counter() - started
        writer.stop.set()
        writer.join()
        print(f"prune:                       {done.rows:,} rows, {done.bytes / 1e6:,.1f} MB of "
              f"payload in {elapsed:.1f} s ({done.rows / elapsed:,.0f} rows/s)")
        print(f"transactions:                {done.chunks:,} of ≤ {args.chunk:,} rows; longest "
              f"{done.longest_chunk_s * 1000:,.0f} ms")
        waits = sorted(writer.waits)
        print(f"concurrent intake writes:    {len(waits) - 1:,}; wait p50 "
              f"{waits[len(waits) // 2] * 1000:,.0f} ms, p99 "
              f"{waits[int(len(waits) * 0.99)] * 1000:,.0f} ms, longest {waits[-1] * 1000:,.0f} ms")
        again = time.perf_counter()
        nothing = retention.prune(db, 90)
        print(f"prune again (nothing due):   {nothing.rows} rows in "
              f"{(time.perf_counter() - again) * 1000:.1f} ms")
        db.dispose()
        con = sqlite3.connect(db_path)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        free = con.execute("PRAGMA freelist_count").fetchone()[0]
        page = con.execute("PRAGMA page_size").fetchone()[0]
        print(f"file after (no VACUUM):      {size_mb(db_path)}; {free * page / 1e6:,.1f} MB "
              f"free pages, reused by new rows")
        started = time.perf_counter()
        con.execute("VACUUM")
        con.close()
        print(f"file after VACUUM:           {size_mb(db_path)} (VACUUM took "
              f"{time.perf_counter() - started:.1f} s, desk closed)")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
