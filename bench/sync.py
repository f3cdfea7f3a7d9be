"""Sync benchmarks (issue 6): prints its figures, asserts nothing.

0. All HTTP bytes per dossier (request lines, headers, bodies, replies) for pushes of 5, 50 and
   1,000 demo-seed dossiers, counted by a TCP proxy: median of ``--pushes`` pushes inside a
   session (no ``/hello``), and the first push with its hello (targets ≤ 250 B at 5, ≤ 150 B
   at ≥ 50).
1. Bytes on the wire per dossier in batches of ≥ 50 (target ≤ 180 B; raw JSON ≈ 1.6 kB).
2. Dossiers per second end to end on loopback, SQLite upstream, the relay's default batch size
   (target ≥ 5,000/s); median of ``--runs`` with min-max, and the CPU seconds per 1,000
   dossiers of the desk (this process) and of the relay (its process): on a shared machine
   the wall clock follows the load, the CPU much less.
3. 1,000 dossiers through the fault proxy at 32 kbps, 800 ms RTT, 2 % loss, divided by the pure
   airtime of the compressed bytes (target ≤ 1.3×).

A "dossier" is what a desk really sends for one: its ``dossier.create`` (snapshot, 5 checklist
items, the accept event) and 3 ``dossier.event`` rows (start, hand-off, result back), with varied
Vietnamese names, ID numbers, phones and addresses so compression is not flattered.

    .venv/bin/python bench/sync.py [--dossiers 20000] [--slow-dossiers 1000] [--skip-slow]
                                   [--loopback-only] [--small-pushes-only] [--pushes 3]
                                   [--runs 3] [--busy-cores 1]

``--busy-cores 1`` runs only the loopback figure with one core kept busy (load ~1).
``--loopback-only`` runs only the loopback figures (dossiers/s, CPU, bytes per dossier).

The upstream runs as a real ``ccdesk district serve`` subprocess on a free 127.0.0.1 port.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ccdesk.ids import uuid7  # noqa: E402
from sync import service  # noqa: E402
from sync.engine import EngineOptions, SyncEngine  # noqa: E402

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Gia", "Xuân", "Thu"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hòa", "Hùng", "Lan", "Linh",
         "Long", "Mai", "Nam", "Nga", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Yến"]
HAMLETS = ["Thôn Đông", "Thôn Tây", "Xóm Bến", "Ấp Mỹ Phước", "Thôn Hạ", "Thôn Thượng", "Xóm Mới"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_desk(root: Path):  # noqa: ANN201 - Services
    from ccdesk.paths import Paths
    from ccdesk.services import SYSTEM, Services
    from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
    from ccdesk.services.office import OfficeSettings

    paths = Paths(root / "data", root / "config")
    services = Services.open(paths.default_db, paths)
    services.office.update(SYSTEM, OfficeSettings(
        "UBND XÃ AN PHÚ", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG", "000.17.22.H56", "An Phú",
        commune_code="26734"), complete_setup=True)
    services.catalog.import_catalog(services.catalog.check_file(ROOT / "ccdesk/data/catalog.toml"))
    services.officers.add(SYSTEM, "lan", "Nguyễn Thị Lan", "lead", "12345678")
    actor = services.officers.authenticate("lan", "12345678")
    from ccdesk.domain.lifecycle import Action

    req = IntakeRequest("1.001193", Applicant("Lê Thị Hoà", "001185012345", phone="0912345678",
                                              address="Thôn Đông, xã An Phú"),
                        [ChecklistEntry(i, True) for i in range(1, 4)])
    code = services.intake.submit(actor, req, Decision.ACCEPT).dossier.code
    services.dossiers.act(actor, code, Action.START)
    services.dossiers.act(actor, code, Action.HAND_OFF, body="Phòng Tư pháp")
    services.dossiers.act(actor, code, Action.RESULT_BACK)
    return services


def fill(db_path: Path, dossiers: int, seed: int = 1) -> int:
    """Add ``dossiers`` synthetic dossiers (4 outbox rows each) modelled on the real first one."""
    rng = random.Random(seed)
    con = sqlite3.connect(db_path)
    template = con.execute("SELECT op, payload, changed_fields FROM outbox ORDER BY device_seq"
                           ).fetchall()
    # The template rows were only a model. The outbox_keep_unacked trigger (migration 0006) lets
    # only acknowledged rows be deleted: these were never sent, so they are marked first.
    con.execute("UPDATE outbox SET state = 'acked'")
    con.execute("DELETE FROM outbox")
    base = datetime(2026, 11, 2, 7, 30)
    rows = []
    for n in range(dossiers):
        code = f"000.17.22.H56-2611{n // 9000 + 10:02}-{n % 9000 + 1:04}"
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        received = base + timedelta(minutes=rng.randint(0, 60 * 24 * 20))
        for i, (op, payload, changed) in enumerate(template):
            data = orjson.loads(payload)
            if op == "dossier.create":
                d = data["dossier"]
                d.update(code=code, applicant_name=name,
                         applicant_id_number=f"0{rng.randint(1, 96):02}{rng.randint(0, 1)}"
                                             f"{rng.randint(40, 99):02}{rng.randint(0, 999999):06}",
                         applicant_phone=f"09{rng.randint(0, 99999999):08}",
                         applicant_address=f"{rng.choice(HAMLETS)}, xã An Phú",
                         received_at=received.isoformat(), accepted_at=received.isoformat(),
                         updated_at=received.isoformat())
                data["event"]["at"] = received.isoformat()
            else:
                data["code"] = code
                data["event"]["at"] = (received + timedelta(hours=i * 5)).isoformat()
            blob = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
            rows.append((uuid7(), "dossier", code, op, blob.decode(),
                         hashlib.sha256(blob).hexdigest(), changed,
                         (received + timedelta(hours=i)).isoformat(sep=" ")))
    con.executemany("INSERT INTO outbox (mutation_id, entity, entity_id, op, payload, "
                    "payload_sha256, changed_fields, client_time, state, attempts, last_error) "
                    "VALUES (?,?,?,?,?,?,?,?,'pending',0,'')", rows)
    con.commit()
    raw = sum(len(r[4]) for r in rows)
    con.close()
    return raw


class District:
    def __init__(self, home: Path, preferred_batch_bytes: int | None = None) -> None:
        self.port = free_port()
        env = dict(os.environ, CCDESK_HOME=str(home))
        extra = (["--preferred-batch-bytes", str(preferred_batch_bytes)]
                 if preferred_batch_bytes else [])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ccdesk.cli", "district", "serve", "--port", str(self.port),
             "--accept-demo", *extra], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.home = home
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("district server did not start")

    def code(self) -> str:
        env = dict(os.environ, CCDESK_HOME=str(self.home))
        out = subprocess.run([sys.executable, "-m", "ccdesk.cli", "district", "enroll-code",
                              "--commune", "26734"], env=env, capture_output=True, text=True)
        return out.stdout.split()[-1]

    def cpu_seconds(self) -> float:
        """User + system CPU the server process has used so far (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def bench_loopback(dossiers: int, runs: int = 1, busy: int = 0,
                   preferred: int | None = None) -> None:
    """Dossiers/s of one push of ``dossiers`` with the relay's default settings, ``runs``
    times (median, min-max); ``busy``: that many cores kept busy meanwhile (load ~busy)."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(busy)]
    rates: list[float] = []
    cpu: list[tuple[float, float]] = []
    try:
        time.sleep(2 if busy else 0)
        for _ in range(runs):
            rate, desk_cpu, relay_cpu = _loopback_once(dossiers, preferred)
            rates.append(rate)
            cpu.append((desk_cpu, relay_cpu))
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    size = f"{preferred:,} B batches" if preferred else "default batch size"
    print(f"loopback, {size}, {busy} busy core(s): median "
          f"{statistics.median(rates):,.0f} dossiers/s (min {min(rates):,.0f} - max "
          f"{max(rates):,.0f}, {runs} runs of {dossiers:,})   {uptime()}")
    print(f"  CPU per 1,000 dossiers (median): desk "
          f"{statistics.median(c[0] for c in cpu) * 1000 / dossiers:.3f} s, relay "
          f"{statistics.median(c[1] for c in cpu) * 1000 / dossiers:.3f} s")


def _loopback_once(dossiers: int, preferred: int | None = None
                   ) -> tuple[float, float, float]:
    """Dossiers/s of one push, and the CPU seconds the desk (this process, every thread) and
    the relay (its process) spent on it: wall time on a shared machine says little alone."""
    root = Path(tempfile.mkdtemp(prefix="ccdesk-bench-sync-"))
    services = make_desk(root / "desk")
    raw = fill(services.db.path, dossiers)
    district = District(root / "district", preferred_batch_bytes=preferred)
    try:
        service.enroll(services, district.url, district.code())
        engine = SyncEngine(services.ctx, options=EngineOptions())
        relay_before, desk_before = district.cpu_seconds(), time.process_time()
        started = time.perf_counter()
        result = engine.push()
        seconds = time.perf_counter() - started
        desk_cpu = time.process_time() - desk_before
        relay_cpu = district.cpu_seconds() - relay_before
    finally:
        district.stop()
    print(f"loopback: {dossiers} dossiers ({result.records_sent} records, exit "
          f"{result.exit_code}) in {seconds:.2f} s = {dossiers / seconds:,.0f} dossiers/s "
          f"over {result.batches} batches; CPU desk {desk_cpu:.2f} s, relay {relay_cpu:.2f} s"
          f"   {uptime()}")
    print(f"  raw JSON {raw / dossiers:,.0f} B/dossier (payloads), request body "
          f"{result.bytes_raw / dossiers:,.0f} B/dossier raw")
    print(f"  on the wire: {result.bytes_wire / dossiers:,.1f} B/dossier up (zstd), "
          f"{result.bytes_received / dossiers:,.1f} B/dossier replies, "
          f"{(result.bytes_wire + result.bytes_received) / dossiers:,.1f} B/dossier both ways")
    services.close()
    return dossiers / seconds, desk_cpu, relay_cpu


def bench_slow_link(dossiers: int) -> None:
    from tests.sync.faultproxy import FaultProxy, Link

    root = Path(tempfile.mkdtemp(prefix="ccdesk-bench-slow-"))
    services = make_desk(root / "desk")
    fill(services.db.path, dossiers, seed=2)
    district = District(root / "district")
    bandwidth = 32_000
    proxy = FaultProxy(district.port)
    try:
        service.enroll(services, proxy.url, district.code())
        proxy.link = Link(bandwidth_bps=bandwidth, rtt_s=0.8, loss=0.02, seed=3)
        proxy.bytes_up = proxy.bytes_down = 0
        engine = SyncEngine(services.ctx, options=EngineOptions())
        started = time.perf_counter()
        result = engine.push()
        seconds = time.perf_counter() - started
    finally:
        proxy.stop()
        district.stop()
    airtime = (result.bytes_wire + result.bytes_received) * 8 / bandwidth
    airtime_up = result.bytes_wire * 8 / bandwidth
    http_bytes = proxy.bytes_up + proxy.bytes_down
    print(f"32 kbps / 800 ms RTT / 2 % loss: {dossiers} dossiers (exit {result.exit_code}) in "
          f"{seconds:.1f} s over {result.batches} batches")
    print(f"  compressed bodies {result.bytes_wire + result.bytes_received:,} B "
          f"(airtime {airtime:.1f} s) -> {seconds / airtime:.2f}x airtime; "
          f"upload bodies only {airtime_up:.1f} s -> {seconds / airtime_up:.2f}x; "
          f"all HTTP bytes incl. headers {http_bytes:,} B")
    services.close()


def demo_desk(root: Path):  # noqa: ANN201 - Services
    """A set-up desk with the bundled catalogue and no dossiers yet (demo ones are added)."""
    from ccdesk.paths import Paths
    from ccdesk.services import SYSTEM, Services
    from ccdesk.services.office import OfficeSettings

    paths = Paths(root / "data", root / "config")
    services = Services.open(paths.default_db, paths)
    services.office.update(SYSTEM, OfficeSettings(
        "UBND XÃ AN PHÚ", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG", "000.17.22.H56", "An Phú",
        commune_code="26734"), complete_setup=True)
    services.catalog.import_catalog(services.catalog.check_file(ROOT / "ccdesk/data/catalog.toml"))
    return services


def bench_small_pushes(sizes: tuple[int, ...], pushes: int) -> None:
    """All HTTP bytes (request and status lines, headers, bodies, both ways) per dossier, for
    pushes of N demo-seed dossiers, counted by a TCP proxy between the desk and the district.
    Per size: one first push (with its ``/hello``, as after an hour without syncing), then
    ``pushes`` pushes inside the session (no hello; a desk syncing every 10 minutes)."""
    from ccdesk.demo import seed_demo
    from tests.sync.faultproxy import FaultProxy

    print(f"all HTTP bytes per dossier, demo-seed data, {pushes} pushes per size   {uptime()}")
    for size in sizes:
        root = Path(tempfile.mkdtemp(prefix="ccdesk-bench-small-"))
        services = demo_desk(root / "desk")
        district = District(root / "district")
        proxy = FaultProxy(district.port)
        per_dossier, records = [], []
        try:
            service.enroll(services, proxy.url, district.code())
            for n in range(pushes + 1):
                seed_demo(services, size, days=30, seed=100 + n, outbox=True)
                proxy.bytes_up = proxy.bytes_down = 0
                result = SyncEngine(services.ctx, options=EngineOptions()).push()
                per_dossier.append((proxy.bytes_up + proxy.bytes_down) / size)
                records.append(result.records_sent)
        finally:
            proxy.stop()
            district.stop()
            services.close()
        first, rest = per_dossier[0], per_dossier[1:]
        print(f"  {size:>5} per push: {statistics.median(rest):6.1f} B/dossier "
              f"(min {min(rest):.1f} - max {max(rest):.1f}); first push with /hello "
              f"{first:.1f}; {statistics.median(records) / size:.1f} records/dossier   "
              f"{uptime()}")


def uptime() -> str:
    """The load beside the figures (the development machine is shared)."""
    try:
        return "load average " + ", ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "load n/a"


def bench_resume_and_status(dossiers: int = 500) -> None:
    """Restart after kill -9 to everything acked (target ≤ 5 s), and ``sync status`` offline
    (target < 1 s), both as the real CLI in a subprocess."""
    root = Path(tempfile.mkdtemp(prefix="ccdesk-bench-resume-"))
    services = make_desk(root / "desk")
    fill(services.db.path, dossiers, seed=4)
    district = District(root / "district")
    env = dict(os.environ, CCDESK_HOME=str(root / "desk"))
    env.pop("CCDESK_DB", None)
    cmd = [sys.executable, "-m", "ccdesk.cli", "sync"]
    try:
        service.enroll(services, district.url, district.code())
        crashed = subprocess.run([*cmd, "push"], env=dict(env, CCDESK_SYNC_CRASH_AT="after_reply"),
                                 capture_output=True)
        started = time.perf_counter()
        resumed = subprocess.run([*cmd, "push", "--json"], env=env, capture_output=True)
        resume_s = time.perf_counter() - started
        out = orjson.loads(resumed.stdout)
    finally:
        district.stop()
    started = time.perf_counter()
    status = subprocess.run([*cmd, "status", "--json"], env=env, capture_output=True)
    status_s = time.perf_counter() - started
    started = time.perf_counter()
    service.status(services)
    status_in_process_ms = (time.perf_counter() - started) * 1000
    print(f"resume after kill -9 (exit {crashed.returncode}): restart to all {dossiers * 4} "
          f"records acked in {resume_s:.2f} s (exit {resumed.returncode}, "
          f"{out['batches']} batches, {out['duplicates']} records already upstream "
          "from the batch in flight at the kill)")
    print(f"sync status offline: {status_s:.2f} s as a CLI process (exit {status.returncode}), "
          f"{status_in_process_ms:.1f} ms in-process")
    services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=20_000)
    parser.add_argument("--slow-dossiers", type=int, default=1000)
    parser.add_argument("--skip-slow", action="store_true")
    parser.add_argument("--loopback-only", action="store_true",
                        help="run only the loopback throughput and bytes figures")
    parser.add_argument("--small-pushes-only", action="store_true",
                        help="run only the bytes per dossier at 5, 50 and 1,000 per push")
    parser.add_argument("--pushes", type=int, default=3, help="pushes per size")
    parser.add_argument("--runs", type=int, default=3, help="loopback runs")
    parser.add_argument("--busy-cores", type=int, default=None,
                        help="only the loopback figure, with this many cores kept busy")
    parser.add_argument("--preferred-batch-bytes", type=int, default=None,
                        help="the relay's preferred batch (default: its own default)")
    args = parser.parse_args()
    if args.busy_cores is not None:
        bench_loopback(args.dossiers, args.runs, args.busy_cores, args.preferred_batch_bytes)
        return
    if not args.loopback_only:
        bench_small_pushes((5, 50, 1000), args.pushes)
    if args.small_pushes_only:
        return
    bench_loopback(args.dossiers, args.runs, preferred=args.preferred_batch_bytes)
    if args.loopback_only:
        return
    bench_resume_and_status()
    if not args.skip_slow:
        bench_slow_link(args.slow_dossiers)


if __name__ == "__main__":
    main()
