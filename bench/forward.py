"""Forwarder benchmark (issue 16): relay → conformance double on loopback. Prints its figures,
asserts nothing but the double's duplicate count.

1. **Throughput**: a "dossier" is what a desk sends for one: a ``dossier.create`` and 3
   ``dossier.event`` rows (start, hand-off, result back), so 1 snapshot and 4 steps upstream.
   Written into a fresh relay through ``DistrictStore.apply_batch`` (what a desk's push does),
   then one ``district forward --once`` run is timed. Median of ``--repeat`` runs, with min–max,
   and the CPU seconds of each side (this process = the forwarder; the double's process from
   /proc), which says which side limits.
2. **A desk 30 days offline catching up**: a demo desk seeded with ``--offline-dossiers`` over
   30 days pushes to a real ``ccdesk district serve`` subprocess (time, bytes on the wire), then
   the relay forwards everything to the double (time, request and reply bytes counted by the
   transport).

    .venv/bin/python bench/forward.py [--dossiers 2000] [--repeat 3]
        [--db sqlite|postgresql+psycopg://…] [--steps-batch 10] [--snapshot-batch 10]
        [--offline-dossiers 1000] [--skip-offline] [--skip-throughput] [--group-commit]
        [--httpx]

The forwarder sends through the transport's own client (sync/upstream/http_client.py), which
counts the body bytes; ``--httpx`` sends through an httpx client instead (the one before issue
16's change), to compare the two in the same minutes.

Batch sizes are the profile's settings (``upstream set``); the defaults are the dvcqg profile's
(10 steps per call, seen in production clients). The double runs as a real
``ccdesk district double`` subprocess on a free 127.0.0.1 port, with ``--max-steps`` set to the
steps batch.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ccdesk.ids import uuid7  # noqa: E402
from sync import keys  # noqa: E402
from sync.server.store import DistrictStore  # noqa: E402
from sync.upstream.config import load_config, save_config  # noqa: E402
from sync.upstream.forwarder import Forwarder  # noqa: E402

UNIT, USER, PASSWORD, COMMUNE = "000.17.22.H56", "bench", "bench-pw", "26734"
TICKS = os.sysconf("SC_CLK_TCK")
HTTPX = False   # --httpx: the forwarder's calls through httpx (the client before issue 16's)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


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
    # Codes carry a 4-digit daily sequence: spread big runs over several days.
    day = datetime.now().replace(microsecond=0) - timedelta(days=1 + n // 9999)
    rows: list[dict] = []
    for start in range(0, n, 9999):
        rows += records(min(9999, n - start), day + timedelta(days=start // 9999))
    for start in range(0, len(rows), 2000):
        store.apply_batch(device, {"batch_id": uuid7(), "commune": COMMUNE, "seen_cursor": 0,
                                   "records": rows[start:start + 2000]}, uuid7())


class Double:
    """``ccdesk district double`` as a subprocess."""

    def __init__(self, tmp: Path, max_steps: int) -> None:
        (tmp / "pw").write_text(PASSWORD + "\n")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ccdesk.cli", "district", "double", "--profile", "dvcqg",
             "--host", "127.0.0.1", "--port", str(self.port), "--unit-code", UNIT,
             "--username", USER, "--password-file", str(tmp / "pw"),
             "--db", str(tmp / "double.sqlite3"), "--max-steps", str(max_steps)],
            env=dict(os.environ, CCDESK_HOME=str(tmp)), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(400):
            try:
                httpx.get(self.url + "/_stats", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the double did not start")

    def stats(self) -> dict[str, Any]:
        return httpx.get(self.url + "/_stats").json()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Counting(httpx.Client):
    """An httpx client that counts request and reply body bytes (the transport's client)."""

    sent = received = 0

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = super().send(request, **kwargs)
        self.sent += len(request.content)
        self.received += len(response.content)
        return response


def forward(engine: Any, double: Double, settings: dict[str, Any], accept_demo: bool = False
            ) -> dict[str, Any]:
    save_config(engine, profile="dvcqg", url=double.url, unit_code=UNIT, username=USER,
                password=PASSWORD, accept_demo=accept_demo, settings=settings)
    config = load_config(engine)
    from sync.upstream.transport import make_transport

    # The transport's own client (it counts body bytes), or httpx with --httpx (before/after).
    transport = make_transport(config.profile, config.creds,
                               Counting(timeout=config.profile.timeout_s) if HTTPX else None)
    client = transport.client
    runner = Forwarder(engine, config, transport=transport)
    double_cpu, own_cpu = cpu_of(double.proc.pid), time.process_time()
    started = time.perf_counter()
    result = runner.run(once=True)
    seconds = time.perf_counter() - started
    own_cpu, double_cpu = time.process_time() - own_cpu, cpu_of(double.proc.pid) - double_cpu
    runner.close()
    return {"result": result, "seconds": seconds, "forwarder_cpu": own_cpu,
            "double_cpu": double_cpu, "sent": client.sent, "received": client.received}


def relay_url(db: str, tmp: Path) -> tuple[str, Any]:
    if db == "sqlite":
        return f"sqlite:///{tmp}/relay.sqlite3", None
    from tests.sync.helpers import PgSchema

    schema = PgSchema(db)
    schema.create()
    return schema.url, schema


def throughput_once(args: argparse.Namespace, settings: dict[str, Any]) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="ccdesk-forward-bench-"))
    url, schema = relay_url(args.db, tmp)
    double = Double(tmp, settings["steps_batch"])
    try:
        store = DistrictStore.open(url)
        fill(store, args.dossiers)
        run = forward(store.engine, double, settings)
        run["stats"] = double.stats()
        run["dialect"] = store.engine.dialect.name
        store.engine.dispose()
    finally:
        double.stop()
        if schema is not None:
            schema.drop()
    return run


def spread(values: list[float]) -> str:
    return (f"{statistics.median(values):,.0f} (min {min(values):,.0f} – "
            f"max {max(values):,.0f})")


def bench_throughput(args: argparse.Namespace) -> None:
    settings: dict[str, Any] = {"steps_batch": args.steps_batch,
                                "snapshot_batch": args.snapshot_batch}
    if args.group_commit:
        settings["group_commit"] = True
    runs = []
    for n in range(args.repeat):
        run = throughput_once(args, settings)
        runs.append(run)
        r, s = run["result"], run["stats"]
        print(f"  run {n + 1}: exit {r.exit_code}, {run['seconds']:.2f} s, "
              f"{args.dossiers / run['seconds']:,.0f} dossiers/s, {r.steps_sent} steps; "
              f"CPU forwarder {run['forwarder_cpu']:.2f} s, double {run['double_cpu']:.2f} s; "
              f"double: dossiers {s['dossiers']}, steps {s['steps']}, "
              f"duplicate_steps {s['duplicate_steps']}, rejected {s['rejected']}")
        assert s["duplicate_steps"] == 0 and s["dossiers"] == args.dossiers
    rates = [args.dossiers / r["seconds"] for r in runs]
    steps = [r["result"].steps_sent / r["seconds"] for r in runs]
    fwd = statistics.median(r["forwarder_cpu"] for r in runs)
    dbl = statistics.median(r["double_cpu"] for r in runs)
    print(f"relay {runs[0]['dialect']} → double, {args.dossiers} dossiers (1 snapshot + 4 steps "
          f"each), batches snapshots {args.snapshot_batch} / steps {args.steps_batch}"
          f"{', group_commit' if args.group_commit else ''}{', httpx' if HTTPX else ''}: "
          f"{spread(rates)} dossiers/s, {spread(steps)} steps/s; median CPU forwarder "
          f"{fwd:.2f} s, double {dbl:.2f} s ({'double' if dbl > fwd else 'forwarder'} "
          f"side limits)")
    # Wall-clock rates follow the machine's load; CPU seconds much less so.
    print(f"  dossiers per CPU-second: forwarder {args.dossiers / fwd:,.0f}, double "
          f"{args.dossiers / dbl:,.0f}, both together {args.dossiers / (fwd + dbl):,.0f}")
    print(f"  uptime: {uptime()}")


def offline_once(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """A demo desk that worked 30 days offline: push to the relay, then the relay forwards."""
    from bench.sync import District, demo_desk
    from ccdesk.demo import seed_demo
    from sync import service
    from sync.engine import EngineOptions, SyncEngine
    from sync.server.store import default_url

    tmp = Path(tempfile.mkdtemp(prefix="ccdesk-forward-offline-"))
    services = demo_desk(tmp / "desk")
    report = seed_demo(services, args.offline_dossiers, days=30, seed=seed, outbox=True)
    relay = District(tmp / "district", preferred_batch_bytes=256 * 1024)
    try:
        service.enroll(services, relay.url, relay.code())
        started = time.perf_counter()
        pushed = SyncEngine(services.ctx, options=EngineOptions()).push()
        push_s = time.perf_counter() - started
    finally:
        relay.stop()
        services.close()
    store = DistrictStore.open(default_url(tmp / "district" / "data"))
    double = Double(tmp, args.steps_batch)
    settings: dict[str, Any] = {"steps_batch": args.steps_batch,
                                "snapshot_batch": args.snapshot_batch}
    if args.group_commit:
        settings["group_commit"] = True
    try:
        run = forward(store.engine, double, settings, accept_demo=True)
        stats = double.stats()
    finally:
        double.stop()
    assert stats["duplicate_steps"] == 0 and run["result"].exit_code == 0
    return {"events": report.events, "pushed": pushed, "push_s": push_s, "run": run,
            "stats": stats}


def bench_offline(args: argparse.Namespace) -> None:
    runs = [offline_once(args, 30 + n) for n in range(args.repeat)]
    for n, o in enumerate(runs):
        p, r = o["pushed"], o["run"]
        print(f"  run {n + 1}: {o['events']} events; push exit {p.exit_code}, "
              f"{p.records_sent} records, {o['push_s']:.2f} s, {p.batches} batches, "
              f"{p.bytes_wire:,} B up + {p.bytes_received:,} B replies; forward exit "
              f"{r['result'].exit_code}, {r['result'].snapshots_sent} snapshots + "
              f"{r['result'].steps_sent} steps, {r['seconds']:.2f} s (CPU forwarder "
              f"{r['forwarder_cpu']:.2f} s, double {r['double_cpu']:.2f} s), {r['sent']:,} B "
              f"requests + {r['received']:,} B replies; double duplicate_steps "
              f"{o['stats']['duplicate_steps']}, rejected {o['stats']['rejected']}")
    push = [o["push_s"] for o in runs]
    fwd = [o["run"]["seconds"] for o in runs]
    up = [o["pushed"].bytes_wire + o["pushed"].bytes_received for o in runs]
    http = [o["run"]["sent"] + o["run"]["received"] for o in runs]
    print(f"30 days offline, {args.offline_dossiers} demo dossiers, batches snapshots "
          f"{args.snapshot_batch} / steps {args.steps_batch}"
          f"{', group_commit' if args.group_commit else ''}{', httpx' if HTTPX else ''}: "
          f"desk → relay "
          f"{statistics.median(push):.2f} s (min {min(push):.2f} – max {max(push):.2f}), "
          f"{statistics.median(up):,.0f} B (zstd bodies both ways); relay → double "
          f"{statistics.median(fwd):.2f} s (min {min(fwd):.2f} – max {max(fwd):.2f}), "
          f"{statistics.median(http):,.0f} B (JSON bodies both ways)")
    print(f"  uptime: {uptime()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--steps-batch", type=int, default=10)
    parser.add_argument("--snapshot-batch", type=int, default=10)
    parser.add_argument("--group-commit", action="store_true",
                        help="profile setting group_commit (one relay commit per group)")
    parser.add_argument("--offline-dossiers", type=int, default=1000)
    parser.add_argument("--skip-offline", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--httpx", action="store_true",
                        help="send through httpx instead of the transport's own client")
    args = parser.parse_args()
    global HTTPX
    HTTPX = args.httpx
    if not args.skip_throughput:
        bench_throughput(args)
    if not args.skip_offline:
        bench_offline(args)


if __name__ == "__main__":
    main()
