"""online filings: dossiers filed on the portal, waiting for reception at the desk

The relay hands a commune's online filings (status 1 on the portal) down through the change
feed (docs/upstream.md, "Online filings"); the desk keeps each one here until an officer
receives, asks for a supplement on, or refuses it through the ordinary intake screens. The
dossier that results keeps the portal's code beside ours (``dossier.portal_code``), so the
forwarder updates the portal's record instead of creating a second one.

Revision ID: 0017_online_filings
Revises: 0016_rating_queue
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_online_filings"
down_revision = "0016_rating_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "online_filing",
        sa.Column("portal_code", sa.String(), primary_key=True),
        sa.Column("procedure_code", sa.String(), nullable=False),
        sa.Column("procedure_name", sa.String(), nullable=False),
        sa.Column("applicant_name", sa.String(), nullable=False),
        sa.Column("applicant_id_number", sa.String(), nullable=False),
        sa.Column("applicant_phone", sa.String(), nullable=False),
        sa.Column("applicant_email", sa.String(), nullable=False),
        sa.Column("applicant_address", sa.String(), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("filed_at", sa.DateTime(), nullable=True),
        sa.Column("pulled_at", sa.DateTime(), nullable=False),
        sa.Column("change_id", sa.String(), nullable=False),
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_online_filing_waiting", "online_filing", ["dossier_code", "filed_at"])
    # Plain ALTER TABLE (as 0012): a constant default rewrites no dossier row.
    op.execute("ALTER TABLE dossier ADD COLUMN portal_code VARCHAR NOT NULL DEFAULT ''")


def downgrade() -> None:
    op.execute("ALTER TABLE dossier DROP COLUMN portal_code")
    op.drop_index("ix_online_filing_waiting", "online_filing")
    op.drop_table("online_filing")
