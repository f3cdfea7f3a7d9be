"""upstream forwarder: the monthly satisfaction aggregate's ledger (DongBoDanhGia)

Revision ID: d0005_forward
Revises: d0004_filings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d0005_forward"
down_revision = "d0004_filings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # RATING of sync/upstream/tables.py (docs/upstream.md, "Monthly satisfaction").
    op.create_table(
        "upstream_rating",
        sa.Column("month", sa.String(), primary_key=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("known_upstream", sa.Boolean(), nullable=False),
        sa.Column("sent_hash", sa.String(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_table("upstream_rating")
