"""attachments: digitised papers of a dossier, the files kept outside the database

``stored_file`` lists the files of the desk's content-addressed store
(ccdesk/storage/filestore.py) with how far each has travelled to the relay; ``attachment`` ties
a file to a dossier's checklist item, with where it came from (scanner, folder, USB stick, a
reused earlier result). docs/attachments.md.

Revision ID: 0022_attachments
Revises: 0019_search_orders
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_attachments"
down_revision = "0019_search_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_file",
        sa.Column("sha256", sa.String(), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("mime", sa.String(), nullable=False),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
        sa.Column("sent_bytes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dossier_id", sa.Integer(), sa.ForeignKey("dossier.id"), nullable=False),
        sa.Column("checklist_item_id", sa.Integer(), sa.ForeignKey("checklistitem.id"),
                  nullable=True),
        sa.Column("sha256", sa.String(), sa.ForeignKey("stored_file.sha256"), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("original_name", sa.String(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reused_from", sa.String(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("officer_id", sa.Integer(), sa.ForeignKey("officer.id"), nullable=True),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_attachment_dossier", "attachment", ["dossier_id", "checklist_item_id"])
    op.create_index("ix_attachment_sha256", "attachment", ["sha256"])
    # the files still to send to the relay, oldest first, without a scan of every file
    op.execute("CREATE INDEX ix_stored_file_unsent ON stored_file (stored_at) WHERE sent_at IS NULL")


def downgrade() -> None:
    op.execute("DROP INDEX ix_stored_file_unsent")
    op.drop_index("ix_attachment_sha256", "attachment")
    op.drop_index("ix_attachment_dossier", "attachment")
    op.drop_table("attachment")
    op.drop_table("stored_file")
