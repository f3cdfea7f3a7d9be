"""rating and queue: the citizen rates on a tablet or keypad; queue tickets for the waiting room

* ``rating.source``: who gave the rating, ``citizen`` (the tablet page of ``ccdesk serve
  --rating`` or the USB keypad) or ``officer`` (the officer's own 1/2/3, the fallback). Ratings
  recorded before this revision were all typed by the officer: they become ``officer``.
* ``rating_request``: the one question open for the dossier just returned at this desk, with the
  one-time token the rating page must send back (docs/tui.md, "The citizen rates").
* ``queue_ticket``: numbered tickets per procedure group and day, issued and called
  (docs/tui.md, "Queue tickets"); the reports read the wait from issued to called.

Revision ID: 0016_rating_queue
Revises: 0013_applicants
"""

from __future__ import annotations

from alembic import op

revision = "0016_rating_queue"
down_revision = "0013_applicants"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE (as 0010): a constant default rewrites nothing.
    op.execute("ALTER TABLE rating ADD COLUMN source VARCHAR NOT NULL DEFAULT 'officer'")
    op.execute("""CREATE TABLE rating_request (
        id INTEGER PRIMARY KEY,
        dossier_id INTEGER NOT NULL REFERENCES dossier(id),
        token VARCHAR NOT NULL UNIQUE,
        officer_id INTEGER REFERENCES officer(id),
        created_at DATETIME NOT NULL,
        expires_at DATETIME NOT NULL,
        closed_at DATETIME)""")
    op.execute("CREATE INDEX ix_rating_request_open ON rating_request(closed_at, id)")
    op.execute("""CREATE TABLE queue_ticket (
        id INTEGER PRIMARY KEY,
        day DATE NOT NULL,
        group_key VARCHAR NOT NULL,
        number INTEGER NOT NULL,
        issued_at DATETIME NOT NULL,
        called_at DATETIME,
        called_by INTEGER REFERENCES officer(id),
        UNIQUE (day, group_key, number))""")
    op.execute("CREATE INDEX ix_queue_ticket_waiting ON queue_ticket(day, called_at, id)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_queue_ticket_waiting")
    op.execute("DROP TABLE IF EXISTS queue_ticket")
    op.execute("DROP INDEX IF EXISTS ix_rating_request_open")
    op.execute("DROP TABLE IF EXISTS rating_request")
    op.execute("ALTER TABLE rating DROP COLUMN source")
