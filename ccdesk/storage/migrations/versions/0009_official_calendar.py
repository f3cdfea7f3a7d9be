"""official calendar: editions of the official schedule of days off, imported or relayed

The official schedule (docs/calendar.md) ships inside the package and can be replaced without a
release: ``ccdesk calendar import FILE`` or the relay (change feed, USB bundle) store a newer
edition here, whole, as the TOML text that was validated, with its SHA-256 and who brought it.
Rows are only ever added; the newest ``version`` of the stored and bundled editions is in force.

Revision ID: 0009_official_calendar
Revises: 0008_audit_chain
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_official_calendar"
down_revision = "0008_audit_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "official_calendar",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.Date(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("imported_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_official_calendar_version", "official_calendar", ["version"])


def downgrade() -> None:
    op.drop_index("ix_official_calendar_version", "official_calendar")
    op.drop_table("official_calendar")
