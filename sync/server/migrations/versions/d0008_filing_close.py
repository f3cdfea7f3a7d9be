"""filing close: an online filing is closed once taken (or gone from the portal)

Adds to ``upstream_filing`` why it was closed (``closed_why``: "" while waiting, ``received``,
``withdrawn``, ``refused``, ``cancelled``, ``elsewhere``), by which dossier and desk, when, and
when the relay last asked the portal about it (sync/server/filing_close.py; docs/upstream.md,
"Online filings"). Filings a desk already received before this revision are closed here from
the dossiers the relay holds (``district_dossier.snapshot`` is the create payload, with the
portal's code), each with its ``online_filing`` close row in the commune's change feed, so the
other desks take them off their lists too.

Revision ID: d0008_filing_close
Revises: d0007_files
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import sqlalchemy as sa
from alembic import op

from ccdesk.ids import uuid7

revision = "d0008_filing_close"
down_revision = "d0007_files"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("upstream_filing") as batch:
        batch.add_column(sa.Column("closed_why", sa.String(), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("dossier_code", sa.String(), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("device_id", sa.String(), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("checked_at", sa.DateTime(), nullable=True))
    _close_taken(op.get_bind())


def _close_taken(conn: sa.Connection) -> None:
    """Close the filings dossiers already took (the create payload names the portal code)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    waiting = {r.portal_code: r for r in conn.execute(sa.text(
        "SELECT portal_code, commune_code, data FROM upstream_filing "
        "WHERE closed_why = '' AND commune_code <> ''"))}
    if not waiting:
        return
    rows = conn.execute(sa.text(
        "SELECT d.code, d.snapshot, m.device_id FROM district_dossier d "
        "LEFT JOIN district_mutation m ON m.entity_id = d.code AND m.op = 'create' "
        "WHERE d.snapshot LIKE '%portal_code%' ORDER BY d.code"))
    for code, snapshot, device in rows:
        try:
            dossier = orjson.loads(snapshot).get("dossier") or {}
        except (orjson.JSONDecodeError, AttributeError):
            continue
        filing = waiting.pop(str(dossier.get("portal_code") or ""), None)
        if filing is None:
            continue
        data = orjson.loads(filing.data)
        data["closed"] = {"why": "received", "dossier_code": code, "desk": device or "",
                          "status": str(dossier.get("status", "")),
                          "at": now.isoformat() + "Z"}
        conn.execute(sa.text(
            "INSERT INTO district_change (change_id, commune_code, dossier_code, kind, "
            "base_status, status, data, created_at) VALUES (:id, :commune, :portal, "
            "'online_filing', '', '', :data, :now)"),
            {"id": uuid7(), "commune": filing.commune_code, "portal": filing.portal_code,
             "data": orjson.dumps(data).decode(), "now": now})
        conn.execute(sa.text(
            "UPDATE upstream_filing SET closed_why = 'received', dossier_code = :code, "
            "device_id = :device, closed_at = :now WHERE portal_code = :portal"),
            {"code": code, "device": device or "", "now": now, "portal": filing.portal_code})


def downgrade() -> None:
    with op.batch_alter_table("upstream_filing") as batch:
        for name in ("checked_at", "closed_at", "device_id", "dossier_code", "closed_why"):
            batch.drop_column(name)
