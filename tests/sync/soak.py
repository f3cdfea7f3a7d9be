"""Randomized fault runs shared by ``bench/sync_soak.py`` (thousands of runs) and the small-N
test. One run: a fresh desk enrolled through the fault proxy, random intakes and transitions,
pushes and pulls under random faults (resets, lost replies, 5xx around the commit, timeouts,
duplicates, captive portals, 503 + Retry-After, blackouts, district edits) and optional real
``kill -9`` of a client subprocess, then a clean push; the run counts records lost (not acked,
or acked but missing upstream) and records applied twice upstream."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from ccdesk.domain.errors import CcdeskError
from ccdesk.domain.lifecycle import Action
from sync import service
from sync.engine import Backoff, EngineOptions, SyncEngine
from sync.server.store import DistrictStore
from tests.sync.faultproxy import FaultProxy
from tests.sync.helpers import Desk, make_desk

FAULTS = ["reset", "drop_reply", "500_before", "500_after", "delay", "duplicate", "captive",
          "status", "blackout"]
ACTIONS = [Action.START, Action.HAND_OFF, Action.RESULT_BACK, Action.MARK_READY,
           Action.RETURN_RESULT, Action.WITHDRAW]
OPTIONS = EngineOptions(backoff=Backoff(base=0.005, cap=0.02), max_attempts=3, lock_wait=30,
                        read_timeout=0.4, connect_timeout=1)


@dataclass
class RunOutcome:
    lost: int
    duplicated: int
    records: int
    killed: bool


def _act(desk: Desk, rng: random.Random, codes: list[str]) -> None:
    code = rng.choice(codes)
    action = rng.choice(ACTIONS)
    try:
        kw = {"body": "Phòng Tư pháp"} if action == Action.HAND_OFF else {}
        if action == Action.WITHDRAW:
            kw = {"reason": "Công dân rút hồ sơ"}
        desk.act(code, action, **kw)
    except CcdeskError:
        pass   # not allowed from the current state: the desk would refuse it too


def _kill_push(desk: Desk, rng: random.Random) -> None:
    env = dict(os.environ, CCDESK_HOME=str(desk.root), CCDESK_LANG="en")
    env.pop("CCDESK_DB", None)
    point = rng.choice(["after_mark", "after_reply", ""])
    if point:
        env["CCDESK_SYNC_CRASH_AT"] = point
    proc = subprocess.Popen([sys.executable, "-m", "ccdesk.cli", "sync", "push"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not point:
        time.sleep(rng.uniform(0.5, 2.5))
        proc.send_signal(signal.SIGKILL)
    proc.wait(60)


def one_run(root: Path, store: DistrictStore, proxy: FaultProxy, n: int, seed: int,
            kill_rate: float = 0.0) -> RunOutcome:
    rng = random.Random(seed)
    desk = make_desk(root / f"run{n}", agency=f"000.{n % 90 + 10:02}.{n // 90 % 90 + 10:02}.H56")
    killed = False
    try:
        service.enroll(desk.services, proxy.url, store.issue_enroll_code("26734"))
        engine = SyncEngine(desk.services.ctx, options=OPTIONS, sleep=lambda s: time.sleep(
            min(s, 0.02)))
        codes: list[str] = []
        for _step in range(rng.randint(3, 8)):
            roll = rng.random()
            if roll < 0.35 or not codes:
                codes += desk.intake(rng.randint(1, 6))
            elif roll < 0.6:
                for _ in range(rng.randint(1, 4)):
                    _act(desk, rng, codes)
            elif roll < 0.65:
                store.record_change_if_known(rng.choice(codes), "result")
            elif roll < 0.65 + kill_rate:
                _kill_push(desk, rng)
                killed = True
            else:
                for _ in range(rng.randint(0, 3)):
                    kind = rng.choice(FAULTS)
                    extra = {"seconds": 0.8} if kind == "delay" else {}
                    if kind == "status":
                        extra = {"status": 503, "headers": {"Retry-After": "0"}}
                    proxy.add(kind, **extra)
                engine.run() if rng.random() < 0.3 else engine.push()
        proxy.faults.clear()
        final = engine.push()
        if final.exit_code not in (0, 40):
            final = engine.push()
        return _count(desk, store, killed)
    finally:
        desk.close()


def _count(desk: Desk, store: DistrictStore, killed: bool) -> RunOutcome:
    rows = desk.outbox()
    ids = [m for _s, m, *_x in rows]
    with store.engine.connect() as conn:
        found = {m: n for m, n in conn.execute(text(
            "SELECT mutation_id, COUNT(*) FROM district_mutation WHERE mutation_id IN "
            "(SELECT value FROM json_each(:ids)) GROUP BY mutation_id"
            if store.engine.dialect.name == "sqlite" else
            "SELECT mutation_id, COUNT(*) FROM district_mutation WHERE mutation_id = "
            "ANY(CAST(:ids AS text[])) GROUP BY mutation_id"),
            {"ids": _ids_param(store, ids)})}
    lost = sum(1 for _s, m, state, reason in rows
               if (state == "acked" and m not in found)
               or state in ("pending", "in_flight")
               or (state in ("quarantined", "conflict") and not reason))
    duplicated = sum(n - 1 for n in found.values() if n > 1)
    # A record applied twice would count twice in the district's per-dossier event counter.
    codes = sorted({code for code in _entities(desk)})
    with store.engine.connect() as conn:
        events = sum(conn.execute(text("SELECT events FROM district_dossier WHERE code = :c"),
                                  {"c": c}).scalar() or 0 for c in codes)
        applied = sum(conn.execute(text(
            "SELECT COUNT(*) FROM district_mutation WHERE entity_id = :c AND result = 'applied'"),
            {"c": c}).scalar() or 0 for c in codes)
    duplicated += max(0, events - applied)
    return RunOutcome(lost, duplicated, len(rows), killed)


def _entities(desk: Desk) -> list[str]:
    import sqlite3

    con = sqlite3.connect(desk.db_path)
    try:
        return [r[0] for r in con.execute("SELECT DISTINCT entity_id FROM outbox")]
    finally:
        con.close()


def _ids_param(store: DistrictStore, ids: list[str]) -> object:
    if store.engine.dialect.name == "sqlite":
        import orjson

        return orjson.dumps(ids).decode()
    return "{" + ",".join(ids) + "}"
