"""sync bounds: a pending enrolment kept beside the working one, and counters an upstream
poisoned brought back into range

* ``sync_state.pending_private_key`` / ``pending_url``: ``sync enroll`` keeps the key it is
  enrolling with here until the upstream confirms it, so a failed enrolment (a wrong address,
  a dead server) never throws away the key the desk syncs with (docs/sync.md, "Enrolment").
* Repair: before upstream values were checked (sync/replies.py), a reply could move the
  outbox counter to SQLite's last integer (every intake then failed with "disk is full") and a
  dossier code counter past 64 bits. Counters beyond the bounds sync/replies.py now enforces
  go back to the highest value this file really used. Restoring an older backup runs this
  migration again, so the repair survives a restore.

Revision ID: 0007_sync_bounds
Revises: 0006_outbox_retention
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_sync_bounds"
down_revision = "0006_outbox_retention"
branch_labels = None
depends_on = None

MAX_SEQ = 2 ** 53 - 1             # as sync/replies.py MAX_SEQ
MAX_CODE_COUNTER = 999_999_999    # as sync/replies.py MAX_CODE_COUNTER


def upgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.add_column(sa.Column("pending_private_key", sa.Text(), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("pending_url", sa.String(), nullable=False,
                                   server_default=""))
    conn = op.get_bind()
    conn.exec_driver_sql(
        "UPDATE sqlite_sequence SET seq = (SELECT COALESCE(MAX(device_seq), 0) FROM outbox) "
        f"WHERE name = 'outbox' AND seq > {MAX_SEQ}")
    _repair_code_counters(conn)


def _repair_code_counters(conn: sa.Connection) -> None:
    from ccdesk.domain.codes import split_code

    poisoned = conn.exec_driver_sql(
        f"SELECT key FROM codecounter WHERE last_seq > {MAX_CODE_COUNTER}").fetchall()
    if not poisoned:
        return
    office = conn.exec_driver_sql("SELECT code_pattern, agency_code, device_prefix FROM office "
                                  "WHERE id = 1").fetchone()
    used: dict[str, int] = {}
    if office is not None:
        for (code,) in conn.exec_driver_sql("SELECT code FROM dossier"):
            parts = split_code(office[0], office[1], office[2], code)
            if parts is not None and parts[1] <= MAX_CODE_COUNTER:
                used[parts[0]] = max(used.get(parts[0], 0), parts[1])
    for (key,) in poisoned:
        conn.exec_driver_sql("UPDATE codecounter SET last_seq = ? WHERE key = ?",
                             (used.get(key, 0), key))


def downgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.drop_column("pending_url")
        batch.drop_column("pending_private_key")
