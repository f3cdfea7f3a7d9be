"""Closing an online filing at the relay (docs/upstream.md, "Online filings", 8): a portal
filing is taken by **one** dossier. When a desk's create carrying the filing's portal code is
applied, the filing is closed as ``received`` at that desk under that code; when the portal no
longer has it waiting (sync/upstream/filings.py asks), it is closed as ``withdrawn``,
``refused``, ``cancelled`` or ``elsewhere``. Either way one more ``online_filing`` row goes into
the commune's change feed: the filing's own data (so a desk that does not know the key still
reads it as a filing it already has) with a ``closed`` key, which a desk that knows it uses to
take the filing off its waiting list (sync/inbox.py).

A second create for a closed filing — two desks received it while apart, or one received it
after the citizen withdrew — is **rejected** with a message in Vietnamese and English: the
relay stores one dossier per filing, so the forwarder can never send two for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, Column, DateTime, Index, String, Table, Text, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Connection

from ccdesk.ids import uuid7
from sync.protocol import APPLIED, OP_CREATE, REJECTED
from sync.replies import FILING_KIND
from sync.server.basics import Device
from sync.server.models import DistrictChange, DistrictModel

C = DistrictChange.__table__
RECEIVED, WITHDRAWN, REFUSED, CANCELLED, ELSEWHERE = (
    "received", "withdrawn", "refused", "cancelled", "elsewhere")
CLOSE_REASONS = (RECEIVED, WITHDRAWN, REFUSED, CANCELLED, ELSEWHERE)
# Why a desk's create for a filing closed otherwise is rejected (the desk shows this text).
PORTAL_WORDS = {
    WITHDRAWN: ("công dân đã rút hồ sơ trên Cổng", "the citizen withdrew it on the portal"),
    REFUSED: ("đã bị từ chối trên Cổng", "it was refused on the portal"),
    CANCELLED: ("Cổng không còn hồ sơ này", "the portal no longer has it"),
    ELSEWHERE: ("đã được xử lý ở hệ thống khác", "it was taken up in another system"),
}

# One row per portal filing the relay has seen (migrations ``d0004_filings``; the close columns
# ``d0008_filing_close``).
FILING = Table(
    "upstream_filing", DistrictModel.metadata,
    Column("portal_code", String, primary_key=True),
    Column("commune_code", String, nullable=False),        # "" while its unit is unknown
    Column("unit", String, nullable=False),
    Column("filed_stamp", String, nullable=False),         # yyyyMMddHHmmss as the upstream sent
    Column("data", Text, nullable=False),                  # the checked filing, wire shape
    Column("change_seq", BigInteger, nullable=True),       # its row in the change feed
    Column("fetched_at", DateTime, nullable=False),
    # -- closed (d0008): why ("" = still waiting), by which dossier and desk, when
    Column("closed_why", String, nullable=False, server_default=""),
    Column("dossier_code", String, nullable=False, server_default=""),
    Column("device_id", String, nullable=False, server_default=""),
    Column("closed_at", DateTime, nullable=True),
    Column("checked_at", DateTime, nullable=True),         # last asked upstream (still waiting?)
    Index("ix_upstream_filing_commune", "commune_code"),
)


def closed_data(filing_data: str, closed: dict[str, str]) -> str:
    """The change feed's data of a close: the filing as first sent, plus ``closed``."""
    data = orjson.loads(filing_data)
    data["closed"] = closed
    return orjson.dumps(data).decode()


def write_close(conn: Connection, row: Any, closed: dict[str, str], now: datetime) -> int:
    """Record the close on the filing's row and put it in its commune's feed; the seq."""
    seq = int(conn.execute(insert(C).values(
        change_id=uuid7(), commune_code=row.commune_code, dossier_code=row.portal_code,
        kind=FILING_KIND, base_status="", status="", data=closed_data(row.data, closed),
        created_at=now).returning(C.c.seq)).scalar_one())
    conn.execute(sql_update(FILING).where(FILING.c.portal_code == row.portal_code).values(
        closed_why=closed["why"], dossier_code=closed.get("dossier_code", ""),
        device_id=closed.get("desk", ""), closed_at=now))
    return seq


def locked_row(conn: Connection, portal_code: str) -> Any:
    """The select of one filing's row, locked on PostgreSQL (a desk's push may close it)."""
    query = select(FILING).where(FILING.c.portal_code == portal_code)
    return query.with_for_update() if conn.dialect.name == "postgresql" else query


def portal_code_of(record: Any) -> str:
    """The portal code a create record's dossier carries ("" for a desk intake)."""
    if not isinstance(record, dict) or record.get("op") != OP_CREATE:
        return ""
    payload = record.get("payload")
    dossier = payload.get("dossier") if isinstance(payload, dict) else None
    code = dossier.get("portal_code") if isinstance(dossier, dict) else None
    return code if isinstance(code, str) else ""


def taken_message(portal_code: str, row: Any) -> str:
    """Why a second create for ``portal_code`` is refused, in Vietnamese and English."""
    if row.closed_why == RECEIVED:
        return (f"Hồ sơ nộp trực tuyến {portal_code} đã được tiếp nhận tại máy khác thành hồ "
                f"sơ {row.dossier_code} / online filing {portal_code} was already received at "
                f"another desk as dossier {row.dossier_code}")
    vi, en = PORTAL_WORDS.get(row.closed_why, PORTAL_WORDS[CANCELLED])
    return (f"Hồ sơ nộp trực tuyến {portal_code}: {vi} / online filing {portal_code}: {en}")


@dataclass
class PortalClaims:
    """The filings a batch's creates take, checked and closed in the batch's transaction. The
    filing rows are read locked (``FOR UPDATE`` on PostgreSQL), so two desks' batches taking
    the same filing queue and the second sees the first's close."""

    rows: dict[str, Any] = field(default_factory=dict)
    taken: dict[str, tuple[str, str]] = field(default_factory=dict)   # portal → (ours, status)

    @classmethod
    def load(cls, conn: Connection, records: list[Any]) -> PortalClaims:
        codes = sorted({c for c in map(portal_code_of, records) if c})
        if not codes:
            return cls()
        query = select(FILING).where(FILING.c.portal_code.in_(codes)) \
            .order_by(FILING.c.portal_code)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return cls({r.portal_code: r for r in conn.execute(query).all()})

    def check(self, record: Any, outcome: dict[str, Any],
              dossiers: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """``outcome`` of an applied create, or its rejection when its filing is closed (the
        in-memory dossier view the create made is dropped again)."""
        portal = portal_code_of(record)
        if not portal or outcome.get("result") != APPLIED:
            return outcome
        code = record["entity_id"]
        row = self.rows.get(portal)
        other = self.taken.get(portal)
        if other is not None and other[0] != code:
            row = _Closed(RECEIVED, other[0])
        elif row is None or not row.closed_why or row.dossier_code == code:
            # A filing this relay never sent has no row: it cannot be checked (a relay restored
            # from an older copy); it is taken as it comes.
            if row is not None and not row.closed_why:
                status = str(record["payload"]["dossier"].get("status", ""))
                self.taken[portal] = (code, status)
            return outcome
        dossiers.pop(code, None)
        return {"seq": record["seq"], "id": record["id"], "result": REJECTED,
                "code": "filing_taken", "message": taken_message(portal, row)}

    def write(self, conn: Connection, device: Device, records: list[Any],
              results: list[dict[str, Any]], now: datetime) -> None:
        """Close the filings whose creates were stored, one feed row each."""
        if not self.taken:
            return
        stored = {portal_code_of(r) for r, o in zip(records, results, strict=True)
                  if o.get("result") == APPLIED}
        for portal, (code, status) in self.taken.items():
            if portal in stored:
                write_close(conn, self.rows[portal], {
                    "why": RECEIVED, "dossier_code": code, "desk": device.device_id,
                    "status": status, "at": now.isoformat() + "Z"}, now)


@dataclass(frozen=True)
class _Closed:
    """A filing another create of the same batch took."""

    closed_why: str
    dossier_code: str
