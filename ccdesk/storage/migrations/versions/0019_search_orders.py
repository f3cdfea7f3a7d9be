"""search orders: every register order an index walk, with or without a text query

A text query in "due" order whose matches sit late in that order (the date part of codes typed
in: "2611" is every dossier received in November, and they fall due after all the others) cost
either a walk past every earlier dossier or a sort of all its matches. ``ix_dossier_block_due``
keeps the due order within each block of ``2 ** BLOCK_BITS`` consecutive ids, so the search
reads only the blocks the FTS index says hold matches, each in due order, and stops a block as
soon as nothing in it can make the page (``ccdesk/services/due_blocks.py``;
docs/design/search.md).

``ix_dossier_open_due`` holds the open dossiers (a few percent) in due order: the "overdue"
order's first part is a range of it. ``ix_dossier_status_due_key`` serves a status filter in
"due" order (the officer's list of dossiers waiting for a supplement, soonest first).

Building the three indexes reads the table three times: 25.8 s at a million dossiers on the
shared development machine at load 19 (2.7 s of CPU; 9.1, 6.3 and 10.3 s per index), a few
seconds on a quiet one; about a tenth of that at 100,000 (docs/reports.md).

Revision ID: 0019_search_orders
Revises: 0021_desk_forward
"""

from __future__ import annotations

from alembic import op

revision = "0019_search_orders"
down_revision = "0021_desk_forward"
branch_labels = None
depends_on = None

# Written exactly as ccdesk/services/due_blocks.py writes them, so SQLite uses the index; a
# migration must not import code that changes after it is written.
BLOCK_BITS = 13
DUE_KEY = "COALESCE(due_at, '9999-12-31 23:59:59')"


# ccdesk.domain.lifecycle.RUNNING_STATUSES, sorted, as ccdesk/services/search.py writes them:
# a partial index is used only when the query repeats its condition to the letter.
RUNNING = "'handed_off', 'in_progress', 'received', 'result_ready'"


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_dossier_block_due ON dossier(id >> {BLOCK_BITS}, {DUE_KEY}, id)")
    op.execute(f"CREATE INDEX ix_dossier_open_due ON dossier({DUE_KEY}, id) "
               f"WHERE status IN ({RUNNING})")
    op.execute(f"CREATE INDEX ix_dossier_status_due_key ON dossier(status, {DUE_KEY}, id)")


def downgrade() -> None:
    for name in ("ix_dossier_status_due_key", "ix_dossier_open_due", "ix_dossier_block_due"):
        op.execute(f"DROP INDEX IF EXISTS {name}")
