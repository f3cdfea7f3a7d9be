"""Fixtures for reports and search: the core's real-file fixtures plus report helpers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from ccdesk.domain.reports import DossierFacts, ExtensionFacts
from ccdesk.services import Services
from tests.core.conftest import (  # noqa: F401 - fixtures re-exported for this folder
    FakeClock,
    desk,
    lead,
    officer,
    services,
    set_up_office,
)


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def load_facts(svc: Services) -> list[DossierFacts]:
    """Every dossier of the database as the report's domain rules see it."""
    with svc.db.engine.connect() as conn:
        exts: dict[int, list[ExtensionFacts]] = {}
        for row in conn.execute(text(
                "SELECT dossier_id, seq, at, original_due, new_due FROM extension")):
            exts.setdefault(row[0], []).append(
                ExtensionFacts(row[1], _dt(row[2]), _dt(row[3]), _dt(row[4])))
        rows = conn.execute(text(
            "SELECT id, status, channel, received_at, accepted_at, due_at, closed_at, "
            "paused_at, supplement_rounds, regime FROM dossier")).all()
    return [DossierFacts(status=r[1], channel=r[2], received_at=_dt(r[3]),
                         accepted_at=_dt(r[4]), due_at=_dt(r[5]), closed_at=_dt(r[6]),
                         paused_at=_dt(r[7]), supplement_rounds=r[8], regime=r[9],
                         extensions=tuple(exts.get(r[0], ()))) for r in rows]


def make_desk(root, now: datetime) -> tuple[Services, object]:  # noqa: ANN001
    """A set-up office with the bundled catalogue and one officer, for module-wide fixtures
    whose tests only read (building one costs about a second: migrations, argon2)."""
    from ccdesk.paths import Paths
    from ccdesk.services import SYSTEM

    where = Paths(data_dir=root / "data", config_dir=root / "config")
    svc = Services.open(where.default_db, where, clock=FakeClock(now))
    set_up_office(svc)
    svc.officers.add(SYSTEM, "lan", "Nguyễn Thị Lan", "officer", "1234")
    return svc, svc.officers.authenticate("lan", "1234")
