"""files: the scans a desk's dossiers reference, received in resumable chunks

``district_file`` is one row per file (named by its SHA-256) a pushed dossier referenced, with
how many bytes of it have arrived and when it was complete and verified; ``district_file_ref``
ties a file to each dossier that lists it (the forwarder's file list). docs/sync.md, "Files".

Revision ID: d0007_files
Revises: d0005_forward
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d0007_files"
down_revision = "d0005_forward"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "district_file",
        sa.Column("sha256", sa.String(), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mime", sa.String(), nullable=False),
        sa.Column("received_bytes", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("complete_at", sa.DateTime(), nullable=True),
        sa.Column("commune_code", sa.String(), nullable=False),
        sa.Column("device_id", sa.String(), nullable=False),
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("referenced_at", sa.DateTime(), nullable=False))
    op.create_index("ix_district_file_device", "district_file", ["device_id", "complete_at"])
    op.create_table(
        "district_file_ref",
        sa.Column("dossier_code", sa.String(), primary_key=True),
        sa.Column("sha256", sa.String(), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False))
    op.create_index("ix_district_file_ref_sha256", "district_file_ref", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_district_file_ref_sha256", "district_file_ref")
    op.drop_table("district_file_ref")
    op.drop_index("ix_district_file_device", "district_file")
    op.drop_table("district_file")
