"""Online filings come down: dossiers a citizen filed on the portal (``TrangThaiHoSo`` 1,
waiting for reception) fetched from the upstream, checked, stored per commune and handed to
the commune's desks through the relay's change feed (docs/upstream.md, "Online filings").

* **where the profile can**: the list service, its "since" key, the upstream's key of every
  field and the unit → commune table are profile settings (``filings_service`` … in
  sync/upstream/profiles.py); a profile without a list service (the façade) says so;
* **checked and bounded** like every value from outside (sync/replies.py's style): a reply
  of at most ``filings_max`` items, each a status-1 filing with a code of the upstream's
  pattern, a catalogue procedure code, bounded one-line texts and a real 14-digit date; an
  item that fails is counted and logged by rule only (it holds personal data);
* **idempotent by the portal's code**: a filing already stored is not stored or sent again; a
  filing stored without a commune (its unit unknown) is routed once the table knows it;
* **the existing feed**: a routed filing is one ``online_filing`` row of ``district_change``
  for its commune (no new transport), in the transaction that stores it;
* **closed when gone**: each run asks the look-up (``TraCuuHoSo``) about the filings still
  waiting, least recently asked first, at most ``filings_check_max``; one the portal no longer
  has at status 1 is closed (sync/server/filing_close.py): withdrawn, refused, cancelled or
  taken up elsewhere, one more feed row that takes it off the desks' lists.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine

from ccdesk.ids import uuid7
from sync.replies import FILING_KIND, FILING_LIMITS
from sync.server import filing_close
from sync.server.filing_close import FILING
from sync.server.models import DistrictChange
from sync.server.store import utcnow
from sync.upstream.mapping import CODE_CHARS, DATE_FORMAT, FOURTEEN
from sync.upstream.profiles import Profile
from sync.upstream.transport import OK, Down, DvcqgTransport, InDoubt, Reply, Transport

log = logging.getLogger("ccdesk.upstream.filings")

EXIT_OK, EXIT_NETWORK, EXIT_AUTH, EXIT_UNSUPPORTED, EXIT_INTERNAL = 0, 20, 30, 2, 50
C = DistrictChange.__table__
PROCEDURE = re.compile(r"\d\.\d{6}")
COMMUNE = re.compile(r"\d{1,10}")
WAITING = "1"

class FilingsRefused(Exception):
    """The upstream answered the list call with a refusal (its message, no personal data)."""


@dataclass
class FetchResult:
    """What one ``district filings fetch`` did; ``to_json`` is its ``--json`` output."""

    exit_code: int = EXIT_OK
    error: str = ""
    listed: int = 0          # items in the upstream's reply (at most filings_max read)
    new: int = 0             # stored for the first time
    sent_down: int = 0       # put in a commune's change feed this run
    known: int = 0           # already stored (idempotent by the portal's code)
    unrouted: int = 0        # waiting for a unit → commune entry (filing_units)
    rejected: int = 0        # failed the checks: counted, never stored
    checked: int = 0         # waiting filings asked about upstream (the look-up)
    closed: int = 0          # of them, no longer waiting on the portal: closed, sent down
    rules: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class BadFiling(ValueError):
    """One item that must not be stored; ``rule`` names the check (never a value)."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


# ---- reading one item -----------------------------------------------------------------------
def parse_filing(item: Any, profile: Profile) -> tuple[dict[str, str], str, str]:
    """``(wire filing, unit, filed stamp)`` of one upstream item, or :class:`BadFiling`."""
    if not isinstance(item, dict):
        raise BadFiling("not_an_object")
    keys = profile.filing_fields

    def value(name: str, *, required: bool = False) -> str:
        raw = item.get(profile.key(keys.get(name, ""))) if keys.get(name) else None
        if raw is None or raw == "":
            if required:
                raise BadFiling(f"{name}_missing")
            return ""
        if not isinstance(raw, str):
            raise BadFiling(f"{name}_not_text")
        limit = FILING_LIMITS.get(name, 300)
        if len(raw) > limit or any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
            raise BadFiling(f"{name}_too_long_or_control")
        return raw.strip()

    if value("status", required=True) != WAITING:
        raise BadFiling("not_waiting")
    code = value("portal_code", required=True)
    if not CODE_CHARS.fullmatch(code) or len(code) > profile.max_lengths.get("MaHoSo", 50):
        raise BadFiling("portal_code_format")
    procedure = value("procedure_code", required=True)
    if not PROCEDURE.fullmatch(procedure):
        raise BadFiling("procedure_code_format")
    stamp = value("filed_at")
    filed_at = ""
    if stamp:
        if not FOURTEEN.fullmatch(stamp):
            raise BadFiling("filed_at_format")
        try:
            filed_at = datetime.strptime(stamp, DATE_FORMAT).isoformat()
        except ValueError as exc:
            raise BadFiling("filed_at_format") from exc
    wire = {name: value(name) for name in ("procedure_name", "applicant_id_number",
                                           "applicant_phone", "applicant_email",
                                           "applicant_address", "summary")}
    wire.update(portal_code=code, procedure_code=procedure, filed_at=filed_at,
                applicant_name=value("applicant_name", required=True),
                channel=profile.filing_channel)
    return wire, value("unit"), stamp


def commune_of(unit: str, profile: Profile) -> str:
    """Our commune code for the filing's receiving unit; "" when it cannot be told."""
    commune = profile.filing_units.get(unit, unit)
    return commune if COMMUNE.fullmatch(commune) else ""


# ---- the list call --------------------------------------------------------------------------
def supports(profile: Profile, transport: Transport) -> bool:
    return bool(profile.filings_service) and isinstance(transport, DvcqgTransport)


def list_filings(transport: DvcqgTransport, profile: Profile, since: str) -> list[Any]:
    """The upstream's waiting filings (filed since ``since`` when given), at most
    ``filings_max`` of them (the rest come on the next run: ``since`` moves on)."""
    body = {profile.key(profile.filings_since_key): since} if since \
        and profile.filings_since_key else {}
    try:
        reply = transport.call(profile.filings_service, body)
    except InDoubt as exc:   # a list call stores nothing: asking again is safe
        raise Down(str(exc)) from exc
    if reply.kind != OK:
        raise FilingsRefused(reply.message)
    if reply.result is None:
        return []
    if not isinstance(reply.result, list):
        raise FilingsRefused("the list of filings is not a JSON array")
    return reply.result[:profile.filings_max]


# ---- storing and sending down ---------------------------------------------------------------
def since_stamp(engine: Engine) -> str:
    """Where the next list starts: the newest filing date stored (inclusive, so filings of the
    same second are listed again and found stored), or the oldest filing still without a
    commune, so that it is listed again once ``filing_units`` knows its unit."""
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(FILING.c.filed_stamp))).scalar() or ""
        unrouted = conn.execute(select(func.min(FILING.c.filed_stamp))
                                .where(FILING.c.commune_code == "")).scalar()
    return min(latest, unrouted) if unrouted is not None else latest


def store(engine: Engine, items: list[Any], profile: Profile) -> FetchResult:
    """Check every item, store the new ones and put the routable ones in their commune's
    change feed, in one transaction."""
    result = FetchResult(listed=len(items))
    parsed: dict[str, tuple[dict[str, str], str, str]] = {}
    for item in items:
        try:
            wire, unit, stamp = parse_filing(item, profile)
        except BadFiling as bad:
            result.rejected += 1
            result.rules[bad.rule] = result.rules.get(bad.rule, 0) + 1
            log.warning("online filing refused: rule %s", bad.rule)
            continue
        parsed.setdefault(wire["portal_code"], (wire, unit, stamp))
    now = utcnow()
    with engine.begin() as conn:
        stored = {r.portal_code: r for r in conn.execute(
            select(FILING.c.portal_code, FILING.c.commune_code)
            .where(FILING.c.portal_code.in_(list(parsed)))).all()} if parsed else {}
        for code, (wire, unit, stamp) in parsed.items():
            commune = commune_of(unit, profile)
            row = stored.get(code)
            if row is not None and row.commune_code:
                result.known += 1
                continue
            if row is not None and not commune:
                result.unrouted += 1
                continue
            data = orjson.dumps(wire).decode()
            seq = None
            if commune:
                seq = conn.execute(insert(C).values(
                    change_id=uuid7(), commune_code=commune, dossier_code=code,
                    kind=FILING_KIND, base_status="", status="", data=data, created_at=now)
                    .returning(C.c.seq)).scalar_one()
                result.sent_down += 1
            else:
                result.unrouted += 1
            if row is None:
                conn.execute(insert(FILING).values(
                    portal_code=code, commune_code=commune, unit=unit, filed_stamp=stamp,
                    data=data, change_seq=seq, fetched_at=now))
                result.new += 1
            else:
                conn.execute(update(FILING).where(FILING.c.portal_code == code).values(
                    commune_code=commune, change_seq=seq, data=data))
    return result


def fetch(engine: Engine, profile: Profile, transport: Transport) -> FetchResult:
    """One ``district filings fetch``: list, check, store, send down; then ask about the
    filings still waiting and close those the portal no longer has waiting."""
    if not supports(profile, transport):
        return FetchResult(exit_code=EXIT_UNSUPPORTED, error="not_supported_by_profile")
    assert isinstance(transport, DvcqgTransport)
    items = list_filings(transport, profile, since_stamp(engine))
    result = store(engine, items, profile)
    check_waiting(engine, profile, transport, result)
    return result


# ---- closing what the portal no longer has waiting ------------------------------------------
# TrangThaiHoSo of a filing no longer waiting -> why it is closed (docs/upstream.md, "Online
# filings", 8). Any other status: taken up in a system other than our desks'.
PORTAL_CLOSES = {"7": filing_close.WITHDRAWN, "3": filing_close.REFUSED}


def why_closed(reply: Reply | None, profile: Profile) -> str:
    """Why a waiting filing is closed, from the look-up's reply; "" while it still waits (or
    the upstream cannot say)."""
    if reply is None:
        return ""
    if not reply.result:
        return filing_close.CANCELLED       # the portal no longer has it
    if not isinstance(reply.result, dict):
        return ""
    status = reply.result.get(profile.key(profile.filing_fields.get("status", "TrangThaiHoSo")))
    if not isinstance(status, str) or status == WAITING:
        return ""
    return PORTAL_CLOSES.get(status, filing_close.ELSEWHERE)


def check_waiting(engine: Engine, profile: Profile, transport: Transport,
                  result: FetchResult) -> None:
    """Ask the look-up about the filings still waiting here (the least recently asked first,
    at most ``filings_check_max``) and close those the portal no longer has waiting. A
    filing a desk of ours took is already closed (at its push): never asked again."""
    if not profile.lookup_service or profile.filings_check_max <= 0:
        return
    with engine.connect() as conn:
        rows = conn.execute(select(FILING.c.portal_code).where(
            FILING.c.closed_why == "", FILING.c.commune_code != "")
            .order_by(FILING.c.checked_at.is_not(None), FILING.c.checked_at,
                      FILING.c.filed_stamp).limit(profile.filings_check_max)).scalars().all()
    for code in rows:
        try:
            why = why_closed(transport.look_up(code), profile)
        except Down as exc:   # the rest are asked next run; the fetch itself went through
            log.warning("look-up of waiting filings stopped: %s", exc)
            return
        result.checked += 1
        now = utcnow()
        with engine.begin() as conn:
            row = conn.execute(filing_close.locked_row(conn, code)).first()
            if row is None or row.closed_why:
                continue   # a desk's push took it meanwhile
            conn.execute(update(FILING).where(FILING.c.portal_code == code)
                         .values(checked_at=now))
            if why:
                filing_close.write_close(conn, row, {"why": why, "at": now.isoformat() + "Z"},
                                         now)
                result.closed += 1
                log.info("online filing closed upstream: %s", why)
