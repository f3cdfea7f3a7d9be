"""Fixtures for reports and search: the core's real-file fixtures plus report helpers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from ccdesk.domain.reports import DossierFacts
from ccdesk.services import Services
from tests.services.conftest import (  # noqa: F401 - fixtures re-exported for this folder
    FakeClock,
    desk,
    lead,
    officer,
    services,
    set_up_office,
)


def load_facts(svc: Services) -> list[DossierFacts]:
    """Every dossier of the database, with its history, as the report's domain rules see it."""
    from ccdesk.services.reports import load_facts as read

    with svc.db.engine.connect() as conn:
        ids = [row[0] for row in conn.execute(text("SELECT id FROM dossier"))]
        return [facts for _, facts in read(conn, ids)]


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
