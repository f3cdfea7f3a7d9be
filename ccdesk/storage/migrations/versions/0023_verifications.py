"""verifications: checklist items confirmed in a national database instead of on paper

Resolution 66.7/2025/NQ-CP lets the desk check a paper's data in the national population
database (and the civil-status database) instead of asking for the paper. A catalogue document
says which record holds it (``proceduredocument.national_record``); an item the officer marks at
intake is queued in ``verification`` and checked when the desk is online (docs/verification.md).
The queue holds no personal data: the dossier says whose record it is.

Revision ID: 0023_verifications
Revises: 0022_attachments
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_verifications"
down_revision = "0022_attachments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE (as 0012): a constant default rewrites nothing.
    op.execute("ALTER TABLE proceduredocument ADD COLUMN national_record "
               "VARCHAR NOT NULL DEFAULT ''")
    op.create_table(
        "verification",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossier.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("record", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("officer_id", sa.Integer(), sa.ForeignKey("officer.id"), nullable=True),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("supplement_round", sa.Integer(), nullable=True),
        sa.UniqueConstraint("dossier_id", "position"))
    op.create_index("ix_verification_state_next", "verification", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_verification_state_next", table_name="verification")
    op.drop_table("verification")
    op.execute("ALTER TABLE proceduredocument DROP COLUMN national_record")
