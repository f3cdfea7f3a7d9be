"""filing close: an online filing another desk received, or the portal closed, leaves the list

``online_filing`` gets why the relay closed it (``closed_why``: ``received`` at another desk —
with that dossier's code and the desk — or ``withdrawn``, ``refused``, ``cancelled``,
``elsewhere`` on the portal) and when this desk learnt it. A closed filing is kept (the history
of what came down) and is no longer listed as waiting (docs/upstream.md, "Online filings").

Revision ID: 0027_filing_close
Revises: 0026_search_prefix
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027_filing_close"
down_revision = "0026_search_prefix"
branch_labels = None
depends_on = None

COLUMNS = ("closed_why", "closed_dossier_code", "closed_desk")


def upgrade() -> None:
    # Plain ALTER TABLE (as 0017): a constant default rewrites no row.
    for name in COLUMNS:
        op.execute(f"ALTER TABLE online_filing ADD COLUMN {name} VARCHAR NOT NULL DEFAULT ''")
    op.add_column("online_filing", sa.Column("closed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    for name in ("closed_at", *reversed(COLUMNS)):
        op.execute(f"ALTER TABLE online_filing DROP COLUMN {name}")
