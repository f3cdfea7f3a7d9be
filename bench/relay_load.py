"""Relay load benchmark (issue 16, "Scale of a province"): many desks push at once through
``ccdesk district serve --workers N`` into the conformance double via ``ccdesk district
forward``. Prints figures; asserts only lost = 0 and duplicated = 0.

    .venv/bin/python bench/relay_load.py [--desks 300] [--dossiers 5] [--workers 2]
        [--db sqlite|postgresql+psycopg://…] [--repeat 3]

Each simulated desk is a lean client speaking the real protocol, not a desk database: it makes
its own Ed25519 key, enrols over HTTP with a one-time code the relay issued for its commune
(100 communes, 3 desks each at 300), then pushes its dossiers in batches exactly as
``sync/client.py`` does (zstd body, ``Digest``, ``Idempotency-Key``, a signature and a fresh
nonce per request; a batch whose reply was lost is sent again under the same id). Why not 300
desk databases: setting them up costs minutes of the 2 shared cores, and 300 desk engines in
one process would measure this process's GIL, not the relay; the relay sees the same bytes.

A dossier is a ``dossier.create`` and 3 ``dossier.event`` (bench/forward.py's records): one
snapshot and 4 steps upstream. Figures:

* push: dossiers/s from the first batch sent to the last reply; p50/p95/max batch latency;
* end to end: dossiers/s from the first batch sent until the double holds every step; the
  forwarder runs as the service does (``--max-time``: one pass, then it sleeps
  ``POLL_S`` = 5 s in sync/upstream/forwarder.py), so a short run pays up to 5 s of polling;
* lost: dossiers the double lacks or whose timeline is short; duplicated: the double's
  ``duplicate_steps`` plus steps beyond 4 per dossier. Both must be 0.

The relay, the double and the forwarder run as child processes on 127.0.0.1; the desks are
asyncio tasks in this process (they compete for the same cores: the figures are a floor).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.forward import PASSWORD, UNIT, USER, free_port, records  # noqa: E402
from ccdesk.ids import uuid7  # noqa: E402
from sync import keys, protocol  # noqa: E402
from sync.server.store import DistrictStore  # noqa: E402
from sync.upstream.config import save_config  # noqa: E402
from tests.sync.helpers import PgSchema, pg_url  # noqa: E402
from tests.sync.relay_process import RelayProcess, cli_env  # noqa: E402

STEPS_PER_DOSSIER = 4
RETRIED: Counter[str] = Counter()   # batches sent again, by cause (a desk would, too)
RECORDS_PER_BATCH = 8       # 2 dossiers a batch: several pushes per desk, as a day's work


class Desk:
    """One simulated desk: its key, device id and commune."""

    def __init__(self, index: int, commune: str, code: str, day: datetime) -> None:
        self.index, self.commune, self.enrol_code, self.day = index, commune, code, day
        self.pem = keys.new_private_key()
        self.device_id = str(uuid.uuid4())

    async def enrol(self, http: httpx.AsyncClient) -> None:
        body = protocol.dumps({"code": self.enrol_code, "device_id": self.device_id,
                               "public_key": keys.public_of(self.pem), "demo": False,
                               "commune": self.commune})
        reply = await http.post(protocol.API_PREFIX + "/devices/enroll", content=body,
                                headers={"Content-Type": "application/json"})
        reply.raise_for_status()

    async def push(self, http: httpx.AsyncClient, dossiers: int, latencies: list[float]
                   ) -> None:
        rows = records(dossiers, self.day)
        for start in range(0, len(rows), RECORDS_PER_BATCH):
            chunk = rows[start:start + RECORDS_PER_BATCH]
            await self._send(http, chunk, latencies)

    async def _send(self, http: httpx.AsyncClient, chunk: list[dict[str, Any]],
                    latencies: list[float]) -> None:
        batch_id = uuid7()
        raw = protocol.dumps({"batch_id": batch_id, "device_id": self.device_id,
                              "commune": self.commune, "demo": False, "seen_cursor": 0,
                              "first_seq": chunk[0]["seq"], "last_seq": chunk[-1]["seq"],
                              "records": chunk})
        wire = protocol.compress(raw, "zstd")
        for attempt in range(20):
            path = protocol.API_PREFIX + "/batches"
            headers = {protocol.H_IDEMPOTENCY: batch_id, "Content-Encoding": "zstd",
                       "Content-Type": "application/json",
                       protocol.H_DIGEST: "sha256=" + _sha256(wire),
                       **keys.request_headers(self.pem, self.device_id, "POST", path, wire,
                                              datetime.now())}
            started = time.perf_counter()
            try:
                reply = await http.post(path, content=wire, headers=headers)
            except httpx.HTTPError:
                RETRIED["transport error"] += 1
                await asyncio.sleep(0.2 * (attempt + 1))   # the same batch id again
                continue
            latencies.append(time.perf_counter() - started)
            if reply.status_code >= 500:
                RETRIED[f"HTTP {reply.status_code}"] += 1
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            reply.raise_for_status()
            outcomes = {r["result"] for r in reply.json()["results"]}
            if not outcomes <= {protocol.APPLIED, protocol.DUPLICATE}:
                raise RuntimeError(f"desk {self.index}: {reply.text[:300]}")
            return
        raise RuntimeError(f"desk {self.index}: batch {batch_id} never answered")


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _double(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    (tmp / "pw").write_text(PASSWORD + "\n")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccdesk.cli", "district", "double", "--profile", "dvcqg",
         "--host", "127.0.0.1", "--port", str(port), "--unit-code", UNIT, "--username", USER,
         "--password-file", str(tmp / "pw"), "--db", str(tmp / "double.sqlite3")],
        env=cli_env(tmp), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            httpx.get(base + "/_stats", timeout=1)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.05)
    raise TimeoutError("the double did not start")


def one_run(url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    store = DistrictStore.open(url)
    relay = RelayProcess(tmp, url, workers=args.workers)
    double, base = _double(tmp)
    save_config(store.engine, profile="dvcqg", url=base, unit_code=UNIT, username=USER,
                password=PASSWORD, accept_demo=False)
    today = datetime.now().replace(hour=8, minute=0, second=0, microsecond=0)
    desks = []
    for i in range(args.desks):
        commune = f"{26000 + i // 3:05d}"
        desks.append(Desk(i, commune, store.issue_enroll_code(commune),
                          today - timedelta(days=1 + i)))   # the day keeps codes apart
    # The forwarder runs as a service beside the pushes (it starts while the desks enrol).
    forwarder = subprocess.Popen(
        [sys.executable, "-m", "ccdesk.cli", "district", "forward", "--max-time",
         str(args.timeout), "--json"],
        env=cli_env(tmp, CCDESK_DISTRICT_DB=url), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        latencies: list[float] = []
        first, last = asyncio.run(_push_all(relay.url, desks, args.dossiers, latencies))
        total = args.desks * args.dossiers
        done_at = _wait_delivered(base, total, first, args.timeout)
        lost, duplicated, stats = _check(base, desks, args.dossiers)
    finally:
        for proc in (forwarder, double):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(20)
        relay.stop()
        store.engine.dispose()
    return {"push_s": last - first, "e2e_s": (done_at or float("nan")) - first,
            "latencies": latencies, "lost": lost, "duplicated": duplicated, "stats": stats,
            "total": total}


async def _push_all(url: str, desks: list[Desk], dossiers: int,
                    latencies: list[float]) -> tuple[float, float]:
    limits = httpx.Limits(max_connections=len(desks), max_keepalive_connections=len(desks))
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        await asyncio.gather(*(d.enrol(http) for d in desks))
        first = time.perf_counter()
        await asyncio.gather(*(d.push(http, dossiers, latencies) for d in desks))
        return first, time.perf_counter()


def _wait_delivered(base: str, total: int, first: float, timeout: float) -> float | None:
    """The moment the double holds every dossier and step (None: not within ``timeout``)."""
    while time.perf_counter() - first < timeout:
        stats = httpx.get(base + "/_stats", timeout=30).json()
        if stats["dossiers"] >= total and stats["steps"] >= total * STEPS_PER_DOSSIER:
            return time.perf_counter()
        time.sleep(0.1)
    return None


def _check(base: str, desks: list[Desk], dossiers: int) -> tuple[int, int, dict[str, Any]]:
    """Lost and duplicated, dossier by dossier from ``/_inspect`` and in total from ``/_stats``."""
    lost = extra = 0
    with httpx.Client(base_url=base, timeout=30) as http:
        for desk in desks:
            for record in records(dossiers, desk.day)[::STEPS_PER_DOSSIER]:
                found = http.get(f"/_inspect/{record['entity_id']}")
                steps = len(found.json().get("steps", [])) if found.status_code == 200 else 0
                lost += steps < STEPS_PER_DOSSIER
                extra += max(0, steps - STEPS_PER_DOSSIER)
        stats = http.get("/_stats").json()
    return lost, extra + stats["duplicate_steps"], stats


def _spread(values: list[float], fmt: str) -> str:
    if len(values) == 1:
        return format(values[0], fmt)
    return (f"{format(statistics.median(values), fmt)} "
            f"({format(min(values), fmt)}–{format(max(values), fmt)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--desks", type=int, default=300)
    parser.add_argument("--dossiers", type=int, default=5, help="per desk")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", default="sqlite", help="sqlite, postgresql, or a URL")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeat):
        tmp = Path(tempfile.mkdtemp(prefix="ccdesk-relay-load-"))
        schema = None
        if args.db == "sqlite":
            url = f"sqlite:///{tmp}/relay.sqlite3"
        elif args.db == "postgresql":
            base = pg_url()
            if base is None:
                sys.exit("PostgreSQL not reachable at 127.0.0.1:5432/test")
            schema = PgSchema(base)
            schema.create()
            url = schema.url
        else:
            url = args.db
        try:
            runs.append(one_run(url, args, tmp))
        finally:
            if schema is not None:
                schema.drop()
    _report(runs, args, os.cpu_count() or 0)


def _report(runs: list[dict[str, Any]], args: argparse.Namespace, cpus: int) -> None:
    total = runs[0]["total"]

    def quantile(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    db = args.db if args.db in ("sqlite", "postgresql") else "url"
    print(f"relay {db}, --workers {args.workers}, {args.desks} desks × {args.dossiers} dossiers "
          f"= {total} dossiers ({total * STEPS_PER_DOSSIER} steps), {len(runs)} run(s), "
          f"{cpus} cores; median (min–max)")
    def ms(pick: Any) -> str:
        return _spread([pick(r["latencies"]) * 1000 for r in runs], ".0f")

    print(f"push desks → relay: {_spread([total / r['push_s'] for r in runs], '.0f')} dossiers/s;"
          f" batch latency p50 {ms(lambda v: quantile(v, .5))} ms,"
          f" p95 {ms(lambda v: quantile(v, .95))} ms, max {ms(max)} ms")
    print(f"end to end desks → relay → double: "
          f"{_spread([total / r['e2e_s'] for r in runs], '.0f')} dossiers/s "
          f"({_spread([r['e2e_s'] for r in runs], '.1f')} s)")
    print(f"lost {[r['lost'] for r in runs]}, duplicated {[r['duplicated'] for r in runs]}; "
          f"double: {runs[-1]['stats']}")
    print(f"batches sent again (all runs): {dict(RETRIED) or 0}")
    print(f"uptime: {uptime}")
    assert all(r["lost"] == 0 and r["duplicated"] == 0 for r in runs)


if __name__ == "__main__":
    main()
