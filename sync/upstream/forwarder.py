"""Delivery of the relay's dossiers to the upstream (docs/upstream.md, "Delivery").

The upstream guarantees nothing (no idempotency, steps without ids), so the guarantees are here:

* **per-dossier order**: a dossier's snapshot goes before its steps, its steps in event order;
  an unresolved item (an open dead letter) blocks that dossier only;
* **snapshots coalesce**: only the latest state is sent, and only when it differs from what was
  last delivered (a hash); create or update follows the ``known_upstream`` flag, an
  "already exists" answer switches to update; after a crash mid-create, ``TraCuuHoSo`` (where the
  profile has it) or the "already exists" answer decides;
* **steps exactly once**: the ledger (``upstream_step``) is keyed by our mutation id. A step is
  marked ``sending`` and committed before the call; the reply is recorded in one transaction
  with the step's ``sent`` state. A step found ``sending`` afterwards (a crash or a lost reply
  between the two) is *in doubt*: the upstream cannot be asked whether it has it, so by
  default it is held as a dead letter for a person to check and ``retry`` or ``drop``
  (profile setting ``in_doubt_steps = "resend"`` trades that for at-least-once);
* **retries** with back-off (:class:`ccdesk.retry.RetryPolicy`) only for transport failures and
  expired sessions; a business reject is a dead letter with the upstream's message.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from ccdesk.retry import RetryPolicy
from ccdesk.storage import crashpoint
from sync.server.store import utcnow
from sync.upstream import mapping, ratings
from sync.upstream.mapping import VIETNAM
from sync.upstream.profiles import Profile, load_profile
from sync.upstream.source import RelaySource, Source
from sync.upstream.tables import AUDIT, CONFIG, DEAD, DOSSIER, RATING, STEP
from sync.upstream.transport import (
    EXISTS,
    OK,
    PARTIAL,
    AuthRefused,
    Credentials,
    Down,
    InDoubt,
    Reply,
    Transport,
    make_transport,
)

EXIT_OK, EXIT_PARTIAL, EXIT_NETWORK, EXIT_AUTH, EXIT_HUMAN, EXIT_INTERNAL = 0, 10, 20, 30, 40, 50
RELAY = RelaySource()
LEASE_S = 120
INGEST_CHUNK = 2000
WORK_CHUNK = 200
POLL_S = 5.0
# Timeouts to wait, after a call timed out, before its steps are looked up upstream.
IN_DOUBT_GRACE = 2
OPEN_STEP = ("pending", "sending")


class NotConfigured(Exception):
    """``district upstream set`` has not been run on this relay."""


@dataclass(frozen=True)
class UpstreamConfig:
    profile: Profile
    creds: Credentials
    accept_demo: bool
    in_doubt_steps: str            # hold | resend


@dataclass
class ForwardResult:
    """What one ``district forward`` run did; ``to_json`` is its ``--json`` output."""

    exit_code: int = EXIT_OK
    error: str = ""
    snapshots_sent: int = 0
    steps_sent: int = 0
    ratings_sent: int = 0          # monthly satisfaction aggregates (DongBoDanhGia)
    dead_letter: int = 0           # new dead letters this run
    pending: int = 0
    demo_held: int = 0
    seconds: float = 0.0
    passes: int = 0
    details: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def delivered_any(self) -> bool:
        return bool(self.snapshots_sent or self.steps_sent or self.ratings_sent)


@dataclass
class _Plan:
    """What one dossier of a group sends: its snapshot (None: unchanged) and waiting steps."""

    code: str
    known: bool
    snap: dict[str, Any] | None
    digest: str
    items: list[tuple[str, dict[str, Any]]]


class _Stop(Exception):
    def __init__(self, exit_code: int, error: str) -> None:
        super().__init__(error)
        self.exit_code, self.error = exit_code, error


# ---- configuration ---------------------------------------------------------------------------
def save_config(engine: Engine, *, profile: str, url: str, unit_code: str, username: str,
                password: str, accept_demo: bool, version: str = "2023",
                settings: dict[str, Any] | None = None) -> None:
    """Store the upstream (one per relay); a profile error is raised before anything is kept."""
    load_profile(profile, version, {k: v for k, v in (settings or {}).items()
                                    if k != "in_doubt_steps"})
    values = {"profile": profile, "version": version, "url": url.rstrip("/"),
              "unit_code": unit_code, "username": username, "password": password,
              "accept_demo": accept_demo, "settings": orjson.dumps(settings or {}).decode(),
              "updated_at": utcnow()}
    with engine.begin() as conn:
        if conn.execute(select(CONFIG.c.id).where(CONFIG.c.id == 1)).first():
            conn.execute(update(CONFIG).where(CONFIG.c.id == 1).values(**values))
        else:
            conn.execute(insert(CONFIG).values(id=1, **values))
        _audit(conn, "upstream_set", None, f"profile={profile} unit={unit_code} "
               f"accept_demo={accept_demo}")


def load_config(engine: Engine) -> UpstreamConfig:
    with engine.connect() as conn:
        row = conn.execute(select(CONFIG).where(CONFIG.c.id == 1)).mappings().first()
    if row is None:
        raise NotConfigured
    settings = orjson.loads(row["settings"] or "{}")
    in_doubt = settings.pop("in_doubt_steps", "hold")
    profile = load_profile(row["profile"], row["version"], settings)
    return UpstreamConfig(profile, Credentials(row["url"], row["unit_code"], row["username"],
                                               row["password"]),
                          bool(row["accept_demo"]), "resend" if in_doubt == "resend" else "hold")


def _audit(conn: Connection, action: str, code: str | None, detail: str = "") -> None:
    conn.execute(insert(AUDIT).values(at=utcnow(), action=action, dossier_code=code,
                                      detail=detail))


# ---- the ledger ------------------------------------------------------------------------------
def ingest(engine: Engine, source: Source = RELAY) -> int:
    """Copy the source's events not in the ledger yet into it (``pending``); mark their
    dossiers' snapshots pending. Returns how many were added."""
    added = 0
    while True:
        with engine.begin() as conn:
            rows = source.new_events(conn, INGEST_CHUNK)
            if not rows:
                return added
            now = utcnow()
            conn.execute(insert(STEP), [
                {"mutation_id": r.event_id, "dossier_code": r.dossier_code,
                 "sort_key": r.sort_key, "state": "pending", "created_at": now} for r in rows])
            codes = {r.dossier_code: r for r in rows}
            # A district change carries no device: a dossier is demo if any of its events is.
            demo = {r.dossier_code for r in rows if r.demo}
            known = set(conn.execute(select(DOSSIER.c.code)
                                     .where(DOSSIER.c.code.in_(list(codes)))).scalars())
            fresh = [{"code": c, "commune_code": r.commune_code, "demo": c in demo,
                      "known_upstream": False, "snapshot_state": "pending", "sent_hash": "",
                      "pending_since": now, "attempts": 0}
                     for c, r in codes.items() if c not in known]
            if fresh:
                conn.execute(insert(DOSSIER), fresh)
            if known:
                conn.execute(update(DOSSIER).where(DOSSIER.c.code.in_(list(known)),
                                                   DOSSIER.c.snapshot_state == "sent")
                             .values(snapshot_state="pending"))
                conn.execute(update(DOSSIER).where(DOSSIER.c.code.in_(list(known)),
                                                   DOSSIER.c.pending_since.is_(None))
                             .values(pending_since=now))
            added += len(rows)


def history(conn: Connection, code: str, source: Source = RELAY) -> mapping.History:
    """The dossier's events, in the ledger's order, replayed."""
    return source.histories(conn, [code])[code]


def _step_key(step: dict[str, Any]) -> tuple[str, str, str]:
    return (step["ThoiDiemXuLy"], step["TrangThai"], step["NoiDungXuLy"])


def _hash(item: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(item, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _open_dead(code_column: Any) -> Any:
    return exists().where(DEAD.c.dossier_code == code_column, DEAD.c.resolved_at.is_(None))


def _has_open_steps(code_column: Any) -> Any:
    return exists().where(STEP.c.dossier_code == code_column, STEP.c.state.in_(OPEN_STEP))


# ---- the forwarder ---------------------------------------------------------------------------
class Forwarder:
    """One relay's forwarder; :meth:`run` is ``ccdesk district forward``."""

    def __init__(self, engine: Engine, config: UpstreamConfig, *,
                 transport: Transport | None = None, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 source: Source = RELAY) -> None:
        self.engine, self.config, self.source = engine, config, source
        self.profile = config.profile
        self.transport = transport or make_transport(config.profile, config.creds)
        self.policy = policy or RetryPolicy(base=0.5, cap=30.0, max_attempts=6)
        self.sleep, self.clock = sleep, clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._failures = 0
        self._leased_at = float("-inf")
        # Writes that record what already happened ("sent"), committed with the next write
        # (the "sending" of the next call or group) or before the next read: one commit per
        # call (per group, see _mark_group) instead of two. A crash before they are committed
        # leaves those items ``sending``: in doubt, settled like any other.
        self._later: list[Callable[[Connection], None]] = []

    def close(self) -> None:
        self.transport.close()

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """A write transaction that first applies the recorded-later writes."""
        later, self._later = self._later, []
        try:
            with self.engine.begin() as conn:
                for write in later:
                    write(conn)
                yield conn
        except BaseException:
            self._later = later + self._later   # rolled back: still to record
            raise

    @contextmanager
    def _read(self, flush: bool = True) -> Iterator[Connection]:
        """A read that sees every write of this forwarder (``flush=False``: a read of rows the
        recorded-later writes do not touch)."""
        if self._later and flush:
            with self._begin():
                pass
        with self.engine.connect() as conn:
            yield conn

    # -- runs --
    def run(self, *, once: bool = True, max_time: float | None = None) -> ForwardResult:
        """Passes until nothing is left (``once``) or ``max_time`` runs out (a daemon without
        either). The exit code is the contract of docs/upstream.md."""
        start = self.clock()
        deadline = start + max_time if max_time else None
        result = ForwardResult()
        try:
            if not self._lease():
                result.exit_code, result.error = EXIT_PARTIAL, "locked"
                return result
            while True:
                result.passes += 1
                try:
                    self._pass(result, deadline)
                    outage = None
                except _Stop as stop:
                    # A service rides out an outage; a one-shot run reports it.
                    if once or stop.exit_code != EXIT_NETWORK:
                        raise
                    self._note_error(stop.error)
                    outage = stop
                if once or (deadline is not None and self.clock() >= deadline):
                    if outage is not None:
                        raise outage
                    break
                self.sleep(POLL_S if deadline is None
                           else min(POLL_S, max(0.0, deadline - self.clock())))
        except _Stop as stop:
            result.exit_code, result.error = stop.exit_code, stop.error
            if stop.exit_code == EXIT_NETWORK and result.delivered_any:
                result.exit_code = EXIT_PARTIAL
            self._note_error(stop.error)
        finally:
            self._release()
            result.seconds = round(self.clock() - start, 3)
        counts = status(self.engine)
        result.pending = counts["pending"]
        if result.exit_code == EXIT_OK:
            if counts["dead_letter"]:
                result.exit_code, result.error = EXIT_HUMAN, "dead_letters"
            elif result.pending:
                result.exit_code, result.error = EXIT_PARTIAL, "time_limit"
        return result

    def _pass(self, result: ForwardResult, deadline: float | None) -> None:
        """One sweep over the dossiers with work, in code order (each at most once)."""
        ingest(self.engine, self.source)
        after = ""
        while True:
            codes = self._candidates(result, after)
            if not codes:
                self._with_retries(lambda: self._send_ratings(result), deadline)
                return
            size = self.profile.snapshot_batch
            for start in range(0, len(codes), size):
                if deadline is not None and self.clock() >= deadline:
                    return
                self._renew()
                group = codes[start:start + size]
                self._with_retries(lambda g=group: self._deliver_group(g, result), deadline)
            after = codes[-1]

    def _candidates(self, result: ForwardResult, after: str) -> list[str]:
        d = DOSSIER
        with self._read() as conn:
            query = (select(d.c.code)
                     .where(or_(d.c.snapshot_state != "sent", _has_open_steps(d.c.code)),
                            ~_open_dead(d.c.code), d.c.code > after)
                     .order_by(d.c.code).limit(WORK_CHUNK))
            if not self.config.accept_demo:
                result.demo_held = conn.execute(
                    select(func.count()).select_from(d).where(d.c.demo.is_(True))).scalar_one()
                query = query.where(d.c.demo.is_(False))
            return list(conn.execute(query).scalars())

    def _with_retries(self, work: Callable[[], None], deadline: float | None) -> None:
        """``work`` again after a transport failure, with back-off, until the policy or the
        run's time gives up (then the run ends 20/10)."""
        while True:
            try:
                work()
                self._failures = 0
                return
            except Down as exc:
                self._failures += 1
                self._note_error(str(exc))
                remaining = None if deadline is None else deadline - self.clock()
                if self.policy.gives_up(self._failures) or (remaining is not None
                                                            and remaining <= 0):
                    raise _Stop(EXIT_NETWORK, f"upstream_unreachable: {exc}") from exc
                self.sleep(self.policy.delay(self._failures, exc.retry_after,
                                             remaining=remaining))
            except AuthRefused as exc:
                raise _Stop(EXIT_AUTH, f"auth_refused: {exc}") from exc

    # -- several dossiers at once (the common case) --
    def _deliver_group(self, codes: list[str], result: ForwardResult) -> None:
        """Dossiers whose items all pass pre-flight, none in doubt, each with at most one
        batch of steps waiting, go in few calls: their snapshots together, their steps packed
        whole into batches. Anything else, and anything a grouped call refuses, goes the
        one-dossier way (:meth:`_deliver`), which finds and holds the culprit."""
        plans, alone = self._plans(codes)
        for code in alone:
            self._deliver(code, result)
        marked = self._mark_group(plans)
        unsent = {m for p in plans for m, _item in p.items} if marked else set()
        try:
            blocked: set[str] = set()
            for updating in (False, True):
                group = [p for p in plans if p.snap is not None and p.known == updating]
                if group:
                    blocked |= self._send_snapshot_group(group, updating, result, marked)
            batches: list[list[_Plan]] = [[]]
            for plan in (p for p in plans if p.code not in blocked and p.items):
                if batches[-1] and sum(len(p.items) for p in batches[-1]) + len(plan.items) \
                        > self.profile.steps_batch:
                    batches.append([])
                batches[-1].append(plan)
            for batch in (b for b in batches if b):
                unsent -= {m for p in batch for m, _item in p.items}
                self._send_step_group(batch, result, marked)
        finally:
            if unsent:   # marked, never sent (a blocked snapshot, a failure): not in doubt
                self._set(STEP, STEP.c.mutation_id.in_(sorted(unsent)), state="pending")
        self._finish([p.code for p in plans if p.code not in blocked])

    def _mark_group(self, plans: list[_Plan]) -> bool:
        """Mark the whole group ``sending`` in one commit before its calls, where the profile
        says that is safe (``group_commit``): only an upstream whose look-up lists a dossier's
        steps can settle what a crash leaves ``sending`` (sent or not) without a person. One
        commit (an fsync) per group instead of one per call: the relay's commits were half of
        a run's time. Returns whether it marked."""
        calls = sum(1 for p in plans if p.snap is not None) and 1
        calls += -(-sum(len(p.items) for p in plans) // self.profile.steps_batch)
        if calls < 2 or not (self.profile.group_commit and self.profile.lookup_service
                             and self.profile.lookup_steps_key):
            return False
        snaps = [p.code for p in plans if p.snap is not None]
        ids = [m for p in plans for m, _item in p.items]
        with self._begin() as conn:
            if snaps:
                conn.execute(update(DOSSIER).where(DOSSIER.c.code.in_(snaps))
                             .values(snapshot_state="sending"))
            if ids:
                conn.execute(update(STEP).where(STEP.c.mutation_id.in_(ids))
                             .values(state="sending"))
        return True

    def _plans(self, codes: list[str]) -> tuple[list[_Plan], list[str]]:
        """One read for the whole group: histories, delivery rows and open ledger rows."""
        plans, alone = [], []
        # The recorded-later writes are about earlier groups (other dossiers): they go with
        # this group's _mark_group commit rather than a commit of their own.
        with self._read(flush=False) as conn:
            histories = self.source.histories(conn, codes)
            rows = {r["code"]: r for r in conn.execute(
                select(DOSSIER).where(DOSSIER.c.code.in_(codes))).mappings()}
            ledgers: dict[str, list[tuple[str, str]]] = {code: [] for code in codes}
            for r in conn.execute(select(STEP.c.dossier_code, STEP.c.mutation_id, STEP.c.state)
                                  .where(STEP.c.dossier_code.in_(codes),
                                         STEP.c.state.in_(OPEN_STEP))
                                  .order_by(STEP.c.dossier_code, STEP.c.sort_key)):
                ledgers[r.dossier_code].append((r.mutation_id, r.state))
        for code in codes:
            hist, row, ledger = histories[code], rows[code], ledgers[code]
            if not hist.events or not hist.events[0].create:
                continue
            if row["snapshot_state"] == "sending" or len(ledger) > self.profile.steps_batch \
                    or any(state == "sending" for _m, state in ledger):
                alone.append(code)
                continue
            snap = mapping.snapshot(hist, self.profile, self.config.creds.unit_code)
            digest = _hash(snap)
            by_id = dict(mapping.steps(hist, self.profile))
            items = [(m, by_id[m]) for m, _state in ledger]
            need = row["snapshot_state"] != "sent" or row["sent_hash"] != digest
            try:
                if need:
                    mapping.validate_snapshot(snap, self.profile)
                for _m, item in items:
                    mapping.validate_step(item, self.profile)
            except mapping.MappingError:
                alone.append(code)
                continue
            known = mapping.known_upstream(bool(row["known_upstream"]), hist)
            plans.append(_Plan(code, known, snap if need else None, digest, items))
        return plans, alone

    def _send_snapshot_group(self, group: list[_Plan], updating: bool,
                             result: ForwardResult, marked: bool = False) -> set[str]:
        """The codes left blocked (rejected) after sending ``group``'s snapshots."""
        if len(group) == 1:
            p = group[0]
            row = {"known_upstream": p.known, "snapshot_state": "pending"}
            return set() if self._send_snapshot(p.code, row, p.snap or {}, p.digest,
                                                result) else {p.code}
        if not marked:
            self._set(DOSSIER, DOSSIER.c.code.in_([p.code for p in group]),
                      snapshot_state="sending")
        body = [mapping.cased(p.snap, self.profile) for p in group]
        try:
            reply = self.transport.snapshots(body, updating)
            if reply.kind == EXISTS and not updating:
                reply = self.transport.snapshots(body, True)   # an upsert: safe for all
        except InDoubt as exc:
            raise Down(str(exc)) from exc
        crashpoint.crash_point("upstream_after_snapshot")
        if reply.kind == OK:
            now, sent = utcnow(), [{"c": p.code, "h": p.digest} for p in group]

            def record(conn: Connection) -> None:
                conn.execute(update(DOSSIER).where(DOSSIER.c.code == bindparam("c")).values(
                    known_upstream=True, snapshot_state="sent", sent_hash=bindparam("h"),
                    attempts=0, last_error=None), sent)
                conn.execute(update(CONFIG).where(CONFIG.c.id == 1).values(last_success_at=now))
            self._later.append(record)
            result.snapshots_sent += len(group)
            return set()
        # Which one? Each on its own (a snapshot is an upsert; "sending" makes a create ask
        # TraCuuHoSo first).
        blocked = set()
        for p in group:
            row = {"known_upstream": p.known, "snapshot_state": "sending"}
            if not self._send_snapshot(p.code, row, p.snap or {}, p.digest, result):
                blocked.add(p.code)
        return blocked

    def _send_step_group(self, batch: list[_Plan], result: ForwardResult,
                         marked: bool = False) -> None:
        if len(batch) == 1 and not marked:
            self._flush_steps(batch[0].code, list(batch[0].items), result)
            return
        ids = [m for p in batch for m, _item in p.items]
        items = [mapping.cased(item, self.profile) for p in batch for _m, item in p.items]
        if not marked:
            self._set(STEP, STEP.c.mutation_id.in_(ids), state="sending")
        try:
            reply = self.transport.steps(items)
        except Down:
            self._set(STEP, STEP.c.mutation_id.in_(ids), state="pending")
            raise
        except InDoubt as exc:
            self._mark_in_doubt(ids, exc)
            raise Down(str(exc)) from exc   # left "sending": settled per dossier on the retry
        crashpoint.crash_point("upstream_after_send")
        if reply.kind == PARTIAL:
            self._partial(ids, reply, result)
        if reply.kind == OK:
            self._record_sent(ids, result, later=True)
            return
        # A refused call stored nothing [I]: find the dossier at fault one by one.
        self._set(STEP, STEP.c.mutation_id.in_(ids), state="pending")
        for p in batch:
            self._flush_steps(p.code, list(p.items), result)

    # -- the monthly satisfaction aggregate --
    def _send_ratings(self, result: ForwardResult) -> None:
        """Each month that is over and has ratings, once; again (an update) when its ratings
        changed since. A month with an open dead letter waits for a person."""
        if not self.profile.rating_service:
            return
        with self._read() as conn:
            months = ratings.monthly(self.source.ratings(conn, self.config.accept_demo),
                                     datetime.now(VIETNAM))
            rows = {r.month: r for r in conn.execute(select(RATING))}
            blocked = set(conn.execute(select(DEAD.c.dossier_code).where(
                DEAD.c.kind == "rating", DEAD.c.resolved_at.is_(None))).scalars())
        for month, element in months.items():
            digest, row = ratings.digest(element), rows.get(month)
            if rating_key(month) in blocked or (
                    row is not None and row.state in ("sent", "dead")
                    and row.sent_hash == digest):
                continue
            # After a crash mid-send ("sending") the month may be stored: send it as an update.
            updating = row is not None and (row.known_upstream or row.state == "sending")
            self._send_rating(month, element, digest, updating, row is None, result)

    def _send_rating(self, month: str, element: dict[str, str], digest: str, updating: bool,
                     fresh: bool, result: ForwardResult) -> None:
        with self._begin() as conn:
            if fresh:
                conn.execute(insert(RATING).values(month=month, state="sending",
                                                   known_upstream=False, sent_hash=""))
            else:
                conn.execute(update(RATING).where(RATING.c.month == month)
                             .values(state="sending"))
        body = [mapping.cased(element, self.profile)]
        try:
            reply = self.transport.ratings(body, updating)
            if reply is not None and reply.kind == EXISTS and not updating:
                reply = self.transport.ratings(body, True)
        except InDoubt as exc:
            raise Down(str(exc)) from exc   # left "sending": the retry sends it as an update
        if reply is None:
            return
        if reply.kind != OK:
            self._set(RATING, RATING.c.month == month, state="dead", sent_hash=digest)
            self._dead(rating_key(month), "rating", month, "rejected", reply.message, result)
            return
        now = utcnow()
        with self._begin() as conn:
            conn.execute(update(RATING).where(RATING.c.month == month).values(
                state="sent", known_upstream=True, sent_hash=digest, sent_at=now))
            conn.execute(update(CONFIG).where(CONFIG.c.id == 1).values(last_success_at=now))
        result.ratings_sent += 1

    # -- one dossier --
    def _deliver(self, code: str, result: ForwardResult) -> None:
        with self._read() as conn:
            hist = history(conn, code, self.source)
            row = conn.execute(select(DOSSIER).where(DOSSIER.c.code == code)).mappings().one()
            ledger = conn.execute(select(STEP.c.mutation_id, STEP.c.state)
                                  .where(STEP.c.dossier_code == code,
                                         STEP.c.state.in_(OPEN_STEP))
                                  .order_by(STEP.c.sort_key)).all()
        if not hist.events or not hist.events[0].create:
            return   # the relay refuses events before their create; nothing to send yet
        snap = mapping.snapshot(hist, self.profile, self.config.creds.unit_code)
        digest = _hash(snap)
        if row["snapshot_state"] != "sent" or row["sent_hash"] != digest:
            row = {**row, "known_upstream": mapping.known_upstream(row["known_upstream"], hist)}
            if not self._send_snapshot(code, row, snap, digest, result):
                return
        by_id = dict(mapping.steps(hist, self.profile))
        pending: list[tuple[str, dict[str, Any]]] = []
        in_doubt = [m for m, state in ledger if state == "sending"]
        if in_doubt:
            if self._too_soon(in_doubt):
                return   # the timed-out call may still be stored upstream: look next pass
            settled = self._settle(code, in_doubt, by_id, result)
            if settled is None and self.config.in_doubt_steps == "hold":
                # They went out together, before any later step: hold them as one item.
                self._dead(code, "step", ",".join(in_doubt), "in_doubt",
                           "the forwarder stopped between sending these steps and recording "
                           "the reply: check the dossier's progress upstream, then retry (send "
                           "them again) or drop (they are there)", result)
                return
            ledger = [(m, s) for m, s in ledger if m not in (settled or set())]
        for mutation_id, _state in ledger:
            item = by_id[mutation_id]
            try:
                mapping.validate_step(item, self.profile)
            except mapping.MappingError as exc:
                self._flush_steps(code, pending, result)
                self._dead(code, "step", mutation_id, "preflight", str(exc), result)
                return
            pending.append((mutation_id, item))
            if len(pending) == self.profile.steps_batch:
                if not self._flush_steps(code, pending, result):
                    return
        self._flush_steps(code, pending, result)
        self._finish([code])

    def _mark_in_doubt(self, ids: list[str], exc: InDoubt) -> None:
        """Steps whose call timed out: the upstream may still be working on it. ``sent_at`` on
        a ``sending`` step is the moment we stopped waiting (a crash or a reset leaves it
        empty: the exchange had ended, they are looked up at once)."""
        if isinstance(exc.__cause__, httpx.TimeoutException):
            self._set(STEP, STEP.c.mutation_id.in_(ids), sent_at=utcnow())

    def _too_soon(self, in_doubt: list[str]) -> bool:
        """Whether the call that left these steps in doubt timed out less than
        ``IN_DOUBT_GRACE`` timeouts ago. An upstream may store a call after the client gave up
        on it; a look-up made before that finds nothing, the steps go again, and the late call
        lands too: twice (the fault runs found it, tests/upstream/test_in_doubt_late.py). This
        narrows the window; without idempotency upstream nothing can close it."""
        grace = timedelta(seconds=IN_DOUBT_GRACE * self.profile.timeout_s)
        with self.engine.connect() as conn:
            since = conn.execute(select(func.max(STEP.c.sent_at))
                                 .where(STEP.c.mutation_id.in_(in_doubt))).scalar()
        return since is not None and utcnow() - since < grace

    def _settle(self, code: str, in_doubt: list[str], by_id: dict[str, dict[str, Any]],
                result: ForwardResult) -> set[str] | None:
        """Settle steps left ``sending`` from what the upstream's look-up lists for the dossier:
        those it has (beyond the ones recorded as sent) are recorded ``sent``, the rest go back
        to ``pending``. Returns the ids now recorded sent, or None when the upstream cannot say.
        Steps have no id upstream, so they are matched by time, status and content, counted."""
        listed = self.transport.upstream_steps(code)
        if listed is None:
            return None
        k = self.profile.key
        there = Counter((str(s.get(k("ThoiDiemXuLy"))), str(s.get(k("TrangThai"))),
                         str(s.get(k("NoiDungXuLy")))) for s in listed)
        with self._read() as conn:
            sent = list(conn.execute(select(STEP.c.mutation_id).where(
                STEP.c.dossier_code == code, STEP.c.state == "sent")).scalars())
        for mutation_id in sent:
            if mutation_id in by_id:
                there[_step_key(by_id[mutation_id])] -= 1
        found = set()
        for mutation_id in in_doubt:
            key = _step_key(by_id[mutation_id])
            if there[key] > 0:
                there[key] -= 1
                found.add(mutation_id)
        if found:
            self._record_sent(sorted(found), result, count=False)
        self._set(STEP, STEP.c.mutation_id.in_([m for m in in_doubt if m not in found]),
                  state="pending")
        with self._begin() as conn:
            _audit(conn, "in_doubt_settled", code,
                   f"{len(found)} found upstream, {len(in_doubt) - len(found)} to send")
        return found

    def _send_snapshot(self, code: str, row: Any, snap: dict[str, Any], digest: str,
                       result: ForwardResult) -> bool:
        try:
            mapping.validate_snapshot(snap, self.profile)
        except mapping.MappingError as exc:
            self._dead(code, "snapshot", code, "preflight", str(exc), result)
            return False
        updating = bool(row["known_upstream"])
        if row["snapshot_state"] == "sending" and not updating:
            # A crash (or a lost reply) during a create: ask, where the upstream can say.
            updating = bool(self.transport.exists(code))
        self._set(DOSSIER, DOSSIER.c.code == code, snapshot_state="sending")
        body = [mapping.cased(snap, self.profile)]
        try:
            reply = self.transport.snapshots(body, updating)
            if reply.kind == EXISTS and not updating:
                reply = self.transport.snapshots(body, True)   # "đã tồn tại": update instead
        except InDoubt as exc:
            raise Down(str(exc)) from exc   # a snapshot is an upsert: sending again is safe
        crashpoint.crash_point("upstream_after_snapshot")
        if reply.kind == PARTIAL:
            raise Down(f"partial: {reply.message}")
        if reply.kind != OK:
            self._dead(code, "snapshot", code, "rejected", reply.message, result)
            return False
        with self._begin() as conn:
            conn.execute(update(DOSSIER).where(DOSSIER.c.code == code).values(
                known_upstream=True, snapshot_state="sent", sent_hash=digest, attempts=0,
                last_error=None))
            conn.execute(update(CONFIG).where(CONFIG.c.id == 1)
                         .values(last_success_at=utcnow()))
        result.snapshots_sent += 1
        return True

    def _flush_steps(self, code: str, batch: list[tuple[str, dict[str, Any]]],
                     result: ForwardResult) -> bool:
        """Send ``batch`` (then empty it): ``sending`` committed first, the reply and ``sent``
        recorded together. False when the dossier is now blocked."""
        if not batch:
            return True
        ids = [mutation_id for mutation_id, _item in batch]
        items = [mapping.cased(item, self.profile) for _id, item in batch]
        batch.clear()
        self._set(STEP, STEP.c.mutation_id.in_(ids), state="sending")
        try:
            reply = self.transport.steps(items)
        except Down:
            self._set(STEP, STEP.c.mutation_id.in_(ids), state="pending")   # never left
            raise
        except InDoubt as exc:
            # Left ``sending``: the next look at this dossier holds them for a person (or, with
            # ``in_doubt_steps = "resend"``, sends them again).
            self._mark_in_doubt(ids, exc)
            raise Down(str(exc)) from exc
        crashpoint.crash_point("upstream_after_send")
        if reply.kind == PARTIAL:
            self._partial(ids, reply, result)
        if reply.kind != OK:
            self._set(STEP, STEP.c.mutation_id.in_(ids), state="dead")
            self._dead(code, "step", ",".join(ids), "rejected", reply.message, result)
            return False
        self._record_sent(ids, result)
        return True

    def _partial(self, ids: list[str], reply: Reply, result: ForwardResult) -> None:
        """A batch the upstream processed in part: its per-item results say which. The
        processed ones are recorded sent, the others wait (a retry); results that do not line
        up with the batch leave it all in doubt."""
        items = reply.result if isinstance(reply.result, list) else []
        if len(items) != len(ids) or not all(isinstance(i, dict) for i in items):
            raise Down(f"partial reply that does not say which: {reply.message}")
        done = [m for m, item in zip(ids, items, strict=True)
                if str(item.get("error_code", "")) in self.profile.success_codes]
        if done:
            self._record_sent(done, result)
        self._set(STEP, STEP.c.mutation_id.in_([m for m in ids if m not in done]),
                  state="pending")
        raise Down(f"partial: {len(done)}/{len(ids)} processed")

    def _record_sent(self, ids: list[str], result: ForwardResult, count: bool = True,
                     later: bool = False) -> None:
        """Record ``ids`` sent: now, or (``later``) with the next write, before any other call
        leaves (a crash before that leaves them ``sending``: in doubt, as it must)."""
        now = utcnow()

        def record(conn: Connection) -> None:
            conn.execute(update(STEP).where(STEP.c.mutation_id.in_(ids))
                         .values(state="sent", sent_at=now))
            conn.execute(update(CONFIG).where(CONFIG.c.id == 1).values(last_success_at=now))
        self._later.append(record)
        if not later:
            with self._begin():
                pass
        if count:
            result.steps_sent += len(ids)

    def _finish(self, codes: list[str]) -> None:
        """A dossier is delivered when its snapshot is and no step waits (recorded with the
        next write)."""
        if not codes:
            return
        now = utcnow()

        def record(conn: Connection) -> None:
            conn.execute(update(DOSSIER).where(DOSSIER.c.code.in_(codes),
                                               DOSSIER.c.snapshot_state == "sent",
                                               ~_has_open_steps(DOSSIER.c.code),
                                               ~_open_dead(DOSSIER.c.code))
                         .values(pending_since=None, delivered_at=now))
        self._later.append(record)

    def _dead(self, code: str, kind: str, item_id: str, reason_code: str, message: str,
              result: ForwardResult) -> None:
        with self._begin() as conn:
            conn.execute(insert(DEAD).values(dossier_code=code, kind=kind, item_id=item_id,
                                             reason_code=reason_code, message=message[:1000],
                                             created_at=utcnow()))
            if kind == "snapshot":
                conn.execute(update(DOSSIER).where(DOSSIER.c.code == code)
                             .values(snapshot_state="pending", last_error=message[:1000]))
            _audit(conn, "dead_letter", code, f"{kind} {reason_code}")
        result.dead_letter += 1
        result.details.append(f"{code}: {kind} {reason_code}")

    def _set(self, table: Any, where: Any, **values: Any) -> None:
        with self._begin() as conn:
            conn.execute(update(table).where(where).values(**values))

    def _note_error(self, error: str) -> None:
        with self._begin() as conn:
            conn.execute(update(CONFIG).where(CONFIG.c.id == 1)
                         .values(last_error=error[:500], last_error_at=utcnow()))

    # -- one forwarder at a time --
    def _lease(self) -> bool:
        """Take or renew the one-forwarder lease. A lease left by a process of this machine that
        is gone (kill -9, power cut) is taken over at once; another machine's waits it out."""
        now = utcnow()
        with self._begin() as conn:
            holder = conn.execute(select(CONFIG.c.lock_owner).where(CONFIG.c.id == 1)).scalar()
            dead = holder if holder and _gone(holder) else self.owner
            taken = conn.execute(update(CONFIG).where(
                CONFIG.c.id == 1,
                or_(CONFIG.c.lock_until.is_(None), CONFIG.c.lock_until < now,
                    CONFIG.c.lock_owner.in_([self.owner, dead])))
                .values(lock_owner=self.owner,
                        lock_until=now + timedelta(seconds=LEASE_S))).rowcount
        if taken:
            self._leased_at = self.clock()
        return bool(taken)

    def _renew(self) -> None:
        """Renew the lease when a quarter of it has gone (not on every group: a commit each)."""
        if self.clock() - self._leased_at < LEASE_S / 4:
            return
        if not self._lease():
            raise _Stop(EXIT_PARTIAL, "locked")

    def _release(self) -> None:
        with self._begin() as conn:
            conn.execute(update(CONFIG).where(CONFIG.c.id == 1,
                                              CONFIG.c.lock_owner == self.owner)
                         .values(lock_owner=None, lock_until=None))


def rating_key(month: str) -> str:
    """The dead-letter "code" of a month's aggregate (``retry``/``drop`` take it)."""
    return f"rating:{month}"


def _gone(owner: str) -> bool:
    """Whether ``owner`` (host:pid:nonce) was a process of this machine that no longer runs."""
    host, _sep, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


# ---- the operator's views and decisions ------------------------------------------------------
def status(engine: Engine) -> dict[str, Any]:
    """``district upstream status --json`` (the keys are a contract)."""
    d = DOSSIER
    now = utcnow()
    with engine.connect() as conn:
        cfg = conn.execute(select(CONFIG).where(CONFIG.c.id == 1)).mappings().first()
        demo_ok = bool(cfg and cfg["accept_demo"])
        waiting = and_(or_(d.c.snapshot_state != "sent", _has_open_steps(d.c.code)),
                       ~_open_dead(d.c.code))
        if not demo_ok:
            waiting = and_(waiting, d.c.demo.is_(False))
        pending = conn.execute(select(func.count()).select_from(d).where(waiting)).scalar_one()
        oldest = conn.execute(select(func.min(d.c.pending_since)).where(waiting)).scalar()
        delivered = conn.execute(select(func.count()).select_from(d).where(
            d.c.snapshot_state == "sent", ~_has_open_steps(d.c.code),
            ~_open_dead(d.c.code))).scalar_one()
        sent = conn.execute(select(func.count()).select_from(STEP)
                            .where(STEP.c.state == "sent")).scalar_one()
        dead = conn.execute(select(func.count()).select_from(DEAD)
                            .where(DEAD.c.resolved_at.is_(None))).scalar_one()
    if isinstance(oldest, str):   # SQLite aggregates return text
        oldest = datetime.fromisoformat(oldest)
    return {"profile": cfg["profile"] if cfg else None, "pending": int(pending),
            "delivered": int(delivered), "steps_sent": int(sent), "dead_letter": int(dead),
            "oldest_pending_age_s": int((now - oldest).total_seconds()) if oldest else None,
            "last_success_at": _iso(cfg["last_success_at"]) if cfg else None,
            "last_error": (cfg["last_error"] or None) if cfg else None}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def dead_letters(engine: Engine) -> list[dict[str, Any]]:
    """The open dead letters, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(DEAD).where(DEAD.c.resolved_at.is_(None))
                            .order_by(DEAD.c.id)).mappings().all()
    return [{"id": r["id"], "dossier_code": r["dossier_code"], "kind": r["kind"],
             "item_id": r["item_id"], "reason_code": r["reason_code"],
             "message": r["message"], "created_at": _iso(r["created_at"])} for r in rows]


def retry(engine: Engine, code: str | None) -> int:
    """Reopen the dead letters of ``code`` (all with None): their items are sent again on the
    next run. Returns how many were reopened; audited."""
    with engine.begin() as conn:
        letters = _open_letters(conn, code)
        for letter in letters:
            if letter.kind == "step":
                conn.execute(update(STEP).where(STEP.c.mutation_id.in_(
                    letter.item_id.split(","))).values(state="pending"))
            elif letter.kind == "rating":
                conn.execute(update(RATING).where(RATING.c.month == letter.item_id)
                             .values(state="pending"))
            else:
                conn.execute(update(DOSSIER).where(DOSSIER.c.code == letter.dossier_code)
                             .values(snapshot_state="pending"))
            _resolve(conn, letter.id, "retry", "")
            _audit(conn, "dead_letter_retry", letter.dossier_code,
                   f"{letter.kind} {letter.reason_code}")
    return len(letters)


def drop(engine: Engine, code: str, reason: str,
         current_hash: Callable[[Connection, str], str]) -> int:
    """Close the dead letters of ``code`` without sending: a rejected step is never sent
    (``dropped``); an in-doubt step the person found upstream counts as ``sent``; a snapshot is
    taken as delivered as it is now (a later change is sent again). Audited with the person's
    ``reason``."""
    with engine.begin() as conn:
        letters = _open_letters(conn, code)
        for letter in letters:
            if letter.kind == "step":
                found = letter.reason_code == "in_doubt"
                conn.execute(update(STEP).where(STEP.c.mutation_id.in_(
                    letter.item_id.split(","))).values(state="sent" if found else "dropped",
                                                       sent_at=utcnow() if found else None))
            elif letter.kind == "rating":
                # Taken as settled as it is now; a rating recorded later sends it again.
                conn.execute(update(RATING).where(RATING.c.month == letter.item_id)
                             .values(state="sent"))
            else:
                conn.execute(update(DOSSIER).where(DOSSIER.c.code == code).values(
                    snapshot_state="sent", sent_hash=current_hash(conn, code)))
            _resolve(conn, letter.id, "drop", reason)
            _audit(conn, "dead_letter_drop", code, f"{letter.kind} {letter.reason_code}: "
                   f"{reason[:200]}")
    return len(letters)


def _open_letters(conn: Connection, code: str | None) -> list[Any]:
    query = select(DEAD).where(DEAD.c.resolved_at.is_(None)).order_by(DEAD.c.id)
    if code is not None:
        query = query.where(DEAD.c.dossier_code == code)
    return list(conn.execute(query).all())


def _resolve(conn: Connection, letter_id: int, how: str, reason: str) -> None:
    conn.execute(update(DEAD).where(DEAD.c.id == letter_id).values(
        resolved_at=utcnow(), resolution=how, resolution_reason=reason[:1000]))


def snapshot_hash(config: UpstreamConfig,
                  source: Source = RELAY) -> Callable[[Connection, str], str]:
    """What :func:`drop` records as delivered: the hash the forwarder would compare."""
    def current(conn: Connection, code: str) -> str:
        hist = history(conn, code, source)
        if not hist.events or not hist.events[0].create:
            return ""
        return _hash(mapping.snapshot(hist, config.profile, config.creds.unit_code))
    return current
