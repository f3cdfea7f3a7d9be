"""igate codes: what an upstream that mints its own codes gave back (a desk forwarding itself)

``upstream_minted_code`` keeps, beside our dossier code, the code the upstream minted for it
(the ``igate`` profile: updates, steps and look-ups go under it); ``upstream_uploaded_file``
keeps the id the upstream gave each uploaded scan, so a file goes up once. docs/upstream.md,
"igate"; the tables are sync/upstream/igate_codes.py.

Revision ID: 0028_igate_codes
Revises: 0027_filing_close
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028_igate_codes"
down_revision = "0027_filing_close"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upstream_minted_code",
        sa.Column("code", sa.String(), primary_key=True),
        sa.Column("upstream_code", sa.String(), nullable=False),
        sa.Column("minted_at", sa.DateTime(), nullable=False))
    op.create_table(
        "upstream_uploaded_file",
        sa.Column("sha256", sa.String(), primary_key=True),
        sa.Column("upstream_id", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False))


def downgrade() -> None:
    op.drop_table("upstream_uploaded_file")
    op.drop_table("upstream_minted_code")
