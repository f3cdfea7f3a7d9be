"""Migration 0023_verifications: up adds the catalogue's ``national_record`` and the queue, down
takes both away, and up again works (a desk rolled back by IT and moved forward again)."""

from __future__ import annotations

import sqlite3

from alembic import command

from ccdesk.services import Services
from ccdesk.storage.migrate import alembic_config


def columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in con.execute(f"PRAGMA table_info({table})")}


def test_up_down_up(desk: Services) -> None:
    path = desk.db.path
    with sqlite3.connect(path) as con:
        assert "national_record" in columns(con, "proceduredocument")
        assert {"dossier_id", "position", "record", "state", "attempts", "next_attempt_at",
                "supplement_round"} <= columns(con, "verification")
        marked = con.execute("SELECT count(*) FROM proceduredocument "
                             "WHERE national_record = 'identity'").fetchone()[0]
        assert marked >= 4   # the bundled catalogue's ID papers
    cfg = alembic_config(str(desk.db.engine.url))
    with desk.db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0019_search_orders")
    with sqlite3.connect(path) as con:
        assert "national_record" not in columns(con, "proceduredocument")
        assert columns(con, "verification") == set()
        assert con.execute("SELECT count(*) FROM proceduredocument").fetchone()[0] > 0
    with desk.db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0023_verifications")
    with sqlite3.connect(path) as con:
        assert "national_record" in columns(con, "proceduredocument")
        assert con.execute("SELECT count(*) FROM verification").fetchone()[0] == 0
