"""Realistic sample data for training sandboxes, demos and benchmarks (``ccdesk demo seed``).

Three parts: :mod:`.people` invents applicants, :mod:`.lifecycle` (with :mod:`.steps`) plays
each dossier's life through the real state machine, :mod:`.bulk` numbers and stores the
result. This module checks the request and runs them in one ``BEGIN IMMEDIATE`` transaction.

Outbox rows: a training sandbox never gets any (docs/sync.md). A demo database that is not a
training sandbox gets one row per change, exactly as real intake would write, because demo
databases are what sync tests and benchmarks push to ``--accept-demo`` upstreams; benchmarks
that only measure search may turn them off with ``outbox=False``.
"""

from __future__ import annotations

import random
import time as wallclock
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlmodel import Session

from ccdesk.demo.bulk import BulkWriter
from ccdesk.demo.lifecycle import Simulator, receipt_times
from ccdesk.domain.errors import CcdeskError
from ccdesk.domain.reports import ValidationError
from ccdesk.models import AuditLog, Dossier, Office, Officer, Procedure, ProcedureVersion
from ccdesk.services import numbering
from ccdesk.services.catalog import BUNDLED_CATALOG, ProcedureInfo, version_info
from ccdesk.services.context import SYSTEM
from ccdesk.storage.outbox.write import utcnow

if TYPE_CHECKING:
    from ccdesk.services import Services

__all__ = ["MAX_DOSSIERS", "RealDataPresent", "SeedReport", "seed_demo"]

MAX_DOSSIERS = 5_000_000
CHUNK = 5_000

DEMO_OFFICE = {"governing_body": "UBND XÃ AN BÌNH", "unit_name":
               "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG", "place_name": "An Bình",
               "agency_code": "000.00.00.H99"}


class RealDataPresent(CcdeskError):
    """The database holds real dossiers: seeding would mix invented people into them."""


@dataclass(frozen=True)
class SeedReport:
    """What one ``seed_demo`` run wrote."""

    dossiers: int
    events: int
    checklist_items: int
    ratings: int
    extensions: int
    supplement_rounds: int
    outbox_rows: int
    first_day: date
    last_day: date
    seconds: float
    by_status: dict[str, int] = field(default_factory=dict)


def seed_demo(services: Services, dossiers: int, days: int = 90, seed: int | None = None,
              force: bool = False, outbox: bool | None = None) -> SeedReport:
    """Fill the database with ``dossiers`` invented dossiers received over the last ``days`` days.

    Refuses (``RealDataPresent``) a database that already holds dossiers of a real desk unless
    ``force``; adds to an existing demo database freely. Marks the office as demo data.
    ``outbox=None`` writes outbox rows unless the database is a training sandbox.
    """
    if not 1 <= dossiers <= MAX_DOSSIERS:
        raise ValidationError("reports.err.range", field="dossiers", low=1, high=MAX_DOSSIERS)
    if not 1 <= days <= 3660:
        raise ValidationError("reports.err.range", field="days", low=1, high=3660)
    started = wallclock.perf_counter()
    _ensure_catalog(services)
    ctx = services.ctx
    rng = random.Random(seed)
    now = ctx.now()

    def work(session: Session) -> SeedReport:
        office = session.get(Office, 1)
        real = session.execute(select(func.count()).select_from(Dossier)).scalar_one()
        if real and not office.is_demo and not force:
            raise RealDataPresent("reports.err.real_data", count=real)
        for key, value in DEMO_OFFICE.items():
            if not getattr(office, key):
                setattr(office, key, value)
        office.is_demo = True
        session.add(office)
        session.flush()
        write_outbox = (not office.is_training) if outbox is None else (
            outbox and not office.is_training)
        sim = Simulator(rng, ctx.calendar, now, _procedures(session), _officer_ids(session),
                         office)
        writer = BulkWriter(session, office, write_outbox)
        times = receipt_times(rng, ctx.calendar, now, days, dossiers)
        for chunk in (times[i:i + CHUNK] for i in range(0, len(times), CHUNK)):
            writer.write([sim.play(at) for at in chunk])
        writer.finish()
        # Register rows as the desk would have given them (docs/forms.md, "Numbers on paper").
        numbering.number_unnumbered(session)
        session.add(AuditLog(at=utcnow(), officer_username=SYSTEM.username, action="demo.seed",
                             terminal=ctx.terminal,
                             detail=f"dossiers={dossiers} days={days} outbox={write_outbox}"))
        return SeedReport(dossiers=dossiers, events=writer.counts["events"],
                          checklist_items=writer.counts["checklist"],
                          ratings=writer.counts["ratings"],
                          extensions=writer.counts["extensions"],
                          supplement_rounds=writer.counts["supplements"],
                          outbox_rows=writer.counts["outbox"], first_day=times[0].date(),
                          last_day=times[-1].date(),
                          seconds=round(wallclock.perf_counter() - started, 2),
                          by_status=dict(sorted(writer.by_status.items())))

    return ctx.db.write(work)


def _ensure_catalog(services: Services) -> None:
    """Demo data uses the bundled catalogue when the database has none yet."""
    if services.catalog.count() == 0:
        services.catalog.import_file(BUNDLED_CATALOG, SYSTEM)


def _procedures(session: Session) -> list[ProcedureInfo]:
    rows = session.execute(select(Procedure).where(Procedure.active)
                           .where(Procedure.current_version_id.is_not(None))
                           .order_by(Procedure.code)).scalars().all()
    return [version_info(session, session.get(ProcedureVersion, p.current_version_id))
            for p in rows]


def _officer_ids(session: Session) -> list[int | None]:
    ids = session.execute(select(Officer.id).where(Officer.active).where(
        Officer.role.in_(("officer", "lead", "trainer")))).scalars().all()
    # No officer yet (a fresh sandbox): demo officers are not invented, because the first
    # officer of a database is the one set-up creates; dossiers then have no receiving officer.
    return list(ids) or [None]
