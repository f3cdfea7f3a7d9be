"""report index: the II.06a columns of every dossier in (procedure, field) order

The period report counts every dossier a period touches, grouped by procedure and field. This
covering index lets SQLite read those columns from one compact index in group order: no table
look-ups (a year of a busy desk is most of the table) and no sort of a million rows for the
GROUP BY, which together cost ~10 s at a million dossiers. The channel split and the fees
come from the same pass.

Revision ID: 0004_report_index
Revises: 0003_sync
"""

from __future__ import annotations

from alembic import op

revision = "0004_report_index"
down_revision = "0003_sync"
branch_labels = None
depends_on = None

COLUMNS = ("procedure_code", "field", "received_at", "closed_at", "status", "channel",
           "accepted_at", "due_at", "paused_at", "extensions", "supplement_rounds", "regime",
           "fee_amount")


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_dossier_report ON dossier({', '.join(COLUMNS)})")
    # Satisfaction: the ratings of a period by officer and level, read from the index alone.
    op.execute("CREATE INDEX ix_rating_report ON rating(at, officer_id, level)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_rating_report")
    op.execute("DROP INDEX IF EXISTS ix_dossier_report")
