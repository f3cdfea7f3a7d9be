"""Forwarder benchmark (issue 16): relay → conformance double on loopback. Prints its figures,
asserts nothing but the double's duplicate count.

A "dossier" is what a desk sends for one: a ``dossier.create`` and 3 ``dossier.event`` rows
(start, hand-off, result back), so 1 snapshot and 4 steps upstream.

    .venv/bin/python bench/forward.py [--dossiers 500] [--db sqlite|postgresql+psycopg://…]

The relay's rows are written through ``DistrictStore.apply_batch`` (what a desk's push does);
the double runs as a real ``ccdesk district double`` subprocess on a free 127.0.0.1 port.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ccdesk.ids import uuid7  # noqa: E402
from sync import keys  # noqa: E402
from sync.server.store import DistrictStore  # noqa: E402
from sync.upstream.forwarder import Forwarder, load_config, save_config  # noqa: E402

UNIT, USER, PASSWORD, COMMUNE = "000.17.22.H56", "bench", "bench-pw", "26734"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def records(n: int, day: datetime) -> list[dict]:
    out, seq = [], 0
    for i in range(n):
        code = f"{UNIT}-{day:%y%m%d}-{i + 1:04d}"
        at = day + timedelta(seconds=i)
        dossier = {"code": code, "procedure_code": "1.001193", "field": "Hộ tịch",
                   "applicant_name": f"Nguyễn Văn {i}", "applicant_id_number": f"{i:012d}",
                   "applicant_id_type": "cccd", "owner_name": "", "channel": "direct",
                   "delivery": "desk", "received_at": at.isoformat(),
                   "accepted_at": at.isoformat(),
                   "due_at": (at + timedelta(days=3)).isoformat(), "status": "received"}
        steps = [("accept", "received", {}), ("start", "in_progress", {}),
                 ("hand_off", "handed_off", {"body": "UBND huyện"}),
                 ("result_back", "in_progress", {})]
        for n_event, (action, status, data) in enumerate(steps):
            seq += 1
            event = {"action": action, "at": (at + timedelta(minutes=n_event)).isoformat(),
                     "from_status": None, "to_status": status, "reason": "", "data": data,
                     "officer": "lan"}
            if n_event == 0:
                op, payload = "dossier.create", {"dossier": dossier, "checklist": [],
                                                 "event": event}
            else:
                op, payload = "dossier.event", {"code": code, "event": event,
                                                "changes": {"status": status}}
            out.append({"id": uuid7(), "seq": seq, "op": op, "entity_id": code,
                        "payload": payload})
    return out


def fill(store: DistrictStore, n: int) -> None:
    code = store.issue_enroll_code(COMMUNE)
    device = store.enroll(code, "bench-desk", keys.public_of(keys.new_private_key()), False)
    rows = records(n, datetime.now().replace(microsecond=0) - timedelta(days=1))
    for start in range(0, len(rows), 2000):
        store.apply_batch(device, {"batch_id": uuid7(), "commune": COMMUNE, "seen_cursor": 0,
                                   "records": rows[start:start + 2000]}, uuid7())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=500)
    parser.add_argument("--db", default="sqlite")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ccdesk-forward-bench-"))
    url = f"sqlite:///{tmp}/relay.sqlite3" if args.db == "sqlite" else args.db
    store = DistrictStore.open(url)
    fill(store, args.dossiers)
    (tmp / "pw").write_text(PASSWORD + "\n")
    port = free_port()
    double = subprocess.Popen(
        [sys.executable, "-m", "ccdesk.cli", "district", "double", "--profile", "dvcqg",
         "--host", "127.0.0.1", "--port", str(port), "--unit-code", UNIT, "--username", USER,
         "--password-file", str(tmp / "pw"), "--db", str(tmp / "double.sqlite3")],
        env=dict(os.environ, CCDESK_HOME=str(tmp)), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(base + "/_stats", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        save_config(store.engine, profile="dvcqg", url=base, unit_code=UNIT, username=USER,
                    password=PASSWORD, accept_demo=False)
        runner = Forwarder(store.engine, load_config(store.engine))
        started = time.perf_counter()
        result = runner.run(once=True)
        seconds = time.perf_counter() - started
        runner.close()
        stats = httpx.get(base + "/_stats").json()
    finally:
        double.terminate()
        double.wait(10)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"relay {store.engine.dialect.name}, {args.dossiers} dossiers, "
          f"{result.steps_sent} steps: exit {result.exit_code}, {seconds:.2f} s, "
          f"{args.dossiers / seconds:.0f} dossiers/s, {result.steps_sent / seconds:.0f} steps/s")
    print(f"double: dossiers {stats['dossiers']}, steps {stats['steps']}, "
          f"duplicate_steps {stats['duplicate_steps']}, rejected {stats['rejected']}")
    print(f"uptime: {uptime}")
    assert stats["duplicate_steps"] == 0


if __name__ == "__main__":
    main()
