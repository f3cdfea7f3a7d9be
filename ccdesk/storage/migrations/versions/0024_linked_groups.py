"""linked groups: one intake for several procedures of different agencies (liên thông)

``linked_group`` is one intake of a group of ``ccdesk/data/linked.toml`` (birth registration +
permanent residence + health-insurance card; death registration + removal of residence +
funeral allowance + burial cost support; Decree 63/2024/NĐ-CP): its code, the shared subject
(the child or the deceased), when it was received and the combined due time. Each member is an
ordinary dossier; ``linked_member`` ties it to its group with the agency that handles it. The
group's state is derived from its members' statuses, never stored (docs/linked.md).

Two new tables: no dossier row is rewritten, and a downgrade drops them (the member dossiers
stay, as ordinary dossiers).

Revision ID: 0024_linked_groups
Revises: 0023_verifications
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_linked_groups"
down_revision = "0023_verifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "linked_group",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(), nullable=False, unique=True),
        sa.Column("group_code", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("subject_name", sa.String(), nullable=False, server_default=""),
        sa.Column("subject_date", sa.Date(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("received_by", sa.Integer(), sa.ForeignKey("officer.id"), nullable=True),
    )
    op.create_table(
        "linked_member",
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossier.id"), primary_key=True),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("linked_group.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(), nullable=False),
    )
    op.create_index("ix_linked_member_group_id", "linked_member", ["group_id"])


def downgrade() -> None:
    op.drop_index("ix_linked_member_group_id", table_name="linked_member")
    op.drop_table("linked_member")
    op.drop_table("linked_group")
