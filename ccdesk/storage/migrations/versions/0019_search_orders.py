"""search orders: the register's "due" order walked block by block

A text query in "due" order whose matches sit late in that order (the date part of codes typed
in: "2611" is every dossier received in November, and they fall due after all the others) cost
either a walk past every earlier dossier or a sort of all its matches. ``ix_dossier_block_due``
keeps the due order within each block of ``2 ** BLOCK_BITS`` consecutive ids, so the search
reads only the blocks the FTS index says hold matches, each in due order, and stops a block as
soon as nothing in it can make the page (``ccdesk/services/due_blocks.py``;
docs/design/search.md).

Building the index reads the table once: about X s at a million dossiers (measured on the
benchmark database; the figure is in the commit that added it).

Revision ID: 0019_search_orders
Revises: 0012_applicant_card
"""

from __future__ import annotations

from alembic import op

revision = "0019_search_orders"
down_revision = "0012_applicant_card"
branch_labels = None
depends_on = None

# Written exactly as ccdesk/services/due_blocks.py writes them, so SQLite uses the index; a
# migration must not import code that changes after it is written.
BLOCK_BITS = 13
DUE_KEY = "COALESCE(due_at, '9999-12-31 23:59:59')"


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_dossier_block_due ON dossier(id >> {BLOCK_BITS}, {DUE_KEY}, id)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_dossier_block_due")
