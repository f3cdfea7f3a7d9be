"""The fault runs with real ``kill -9`` (tests/sync/upstream/fault_runs.py): the relay is
``ccdesk district serve`` (1 or 2 workers) killed while a desk pushes and started again on the
same port and file; the forwarder is ``ccdesk district forward --once`` killed at a crash point
(``CCDESK_SYNC_CRASH_AT``) and at a random moment; then a forwarder in this process takes over
the dead one's lease and the run is settled and checked as the in-process runs are."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from ccdesk.ids import uuid7
from sync import keys
from sync.server.store import DistrictStore
from tests.sync.relay_process import RelayProcess, cli_env
from tests.sync.server.relay_kit import Device as SignedDevice
from tests.sync.upstream import fault_runs as runs


def run_with_kills(bench: runs.Bench, seed: int, root: Path) -> dict[str, Any]:
    plan = runs.Plan.draw(seed)
    rng = random.Random(seed ^ 0x9)
    rows = runs.records(seed, plan.events)
    before = bench.stats()
    path = root / "relay.sqlite3"
    shutil.copyfile(bench.template, path)
    url = f"sqlite:///{path}"
    store = DistrictStore.open(url)
    pem = keys.new_private_key()
    device = store.enroll(store.issue_enroll_code(runs.COMMUNE), f"desk-{seed}",
                          keys.public_of(pem), False)
    runs.save_config(store.engine, profile="dvcqg", url=bench.double_url,
                        unit_code=runs.UNIT, username=runs.USER, password=runs.PASSWORD,
                        accept_demo=False, settings={"timeout_s": runs.TIMEOUT_S})
    runs.arm(bench.faults, plan.faults)
    relay = RelayProcess(root / "home", url, workers=1 + seed % 2)
    try:
        desk = SignedDevice(relay.url, device.device_id, pem, runs.COMMUNE)
        chunks = runs.split(rows, plan.batches, rng)
        pusher = threading.Thread(target=_push, args=(desk, chunks, plan), daemon=True)
        pusher.start()
        time.sleep(rng.uniform(0.0, 0.3))
        relay.kill9()                 # mid-push, or after it: the desk cannot tell
        relay.start()
        pusher.join(180)
        if pusher.is_alive():
            raise runs.RunFailed(f"{plan}: the desk's pushes never went through")
        exits = _kill_forwarders(root / "home", url, plan, rng)
        runs.forward_until_settled(store, plan)
        return {**runs.settle_and_check(bench, store, device, plan, rows, before),
                "forwarder_exits": exits, "relay_killed": 1}
    finally:
        relay.stop()
        store.engine.dispose()


def _push(desk: SignedDevice, chunks: list[list[dict[str, Any]]], plan: runs.Plan) -> None:
    """Push each chunk until the relay answers it; a batch whose reply was lost (the relay
    killed) goes again under the same id, as the desk's push does."""
    for chunk in chunks:
        body = orjson.dumps(runs.body(desk.device_id, chunk, uuid7()))
        deadline = time.monotonic() + 150
        while True:
            try:
                reply = desk.post("/batches", body, timeout=10)
            except httpx.HTTPError:
                reply = None
            if reply is not None and reply.status_code == 200:
                outcomes = {r["result"] for r in reply.json()["results"]}
                assert outcomes <= {"applied", "duplicate"}, (str(plan), reply.text[:300])
                break
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)


def _kill_forwarders(home: Path, url: str, plan: runs.Plan, rng: random.Random
                     ) -> list[int]:
    """``district forward --once`` killed at a crash point, then one killed at a random time."""
    command = [sys.executable, "-m", "ccdesk.cli", "district", "forward", "--once", "--json"]
    point = plan.kills[0] if plan.kills else rng.choice(runs.CRASH_POINTS)
    armed = subprocess.run(command, env=cli_env(home, CCDESK_DISTRICT_DB=url,
                                                CCDESK_SYNC_CRASH_AT=point),
                           capture_output=True, timeout=120, check=False)
    proc = subprocess.Popen(command, env=cli_env(home, CCDESK_DISTRICT_DB=url),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(rng.uniform(0.5, 3.0))
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    return [armed.returncode, proc.returncode]   # -9: killed
