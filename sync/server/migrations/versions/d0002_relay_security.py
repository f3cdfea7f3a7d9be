"""relay security: re-key codes, a nonce table against replay, what `district health` shows

Revision ID: d0002_relay_security
Revises: d0001_district
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d0002_relay_security"
down_revision = "d0001_district"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A code issued with ``--device`` may re-key that one existing device (same commune); any
    # other code only enrols a device id the server has never seen (docs/relay-security.md).
    with op.batch_alter_table("district_enroll_code") as batch:
        batch.add_column(sa.Column("rebind_device_id", sa.String(), nullable=True))
    op.create_table("district_nonce",
                    sa.Column("device_id", sa.String(), primary_key=True),
                    sa.Column("nonce", sa.String(), primary_key=True),
                    sa.Column("seen_at", sa.DateTime(), nullable=False))
    op.create_index("ix_district_nonce_seen_at", "district_nonce", ["seen_at"])
    # Seen by the relay on every signed request, and reported by the desk on /hello.
    with op.batch_alter_table("district_device") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("app_version", sa.String(), nullable=True))
        batch.add_column(sa.Column("clock_offset_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("desk_status", sa.Text(), nullable=True))
        batch.add_column(sa.Column("desk_status_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("district_device") as batch:
        for column in ("desk_status_at", "desk_status", "clock_offset_s", "app_version",
                       "last_seen_at"):
            batch.drop_column(column)
    op.drop_index("ix_district_nonce_seen_at", table_name="district_nonce")
    op.drop_table("district_nonce")
    with op.batch_alter_table("district_enroll_code") as batch:
        batch.drop_column("rebind_device_id")
