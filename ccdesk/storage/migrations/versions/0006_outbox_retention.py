"""outbox retention: when rows were acknowledged, which were pruned, and a guard on deleting

Acknowledged outbox rows are kept for a retention window (config ``sync_retention_days``) so a
district server restored from an older backup can be sent what it lost (SF-SERVER-RESTORED, docs/design/sync-failures.md), then
dropped (``ccdesk/storage/outbox/retention.py``). Three things make that safe:

* ``outbox_ack_log``: seq spans acknowledged together and when, in the server's clock as the
  desk measured it. The ``outbox_acked`` ranges cannot say when: neighbouring ranges merge into
  one (usually a single row for the whole table), which is what keeps every reader fast. A row
  is old enough to prune only when no span acknowledged inside the window covers it. The log
  grows by about one row per day of syncing (spans of the same day that follow one another are
  joined) and loses the rows older than the window after each complete prune.
* ``outbox_pruned``: the seq runs whose rows were deleted (consecutive seqs only, so a run's
  length is its row count). The desk still knows what it had sent after the rows are gone:
  ``max_acked_seq`` compares them with the server's ``received_through_seq``, and a run the
  server later loses is marked ``lost_at`` (it can no longer be re-sent; a person must know).
* ``outbox_keep_unacked``: a trigger refusing to delete an outbox row the server has not
  acknowledged (stored ``acked``, or stored ``pending`` inside an ``outbox_acked`` range). No code
  path, ours or a hand-typed ``DELETE``, can drop a row that is waiting, in flight or held.

Rows acknowledged before this migration have no ack time: the log starts with one span covering
every seq written so far, stamped now, so they are kept one full window from the upgrade.

Revision ID: 0006_outbox_retention
Revises: 0005_outbox_ranges
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_outbox_retention"
down_revision = "0005_outbox_ranges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_ack_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("acked_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "outbox_pruned",
        # INTEGER PRIMARY KEY: runs are found by seq with one rowid seek.
        sa.Column("first_seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("pruned_at", sa.DateTime(), nullable=False),
        sa.Column("lost_at", sa.DateTime(), nullable=True),
    )
    op.execute(
        "INSERT INTO outbox_ack_log (first_seq, last_seq, acked_at) "
        "SELECT 0, MAX(device_seq), strftime('%Y-%m-%d %H:%M:%f', 'now') FROM outbox "
        "HAVING MAX(device_seq) IS NOT NULL")
    op.execute(
        "CREATE TRIGGER outbox_keep_unacked BEFORE DELETE ON outbox WHEN NOT ("
        "old.state = 'acked' OR (old.state = 'pending' AND COALESCE((SELECT a.last_seq "
        "FROM outbox_acked a WHERE a.first_seq <= old.device_seq ORDER BY a.first_seq DESC "
        "LIMIT 1) >= old.device_seq, 0))) "
        "BEGIN SELECT RAISE(ABORT, 'only acknowledged outbox rows may be deleted'); END")


def downgrade() -> None:
    # Pruned rows cannot come back. 0005 counts only the rows it still has, which stays right;
    # what it loses is the record of seqs sent and pruned (max_acked_seq reads rows only).
    op.execute("DROP TRIGGER IF EXISTS outbox_keep_unacked")
    op.drop_table("outbox_pruned")
    op.drop_table("outbox_ack_log")
