"""Which dossiers have work, and what each of a group sends (docs/upstream.md, "Per-dossier
order" and "Groups"): the work queue is read in code order, a chunk at a time; a group's
histories, delivery rows and open ledger rows come in one read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection

from sync.upstream import mapping
from sync.upstream.ledger import OPEN_STEP, digest, has_open_steps, open_dead
from sync.upstream.outcome import ForwardResult
from sync.upstream.profiles import Profile
from sync.upstream.records import Recorder
from sync.upstream.source import Source
from sync.upstream.tables import DOSSIER, STEP

WORK_CHUNK = 200


@dataclass
class Plan:
    """What one dossier of a group sends: its snapshot (None: unchanged) and waiting steps."""

    code: str
    known: bool
    snap: dict[str, Any] | None
    digest: str
    items: list[tuple[str, dict[str, Any]]]


class WorkQueue:
    """One pass's dossiers with work, in code order, each at most once: read
    :data:`WORK_CHUNK` at a time, taken a group at a time (by the forwarder's read-ahead
    thread only)."""

    def __init__(self, recorder: Recorder, accept_demo: bool, result: ForwardResult) -> None:
        self.recorder, self.accept_demo, self.result = recorder, accept_demo, result
        self._codes: list[str] = []
        self._after = ""
        self._done = False

    def take(self, size: int) -> list[str]:
        while len(self._codes) < size and not self._done:
            # The recorded-later writes concern dossiers before ``_after``: no flush needed.
            with self.recorder.read(flush=False) as conn:
                more, held = candidates(conn, self._after, self.accept_demo, WORK_CHUNK)
            if held is not None:
                self.result.demo_held = held
            self._codes += more
            self._after = more[-1] if more else self._after
            self._done = len(more) < WORK_CHUNK
        group, self._codes = self._codes[:size], self._codes[size:]
        return group


def candidates(conn: Connection, after: str, accept_demo: bool,
               limit: int) -> tuple[list[str], int | None]:
    """Up to ``limit`` dossiers after ``after`` with something to send and no open dead
    letter, and (when demo data stays home) how many demo dossiers are held."""
    d = DOSSIER
    query = (select(d.c.code)
             .where(or_(d.c.snapshot_state != "sent", has_open_steps(d.c.code)),
                    ~open_dead(d.c.code), d.c.code > after)
             .order_by(d.c.code).limit(limit))
    held = None
    if not accept_demo:
        held = conn.execute(
            select(func.count()).select_from(d).where(d.c.demo.is_(True))).scalar_one()
        query = query.where(d.c.demo.is_(False))
    return list(conn.execute(query).scalars()), held


def read_group(conn: Connection, source: Source, profile: Profile, unit_code: str,
               codes: list[str]) -> tuple[list[Plan], list[str]]:
    """The plans of the dossiers that may go grouped, and the codes that must go alone: in
    doubt, more than one batch of steps waiting, or failing pre-flight."""
    plans, alone = [], []
    histories = source.histories(conn, codes)
    rows = {r["code"]: r for r in conn.execute(
        select(DOSSIER).where(DOSSIER.c.code.in_(codes))).mappings()}
    ledgers: dict[str, list[tuple[str, str]]] = {code: [] for code in codes}
    for r in conn.execute(select(STEP.c.dossier_code, STEP.c.mutation_id, STEP.c.state)
                          .where(STEP.c.dossier_code.in_(codes), STEP.c.state.in_(OPEN_STEP))
                          .order_by(STEP.c.dossier_code, STEP.c.sort_key)):
        ledgers[r.dossier_code].append((r.mutation_id, r.state))
    for code in codes:
        hist, row, ledger = histories[code], rows[code], ledgers[code]
        if not hist.events or not hist.events[0].create:
            continue
        if row["snapshot_state"] == "sending" or len(ledger) > profile.steps_batch \
                or any(state == "sending" for _m, state in ledger):
            alone.append(code)
            continue
        snap = mapping.snapshot(hist, profile, unit_code)
        snap_digest = digest(snap)
        by_id = dict(mapping.steps(hist, profile))
        items = [(m, by_id[m]) for m, _state in ledger]
        need = row["snapshot_state"] != "sent" or row["sent_hash"] != snap_digest
        try:
            if need:
                mapping.validate_snapshot(snap, profile)
            for _m, item in items:
                mapping.validate_step(item, profile)
        except mapping.MappingError:
            alone.append(code)
            continue
        known = mapping.known_upstream(bool(row["known_upstream"]), hist)
        plans.append(Plan(code, known, snap if need else None, snap_digest, items))
    return plans, alone
