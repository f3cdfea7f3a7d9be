"""audit chain: each audit line carries a keyed hash of the previous line (tamper evidence)

``auditlog.chain`` = HMAC(desk key, previous line's chain, this line's content); see
``ccdesk/storage/auditchain.py``. ``audit_seal`` holds the key's public id (to tell a missing or
wrong key file from a broken chain) and the checkpoint up to which the chain was last verified,
so the start-up check reads only the lines written since.

Existing lines are chained here, in id order, with the key ``migrate`` passes in (the desk key
file, created before the upgrade when there is none).

Revision ID: 0008_audit_chain
Revises: 0007_sync_bounds
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from ccdesk.storage import auditchain
from ccdesk.storage.deskkey import key_id

revision = "0008_audit_chain"
down_revision = "0007_sync_bounds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    desk_key = context.config.attributes.get("desk_key")
    with op.batch_alter_table("auditlog") as batch:
        batch.add_column(sa.Column("chain", sa.String(), nullable=True))
    op.create_table(
        "audit_seal",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key_id", sa.String(), nullable=True),
        sa.Column("checked_id", sa.Integer(), nullable=False),
        sa.Column("checked_chain", sa.String(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
    )
    # batch_alter_table recreated auditlog: its guards went with the old table.
    for name in ("auditlog_no_update", "auditlog_no_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    connection = op.get_bind()
    key = auditchain.chain_key(desk_key)
    previous, last_id = auditchain.GENESIS, 0
    rows = connection.exec_driver_sql(
        f"SELECT {', '.join(auditchain.COLUMNS)} FROM auditlog ORDER BY id").fetchall()
    for row in rows:
        previous = auditchain.line_chain(key, previous, *row[1:8])
        last_id = row[0]
        connection.exec_driver_sql("UPDATE auditlog SET chain = ? WHERE id = ?",
                                   (previous, last_id))
    connection.exec_driver_sql(
        "INSERT INTO audit_seal (id, key_id, checked_id, checked_chain) VALUES (1, ?, ?, ?)",
        (key_id(desk_key) if desk_key else None, last_id, previous))
    for name in ("auditlog_no_update", "auditlog_no_delete"):
        op.execute(auditchain.TRIGGERS[name])


def downgrade() -> None:
    op.drop_table("audit_seal")
    for name in ("auditlog_no_update", "auditlog_no_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("auditlog") as batch:
        batch.drop_column("chain")
    for name in ("auditlog_no_update", "auditlog_no_delete"):
        op.execute(auditchain.TRIGGERS[name])
