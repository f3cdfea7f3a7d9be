"""outbox ranges: batches in flight and acknowledged rows kept as seq ranges, not per row

Marking every row of a batch ``in_flight`` and then ``acked`` rewrote each outbox row twice; a
row carries its whole payload, so a push rewrote the table twice over (most of the desk's CPU
and disk traffic in a push). The happy path now writes one small row per batch instead:

* ``outbox_in_flight``: one row per batch on the wire (its seq range); deleted when the batch is
  settled, or at the next start after a crash (SF-STUCK-IN-FLIGHT: its rows are pending again).
* ``outbox_acked``: disjoint seq ranges; an outbox row whose stored state is ``pending`` and
  whose seq lies in one of them is acknowledged. Held rows (quarantined, conflict) keep their
  state per row, as before.

``outbox_state`` is the view with each row's effective state (for people and tests reading the
file with ``sqlite3``; the sync code counts by range, which stays fast at a million rows).

Revision ID: 0005_outbox_ranges
Revises: 0004_report_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_outbox_ranges"
down_revision = "0004_report_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_in_flight",
        sa.Column("batch_id", sa.String(), primary_key=True),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "outbox_acked",
        # INTEGER PRIMARY KEY: the range lookup for a seq is one rowid seek.
        sa.Column("first_seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("acked_at", sa.DateTime(), nullable=False),
    )
    op.execute(
        "CREATE VIEW outbox_state AS SELECT o.device_seq AS device_seq, "
        "o.mutation_id AS mutation_id, o.entity_id AS entity_id, o.op AS op, "
        "o.last_error AS last_error, CASE "
        "WHEN o.state <> 'pending' THEN o.state "
        "WHEN (SELECT a.last_seq FROM outbox_acked a WHERE a.first_seq <= o.device_seq "
        "      ORDER BY a.first_seq DESC LIMIT 1) >= o.device_seq THEN 'acked' "
        "WHEN EXISTS (SELECT 1 FROM outbox_in_flight f "
        "             WHERE o.device_seq BETWEEN f.first_seq AND f.last_seq) THEN 'in_flight' "
        "ELSE 'pending' END AS state FROM outbox o")


def downgrade() -> None:
    # Back to one state per row: what the ranges acknowledged becomes 'acked' again.
    op.execute(
        "UPDATE outbox SET state = 'acked' WHERE state = 'pending' AND (SELECT a.last_seq "
        "FROM outbox_acked a WHERE a.first_seq <= outbox.device_seq ORDER BY a.first_seq DESC "
        "LIMIT 1) >= device_seq")
    op.execute("DROP VIEW IF EXISTS outbox_state")
    op.drop_table("outbox_acked")
    op.drop_table("outbox_in_flight")
