"""File sync benchmark (issue 15, docs/sync.md "Files"): prints its figures, asserts nothing.

100 dossiers (a create and three events each, as bench/sync.py builds them) with two scans
each, pushed through the fault proxy at 32 kbps, 800 ms RTT, 2 % segment loss to a real
``ccdesk district serve`` on 127.0.0.1. Bytes and time are printed for the records and for the
files separately, with the moment every record was acknowledged against the moment the files
finished (the dossier data must arrive first).

At 32 kbps the full data set (200 scans of 100–300 KB, about 40 MB) takes hours of airtime, so:

* **Phase A** runs the full data set with a file budget (``--file-seconds``, default 120 s):
  every record goes up, then the files for the rest of the budget. The file goodput measured
  there projects the time for all the files (printed as a projection, not a measurement).
* **Phase B** runs the same 100 dossiers with scans scaled down (``--scale``, default 0.02:
  2–6 KB) to completion, to measure the records-first ordering and the per-file overhead end to
  end.

    .venv/bin/python bench/file_sync.py [--dossiers 100] [--file-seconds 120] [--scale 0.02]
                                        [--skip-full] [--skip-scaled]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ccdesk.storage.filestore import FileStore, store_root_for  # noqa: E402
from sync import service  # noqa: E402
from sync.engine import EngineOptions, SyncEngine  # noqa: E402
from tests.sync.faultproxy import FaultProxy, Link  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_sync", ROOT / "bench" / "sync.py")
assert _spec is not None and _spec.loader is not None
bench_sync = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_sync)

BANDWIDTH = 32_000
JPEG = b"\xff\xd8\xff\xe0"


def scans_for(db_path: Path, dossiers: int, scale: float, seed: int = 5) -> list[int]:
    """Two scans of 100–300 KB × ``scale`` per dossier: in the store, listed in each
    dossier's create payload (a new outbox row replaces the unsent template one), with their
    ``stored_file`` and ``attachment`` rows. Returns the sizes."""
    rng = random.Random(seed)
    store = FileStore(store_root_for(db_path))
    con = sqlite3.connect(db_path)
    dossier_id = con.execute("SELECT MIN(id) FROM dossier").fetchone()[0]
    creates = con.execute("SELECT device_seq, payload FROM outbox WHERE op = 'dossier.create' "
                          "ORDER BY device_seq").fetchall()[:dossiers]
    sizes = []
    for n, (seq, payload) in enumerate(creates):
        entries = []
        for page in range(2):
            size = max(len(JPEG) + 1, int(rng.randint(100_000, 300_000) * scale))
            blob = store.put_bytes(JPEG + rng.randbytes(size - len(JPEG)), name="scan")
            sizes.append(blob.size)
            entries.append({"item": 0, "sha256": blob.sha256, "size": blob.size,
                            "mime": blob.mime, "source": "scanner", "pages": 1,
                            "reused_from": ""})
            con.execute("INSERT OR IGNORE INTO stored_file (sha256, size, mime, stored_at, "
                        "sent_bytes) VALUES (?, ?, ?, datetime('now', ?), 0)",
                        (blob.sha256, blob.size, blob.mime, f"+{n * 2 + page} seconds"))
            # The bench's dossiers exist only as outbox rows: the attachments hang on the
            # template dossier (the sender only asks that a file has one).
            con.execute("INSERT INTO attachment (dossier_id, sha256, source, original_name, "
                        "pages, reused_from, added_at) VALUES (?, ?, 'scanner', 'scan.jpg', 1, "
                        "'', datetime('now'))", (dossier_id, blob.sha256))
        data = orjson.loads(payload)
        data["files"] = entries
        blob_json = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        # The outbox is append-only (trigger): the payload column is the one place a test
        # fixture may rewrite, so drop the trigger for this bench-only database.
        con.execute("DROP TRIGGER IF EXISTS outbox_immutable")
        con.execute("UPDATE outbox SET payload = ?, payload_sha256 = ? WHERE device_seq = ?",
                    (blob_json.decode(), hashlib.sha256(blob_json).hexdigest(), seq))
    con.commit()
    con.close()
    return sizes


def run(dossiers: int, scale: float, file_seconds: float | None, label: str) -> None:
    root = Path(tempfile.mkdtemp(prefix="ccdesk-bench-files-"))
    services = bench_sync.make_desk(root / "desk")
    bench_sync.fill(services.db.path, dossiers, seed=2)
    sizes = scans_for(services.db.path, dossiers, scale)
    district = bench_sync.District(root / "district")
    proxy = FaultProxy(district.port)
    try:
        service.enroll(services, proxy.url, district.code())
        proxy.link = Link(bandwidth_bps=BANDWIDTH, rtt_s=0.8, loss=0.02, seed=3)
        proxy.bytes_up = proxy.bytes_down = 0
        marks: dict[str, float] = {}
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            if done >= total:
                marks.setdefault("records", time.perf_counter() - started)
                marks["records_http"] = proxy.bytes_up + proxy.bytes_down

        engine = SyncEngine(services.ctx, options=EngineOptions(file_seconds=file_seconds))
        result = engine.push(progress=progress)
        seconds = time.perf_counter() - started
        http_total = proxy.bytes_up + proxy.bytes_down
    finally:
        proxy.stop()
        district.stop()
    kinds = [k for (k,) in sqlite3.connect(services.db.path).execute(
        "SELECT kind FROM sync_attempt ORDER BY id")]
    last_batch = max(i for i, k in enumerate(kinds) if k == "batch")
    first_file = kinds.index("file") if "file" in kinds else None
    files_seconds = seconds - marks.get("records", seconds)
    total = sum(sizes)
    print(f"{label}: {dossiers} dossiers, {len(sizes)} scans of {min(sizes):,}-{max(sizes):,} B "
          f"({total:,} B), exit {result.exit_code} {result.error}   {bench_sync.uptime()}")
    print(f"  records: {result.records_sent} acked {result.acked}, bodies "
          f"{result.bytes_wire:,} B up + {result.bytes_received:,} B down, all HTTP "
          f"{marks.get('records_http', 0):,} B, every record acknowledged at "
          f"{marks.get('records', float('nan')):.1f} s")
    print(f"  files: {result.files_sent}/{len(sizes)} whole, {result.file_bytes_sent:,} B "
          f"confirmed, file bodies {result.file_bytes_wire:,} B, all HTTP after the records "
          f"{http_total - marks.get('records_http', 0):,} B, {files_seconds:.1f} s after the "
          f"records; {result.files_pending} pending ({result.file_bytes_pending:,} B)")
    print(f"  order: last batch exchange #{last_batch}, first file exchange #{first_file} "
          f"-> records first: {first_file is None or first_file > last_batch}")
    if result.file_bytes_sent and files_seconds > 0:
        goodput = result.file_bytes_sent / files_seconds
        airtime = total * 8 / BANDWIDTH
        print(f"  file goodput {goodput * 8 / 1000:.1f} kbps of 32 "
              f"({goodput * 8 / BANDWIDTH:.0%}); all {total:,} B of scans: airtime "
              f"{airtime / 3600:.2f} h, projected at this goodput {total / goodput / 3600:.2f} h "
              f"(= {total / goodput / max(1, file_seconds or files_seconds):.0f} runs of "
              f"{file_seconds or files_seconds:.0f} s)")
    services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=100)
    parser.add_argument("--file-seconds", type=float, default=120.0)
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--skip-scaled", action="store_true")
    args = parser.parse_args()
    if not args.skip_full:
        run(args.dossiers, 1.0, args.file_seconds, "A. full-size scans, file budget "
            f"{args.file_seconds:.0f} s")
    if not args.skip_scaled:
        run(args.dossiers, args.scale, None, f"B. scans scaled x{args.scale}, to completion")


if __name__ == "__main__":
    main()
