"""sync client tables: sync_state, sync_attempt, sync_conflict, sync_inbox

Revision ID: 0003_sync
Revises: 0002_search
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sync"
down_revision = "0002_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("upstream_url", sa.String(), nullable=False, server_default=""),
        sa.Column("device_id", sa.String(), nullable=False, server_default=""),
        sa.Column("commune_code", sa.String(), nullable=False, server_default=""),
        sa.Column("private_key", sa.Text(), nullable=False, server_default=""),
        sa.Column("server_public_key", sa.String(), nullable=False, server_default=""),
        sa.Column("server_epoch", sa.String(), nullable=False, server_default=""),
        sa.Column("pull_cursor", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("acked_through_seq", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("clock_offset_s", sa.Float(), nullable=True),
        sa.Column("batch_bytes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("enrolled_at", sa.DateTime(), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=False, server_default=""),
        sa.Column("last_error_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "sync_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False, index=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("batch_id", sa.String(), nullable=False, server_default=""),
        sa.Column("first_seq", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_seq", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("records", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("bytes_raw", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("bytes_wire", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("http_status", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("outcome", sa.String(), nullable=False, server_default=""),
        sa.Column("rtt_ms", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "sync_conflict",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("side", sa.String(), nullable=False),
        sa.Column("dossier_code", sa.String(), nullable=False, index=True),
        sa.Column("mutation_id", sa.String(), nullable=False, server_default=""),
        sa.Column("change_id", sa.String(), nullable=False, server_default=""),
        sa.Column("local_status", sa.String(), nullable=False, server_default=""),
        sa.Column("upstream_status", sa.String(), nullable=False, server_default=""),
        sa.Column("detail", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolution", sa.String(), nullable=False, server_default=""),
    )
    op.create_table(
        "sync_inbox",
        sa.Column("change_id", sa.String(), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    # Pending rows are read in seq order on every push.
    op.create_index("ix_outbox_state_seq", "outbox", ["state", "device_seq"])


def downgrade() -> None:
    op.drop_index("ix_outbox_state_seq", table_name="outbox")
    for table in ("sync_inbox", "sync_conflict", "sync_attempt", "sync_state"):
        op.drop_table(table)
