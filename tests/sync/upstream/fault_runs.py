"""Randomized fault runs of the whole chain, desk batches → relay → forwarder → double (issue 16,
"Done means"): one run is one seed; everything random in it comes from that seed, so a failing
run replays with the same seed (``pytest tests/sync/upstream/test_fault_runs.py -k seed_17`` or
``bench/forward_faults.py --seed 17``).

A run writes a few dossiers (a ``dossier.create`` and 0–3 ``dossier.event`` each) to a fresh
relay in a few batches, and forwards them between batches into the double, under:

* the double's faults, drawn per run: latency past the client's timeout, 5xx, reset after
  storing, session expiry, "already exists", partial batch failure, 429 with Retry-After, and
  injected business rejects;
* kill -9 of the forwarder at its crash points (between "sent" and "recorded"); in-process a
  :class:`Killed` raised there, which rolls the open transaction back as a kill does;
* a relay that stored a batch and died before replying: the desk sends the batch again (same
  id), or its records again in a new batch;
* in ``subprocess`` runs (:mod:`tests.sync.upstream.fault_kills`), real ``kill -9`` of
  ``ccdesk district serve`` while desks push and of ``ccdesk district forward`` at a crash
  point or at a random moment.

Then, as a person would, dead letters are checked (only injected rejects may be there), retried
with the faults off, and forwarded. Invariants (:func:`check`): every dossier delivered with all
its steps, every step exactly once (``duplicate_steps`` 0), the relay store consistent.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from ccdesk.ids import uuid7
from ccdesk.retry import RetryPolicy
from ccdesk.storage import crashpoint
from sync import keys
from sync.server.models import DistrictDossier
from sync.server.store import Device, DistrictStore
from sync.upstream import dead_letters as dead_letter_list
from sync.upstream import outcome
from sync.upstream.config import load_config, save_config
from sync.upstream.double.faults import FaultSpec, parse_faults
from sync.upstream.forwarder import Forwarder
from sync.upstream.status import status as upstream_status
from sync.upstream.transport import make_transport
from tests.sync.upstream.double_fixtures import PASSWORD, UNIT, USER

COMMUNE = "26734"
CRASH_POINTS = ("upstream_after_send", "upstream_after_snapshot")
EVENTS = (("start", "in_progress", {}), ("hand_off", "handed_off", {"body": "UBND huyện"}),
          ("result_back", "in_progress", {}))
TIMEOUT_S = 0.4          # the forwarder's HTTP timeout in these runs; latency faults exceed it
NO_WAIT = RetryPolicy(base=0.0, cap=0.0, max_attempts=4)
MAX_ROUNDS = 40          # forwarder runs before a run is declared stuck


class Killed(BaseException):
    """kill -9 at a crash point, in-process: not an Exception, so no handler swallows it."""


class RunFailed(AssertionError):
    pass


@dataclass
class Plan:
    """What a seed decides, before anything runs (printed when a run fails)."""

    seed: int
    dossiers: int
    events: list[int]
    batches: int
    faults: str
    kills: list[str]
    lost_replies: float
    resend_new_batch: float

    @classmethod
    def draw(cls, seed: int) -> Plan:
        rng = random.Random(seed)
        dossiers = rng.randint(1, 4)
        chances = {"http500": 0.15, "reset_after_store": 0.15, "exists": 0.2, "partial": 0.3,
                   "429": 0.1, "reject": 0.06}
        chosen = [f"{name}={rng.uniform(0.03, top):.3f}" for name, top in chances.items()
                  if rng.random() < 0.5]
        if rng.random() < 0.3:
            chosen.append(f"session_expiry={rng.uniform(0.05, 0.3):.3f}")
        if rng.random() < 0.15:
            chosen.append(f"latency={TIMEOUT_S + 0.2}@{rng.uniform(0.02, 0.1):.3f}")
        chosen += ["retry_after=0", f"seed={seed}"]
        kills = [rng.choice(CRASH_POINTS) for _ in range(rng.choice((0, 0, 1, 1, 2, 3)))]
        return cls(seed, dossiers, [rng.randint(0, 3) for _ in range(dossiers)],
                   rng.randint(1, 3), ",".join(chosen), kills,
                   rng.choice((0.0, 0.0, 0.3, 0.6)), rng.choice((0.0, 0.3)))

    def __str__(self) -> str:
        return (f"seed {self.seed}: {self.dossiers} dossiers, events {self.events}, "
                f"{self.batches} batches, faults {self.faults!r}, kills {self.kills}, "
                f"lost replies {self.lost_replies}, re-sent in a new batch "
                f"{self.resend_new_batch}")


def records(seed: int, events: list[int]) -> list[dict[str, Any]]:
    """The desk's outbox rows of one run: codes unique to the seed (one double serves many
    runs), each dossier's events an hour apart in the past."""
    out: list[dict[str, Any]] = []
    day = datetime.now().replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=2)
    for i, count in enumerate(events):
        code = f"{UNIT}-{day:%y%m%d}-{seed * 10 + i + 1:04d}"
        at = day + timedelta(minutes=i)
        dossier = {"code": code, "procedure_code": "1.001193", "field": "Hộ tịch",
                   "applicant_name": f"Nguyễn Văn {i}", "applicant_id_number": f"{seed:08d}{i:04d}",
                   "applicant_id_type": "cccd", "owner_name": "", "channel": "direct",
                   "delivery": "desk", "received_at": at.isoformat(),
                   "accepted_at": at.isoformat(),
                   "due_at": (at + timedelta(days=3)).isoformat(), "status": "received"}
        steps = [("accept", "received", {}), *EVENTS[:count]]
        for n, (action, status, data) in enumerate(steps):
            event = {"action": action, "at": (at + timedelta(hours=n)).isoformat(),
                     "from_status": None, "to_status": status, "reason": "", "data": data,
                     "officer": "lan"}
            if n == 0:
                op, payload = "dossier.create", {"dossier": dossier, "checklist": [],
                                                 "event": event}
            else:
                op, payload = "dossier.event", {"code": code, "event": event,
                                                "changes": {"status": status}}
            out.append({"id": uuid7(), "seq": len(out) + 1, "op": op, "entity_id": code,
                        "payload": payload})
    return out


def split(rows: list[dict[str, Any]], parts: int, rng: random.Random
          ) -> list[list[dict[str, Any]]]:
    cuts = sorted(rng.sample(range(1, len(rows)), min(parts, len(rows)) - 1))
    return [rows[a:b] for a, b in zip([0, *cuts], [*cuts, len(rows)], strict=True)]


def body(device_id: str, rows: list[dict[str, Any]], batch_id: str | None = None
         ) -> dict[str, Any]:
    return {"batch_id": batch_id or uuid7(), "device_id": device_id, "commune": COMMUNE,
            "demo": False, "seen_cursor": 0, "first_seq": rows[0]["seq"],
            "last_seq": rows[-1]["seq"], "records": rows}


# ---- the double, shared by many runs ---------------------------------------------------------
def arm(spec: FaultSpec, text: str) -> None:
    """Give the running double's fault spec (the one object its app reads) new faults."""
    fresh = parse_faults(text)
    for name in (f.name for f in dataclasses.fields(FaultSpec)):
        setattr(spec, name, getattr(fresh, name))
    spec._random = fresh._random  # noqa: SLF001 - the seeded generator goes with the spec


def scratch_dir(prefix: str) -> Path:
    """A folder for the runs' databases, in memory where the machine has /dev/shm: a run makes
    ~60 commits and ``synchronous=FULL`` would fsync each. A kill -9 loses nothing committed
    with or without fsync (only a power cut does), so the invariants are the same."""
    import tempfile

    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix=prefix, dir=shm if shm.is_dir() else None))


@dataclass
class Bench:
    """What many runs share: the double (its URL and fault spec) and a migrated relay file."""

    double_url: str
    faults: FaultSpec
    root: Path
    template: Path = field(init=False)

    def __post_init__(self) -> None:
        self.template = self.root / "relay-template.sqlite3"
        store = DistrictStore.open(f"sqlite:///{self.template}")
        store.engine.dispose()

    def relay(self, seed: int) -> tuple[DistrictStore, Device]:
        """A fresh relay of its own (a copy of the migrated file) with one enrolled desk and
        the upstream set to the double."""
        path = self.root / f"relay-{seed}-{uuid.uuid4().hex[:6]}.sqlite3"
        shutil.copyfile(self.template, path)
        store = DistrictStore.open(f"sqlite:///{path}")
        device = store.enroll(store.issue_enroll_code(COMMUNE), f"desk-{seed}",
                              keys.public_of(keys.new_private_key()), False)
        save_config(store.engine, profile="dvcqg", url=self.double_url, unit_code=UNIT,
                       username=USER, password=PASSWORD, accept_demo=False,
                       settings={"timeout_s": TIMEOUT_S})
        return store, device

    @property
    def http(self) -> httpx.Client:
        """One client of the double's inspection routes for every run (plain HTTP)."""
        if not hasattr(self, "_http"):
            self._http = httpx.Client(base_url=self.double_url, timeout=30, verify=False)
        return self._http

    def stats(self) -> dict[str, Any]:
        return self.http.get("/_stats").json()


# ---- one in-process run ----------------------------------------------------------------------
@contextmanager
def crash_points(kills: list[str]) -> Iterator[Callable[[], int]]:
    """Arm the forwarder's crash points: each name in ``kills``, in order, kills the next run
    that reaches it. Yields how many kills have landed so far."""
    armed = list(kills)
    original = crashpoint.crash_point

    def point(name: str) -> None:
        if armed and armed[0] == name:
            armed.pop(0)
            raise Killed(name)

    crashpoint.crash_point = point   # type: ignore[assignment]
    try:
        yield lambda: len(kills) - len(armed)
    finally:
        crashpoint.crash_point = original   # type: ignore[assignment]


def forward_until_settled(store: DistrictStore, plan: Plan) -> list[int]:
    """Run the forwarder (a new one after each kill) until nothing is pending."""
    exits = []
    for _ in range(MAX_ROUNDS):
        config = load_config(store.engine)
        # The transport's own client (sync/upstream/http_client.py), as in production: the
        # faults (resets after storing, timeouts, 5xx) are the ones it must sort right.
        runner = Forwarder(store.engine, config, policy=NO_WAIT, sleep=lambda _s: None,
                              transport=make_transport(config.profile, config.creds))
        try:
            result = runner.run(once=True)
            exits.append(result.exit_code)
        except Killed:
            exits.append(-9)
            continue
        finally:
            runner.close()
        if result.exit_code in (outcome.EXIT_OK, outcome.EXIT_HUMAN) and not result.pending:
            return exits
        time.sleep(0.1)   # as cron would, later: steps in doubt wait for a late reply to land
    raise RunFailed(f"{plan}: still pending after {MAX_ROUNDS} forwarder runs {exits}")


def run_in_process(bench: Bench, seed: int) -> dict[str, Any]:
    plan = Plan.draw(seed)
    rng = random.Random(seed ^ 0x5EED)
    rows = records(seed, plan.events)
    before = bench.stats()
    arm(bench.faults, plan.faults)
    store, device = bench.relay(seed)
    try:
        with crash_points(plan.kills) as landed:
            for chunk in split(rows, plan.batches, rng):
                sent, digest = body(device.device_id, chunk), uuid7()
                store.apply_batch(device, sent, digest)
                if rng.random() < plan.lost_replies:     # reply lost: the same batch again
                    replay = store.apply_batch(device, sent, digest)
                    assert all(r["result"] in ("applied", "duplicate")
                               for r in replay["results"]), (str(plan), replay)
                if rng.random() < plan.resend_new_batch:  # re-sent under a new batch id
                    again = store.apply_batch(device, body(device.device_id, chunk), uuid7())
                    assert {r["result"] for r in again["results"]} == {"duplicate"}, str(plan)
                if rng.random() < 0.7:
                    forward_until_settled(store, plan)
            forward_until_settled(store, plan)
            kills = landed()
        return {**settle_and_check(bench, store, device, plan, rows, before), "kills": kills}
    finally:
        store.engine.dispose()


def settle_and_check(bench: Bench, store: DistrictStore, device: Device, plan: Plan,
                     rows: list[dict[str, Any]], before: dict[str, Any]) -> dict[str, Any]:
    """What a person does with the dead letters, then every invariant."""
    injected = bench.stats()["faults"].get("reject", 0) - before["faults"].get("reject", 0)
    letters = dead_letter_list.dead_letters(store.engine)
    wrong = [d for d in letters if "fault injected by the double" not in (d["message"] or "")]
    if wrong or len(letters) > injected:
        raise RunFailed(f"{plan}: dead letters {letters} with {injected} injected rejects")
    arm(bench.faults, "")
    if letters:
        dead_letter_list.retry(store.engine, None)
        forward_until_settled(store, plan)
    check(bench.http, store, device, plan, rows, before)
    return {"dead_letters": len(letters), "injected_rejects": injected}


def check(http: httpx.Client, store: DistrictStore, device: Device, plan: Plan,
          rows: list[dict[str, Any]], before: dict[str, Any]) -> None:
    """The invariants of a settled run; a failure names the seed's plan."""
    problems = []
    for code, expected in expected_steps(rows).items():
        found = http.get(f"/_inspect/{code}")
        if found.status_code != 200:
            problems.append(f"{code} not delivered")
            continue
        steps = found.json()["steps"]
        if len(steps) != expected or any(s["_duplicate"] for s in steps):
            problems.append(f"{code}: {len(steps)} steps for {expected} "
                            f"({sum(s['_duplicate'] for s in steps)} duplicate)")
    after = http.get("/_stats").json()
    if after["duplicate_steps"] != before["duplicate_steps"]:
        problems.append(f"duplicate_steps {before['duplicate_steps']} → "
                        f"{after['duplicate_steps']}")
    problems += relay_problems(store, device, rows)
    counts = upstream_status(store.engine)
    if (counts["pending"], counts["dead_letter"], counts["steps_sent"]) != (
            0, 0, len(rows)):
        problems.append(f"forwarder status {counts} for {len(rows)} steps")
    if problems:
        raise RunFailed(f"{plan}: " + "; ".join(problems))


def expected_steps(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:    # one step per event, the create's own included
        counts[row["entity_id"]] = counts.get(row["entity_id"], 0) + 1
    return counts


def relay_problems(store: DistrictStore, device: Device, rows: list[dict[str, Any]]
                   ) -> list[str]:
    """The relay holds every record once, each dossier in its last event's status."""
    problems = []
    stored = store.mutation_ids()
    if sorted(stored) != sorted(r["id"] for r in rows):
        problems.append(f"relay holds {len(stored)} mutations ({len(set(stored))} distinct) "
                        f"for {len(rows)} sent")
    last = {r["entity_id"]: r["payload"]["event"]["to_status"] for r in rows}
    table = DistrictDossier.__table__
    with store.engine.connect() as conn:
        held = dict(conn.execute(select(table.c.code, table.c.status)).all())
        through = store.received_through(conn, device.device_id)
    if held != last:
        problems.append(f"relay dossiers {held} != {last}")
    if through != len(rows):
        problems.append(f"received_through_seq {through} != {len(rows)}")
    return problems
