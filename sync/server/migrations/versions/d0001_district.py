"""district server schema: devices, enrolment codes, batches, mutations, dossiers, changes

Revision ID: d0001_district
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d0001_district"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("district_meta",
                    sa.Column("key", sa.String(), primary_key=True),
                    sa.Column("value", sa.Text(), nullable=False))
    op.create_table("district_device",
                    sa.Column("device_id", sa.String(), primary_key=True),
                    sa.Column("commune_code", sa.String(), nullable=False, index=True),
                    sa.Column("public_key", sa.String(), nullable=False),
                    sa.Column("status", sa.String(), nullable=False),
                    sa.Column("demo", sa.Boolean(), nullable=False),
                    sa.Column("enrolled_at", sa.DateTime(), nullable=False),
                    sa.Column("revoked_at", sa.DateTime(), nullable=True),
                    sa.Column("last_push_at", sa.DateTime(), nullable=True))
    op.create_table("district_enroll_code",
                    sa.Column("code_hash", sa.String(), primary_key=True),
                    sa.Column("commune_code", sa.String(), nullable=False),
                    sa.Column("created_at", sa.DateTime(), nullable=False),
                    sa.Column("used_at", sa.DateTime(), nullable=True),
                    sa.Column("device_id", sa.String(), nullable=True),
                    sa.Column("public_key", sa.String(), nullable=True))
    op.create_table("district_batch",
                    sa.Column("batch_id", sa.String(), primary_key=True),
                    sa.Column("device_id", sa.String(), nullable=False, index=True),
                    sa.Column("digest", sa.String(), nullable=False),
                    sa.Column("result", sa.Text(), nullable=False),
                    sa.Column("received_at", sa.DateTime(), nullable=False))
    op.create_table("district_mutation",
                    sa.Column("mutation_id", sa.String(), primary_key=True),
                    sa.Column("device_id", sa.String(), nullable=False),
                    sa.Column("device_seq", sa.BigInteger(), nullable=False),
                    sa.Column("commune_code", sa.String(), nullable=False, index=True),
                    sa.Column("entity_id", sa.String(), nullable=False, index=True),
                    sa.Column("op", sa.String(), nullable=False),
                    sa.Column("payload", sa.Text(), nullable=False),
                    sa.Column("payload_sha256", sa.String(), nullable=False),
                    sa.Column("result", sa.String(), nullable=False),
                    sa.Column("batch_id", sa.String(), nullable=False),
                    sa.Column("received_at", sa.DateTime(), nullable=False))
    op.create_index("ix_district_mutation_device_seq", "district_mutation",
                    ["device_id", "device_seq"])
    op.create_table("district_dossier",
                    sa.Column("code", sa.String(), primary_key=True),
                    sa.Column("commune_code", sa.String(), nullable=False, index=True),
                    sa.Column("status", sa.String(), nullable=False),
                    sa.Column("last_device_seq", sa.BigInteger(), nullable=False),
                    sa.Column("district_seq", sa.BigInteger(), nullable=False),
                    sa.Column("events", sa.Integer(), nullable=False),
                    sa.Column("snapshot", sa.Text(), nullable=False),
                    sa.Column("updated_at", sa.DateTime(), nullable=False))
    op.create_table("district_change",
                    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
                    sa.Column("change_id", sa.String(), nullable=False, unique=True),
                    sa.Column("commune_code", sa.String(), nullable=False),
                    sa.Column("dossier_code", sa.String(), nullable=False),
                    sa.Column("kind", sa.String(), nullable=False),
                    sa.Column("base_status", sa.String(), nullable=False),
                    sa.Column("status", sa.String(), nullable=False),
                    sa.Column("data", sa.Text(), nullable=False),
                    sa.Column("created_at", sa.DateTime(), nullable=False))
    op.create_index("ix_district_change_commune_seq", "district_change",
                    ["commune_code", "seq"])


def downgrade() -> None:
    for table in ("district_change", "district_dossier", "district_mutation", "district_batch",
                  "district_enroll_code", "district_device", "district_meta"):
        op.drop_table(table)
