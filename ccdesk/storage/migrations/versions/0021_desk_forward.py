"""desk forward: the upstream forwarder's tables in the desk's own database

A commune whose province hands it credentials directly, and that runs no relay, forwards its
dossiers to the upstream itself (``ccdesk sync forward``, docs/upstream.md "A desk without a
relay"). The forwarder's ledger is the relay's (sync/upstream/tables.py; relay migrations
d0003_upstream_forwarder and d0005_forward): the same tables, created here for the desk. The
upstream's password lives in ``upstream_config``, inside the desk's owner-only (and, with a desk
key, encrypted) database, never in a log.

Revision ID: 0021_desk_forward
Revises: 0017_online_filings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_desk_forward"
down_revision = "0017_online_filings"
branch_labels = None
depends_on = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "upstream_config",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("profile", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("unit_code", sa.String(), nullable=False),
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("password", sa.Text(), nullable=False),
        sa.Column("accept_demo", sa.Boolean(), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(), nullable=True),
        sa.Column("lock_owner", sa.String(), nullable=True),
        sa.Column("lock_until", sa.DateTime(), nullable=True))
    op.create_table(
        "upstream_dossier",
        sa.Column("code", sa.String(), primary_key=True),
        sa.Column("commune_code", sa.String(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("known_upstream", sa.Boolean(), nullable=False),
        sa.Column("snapshot_state", sa.String(), nullable=False),
        sa.Column("sent_hash", sa.String(), nullable=False),
        sa.Column("pending_since", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True))
    op.create_index("ix_upstream_dossier_state", "upstream_dossier", ["snapshot_state"])
    op.create_table(
        "upstream_step",
        sa.Column("mutation_id", sa.String(), primary_key=True),
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("sort_key", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True))
    op.create_index("ix_upstream_step_dossier", "upstream_step", ["dossier_code", "sort_key"])
    op.create_index("ix_upstream_step_state", "upstream_step", ["state"])
    op.create_table(
        "upstream_dead_letter",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("reason_code", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolution", sa.String(), nullable=True),
        sa.Column("resolution_reason", sa.Text(), nullable=True))
    op.create_index("ix_upstream_dead_open", "upstream_dead_letter",
                    ["dossier_code", "resolved_at"])
    op.create_table(
        "upstream_audit",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("dossier_code", sa.String(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False))
    op.create_table(
        "upstream_rating",
        sa.Column("month", sa.String(), primary_key=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("known_upstream", sa.Boolean(), nullable=False),
        sa.Column("sent_hash", sa.String(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    for table in ("upstream_rating", "upstream_audit", "upstream_dead_letter", "upstream_step",
                  "upstream_dossier", "upstream_config"):
        op.drop_table(table)
