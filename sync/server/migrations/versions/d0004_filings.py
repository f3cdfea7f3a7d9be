"""online filings: the portal filings (status 1) the relay fetched, per commune

Table of sync/upstream/filings.py (docs/upstream.md, "Online filings"): one row per portal
code (idempotent fetches), the commune it was routed to ("" while its unit is unknown) and
its row in the change feed that carries it to the commune's desks.

Revision ID: d0004_filings
Revises: d0003_upstream_forwarder
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d0004_filings"
down_revision = "d0003_upstream_forwarder"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upstream_filing",
        sa.Column("portal_code", sa.String(), primary_key=True),
        sa.Column("commune_code", sa.String(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("filed_stamp", sa.String(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(), nullable=False))
    op.create_index("ix_upstream_filing_commune", "upstream_filing", ["commune_code"])


def downgrade() -> None:
    op.drop_index("ix_upstream_filing_commune", table_name="upstream_filing")
    op.drop_table("upstream_filing")
