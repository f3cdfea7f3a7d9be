from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from ccdesk.services import Services
from ccdesk.storage.migrate import HEAD_REVISION, current_revision, script_head


def test_pragmas_on_every_connection(services: Services) -> None:
    with services.db.engine.connect() as con:
        assert con.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert con.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert con.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert con.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_head_constant_matches_the_migration_scripts(services: Services) -> None:
    assert script_head() == HEAD_REVISION
    assert current_revision(services.db.path) == HEAD_REVISION


def test_private_file_modes(services: Services) -> None:
    assert services.db.path.stat().st_mode & 0o777 == 0o600
    assert services.db.path.parent.stat().st_mode & 0o777 == 0o700


def test_history_tables_are_append_only(desk: Services, officer) -> None:
    from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest

    request = IntakeRequest("2.000884", Applicant("Hồ Văn Lâm", "001085012345"),
                            [ChecklistEntry(1, True), ChecklistEntry(2, True)])
    desk.intake.submit(officer, request, Decision.ACCEPT)
    con = sqlite3.connect(desk.db.path)
    for sql in ("UPDATE dossierevent SET reason = 'x'", "DELETE FROM dossierevent",
                "UPDATE auditlog SET action = 'x'", "DELETE FROM auditlog",
                "UPDATE outbox SET payload = '{}'"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only|immutable"):
            con.execute(sql)
    con.execute("UPDATE outbox SET state = 'in_flight', attempts = 1")  # state may change
    con.commit()
    con.close()


def test_migration_backs_up_an_older_database_first(paths, clock) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    from ccdesk.storage.engine import make_engine
    from ccdesk.storage.migrate import alembic_config, migrate

    cfg = alembic_config("sqlite://")
    revisions = [r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions()]
    if len(revisions) < 2:
        pytest.skip("only one migration exists: nothing older to upgrade from")
    older = revisions[1]
    db = paths.data_dir / "old.sqlite3"
    paths.data_dir.mkdir(parents=True)
    engine = make_engine(db)
    cfg = alembic_config(str(engine.url))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, older)
    with sqlite3.connect(db) as con:
        con.execute("INSERT INTO office (id, governing_body, unit_name, agency_code, "
                    "device_prefix, place_name, regime, code_pattern, commune_code, device_id, "
                    "is_training, is_demo, setup_done) VALUES (1, 'UBND XÃ A', 'TT', 'X', '', "
                    "'A', '2025', '{agency}-{seq}', '', 'dev', 0, 0, 1)")
    backup = migrate(db, paths.backups_dir, engine)
    assert backup is not None and backup.exists()
    assert current_revision(backup) == older
    assert current_revision(db) == HEAD_REVISION
    with sqlite3.connect(backup) as con:
        assert con.execute("SELECT governing_body FROM office").fetchone() == ("UBND XÃ A",)
