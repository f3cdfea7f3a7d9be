"""Online filings at the desk: dossiers a citizen filed on the portal, come down from the relay,
waiting for reception (docs/upstream.md, "Online filings"; docs/tui.md, "Online filings").

The screens list them and start an ordinary intake from one: this service turns a filing into
the intake's prefilled answers (procedure, applicant, channel, the portal's code), and the
intake service takes the filing in the transaction that creates the dossier (:func:`take`), so
a filing becomes exactly one dossier, which keeps the portal's code beside ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, func, select

from ccdesk.domain.errors import NotFound, ValidationError
from ccdesk.domain.vocabulary import Channel
from ccdesk.models import OnlineFiling
from ccdesk.services.context import DeskContext
from ccdesk.services.intake import Applicant, IntakeRequest

LIST_LIMIT = 200
# Why the portal closed a filing (the relay's words, sync/server/filing_close.py); another
# reason reads as "taken up elsewhere".
PORTAL_CLOSES = frozenset({"withdrawn", "refused", "cancelled", "elsewhere"})
CCCD = re.compile(r"\d{12}")


@dataclass(frozen=True)
class FilingIntake:
    """What an intake started from a filing begins with: the request (procedure, applicant,
    channel, portal code) and the applicant step's fields as text (what the officer sees
    typed, and may correct against the papers)."""

    procedure_code: str
    request: IntakeRequest
    fields: dict[str, str] = field(default_factory=dict)


def store_filing(session: Session, data: dict[str, str], change_id: str,
                 pulled_at: datetime) -> str:
    """Keep a filing from the change feed (already checked: sync/replies.py). A filing the
    desk already has is left as it is (a re-delivery, or one already received): ``seen``. A
    close (``closed_why``) takes it off the waiting list: ``closed``."""
    code = data["portal_code"]
    filing = session.get(OnlineFiling, code)
    if filing is None:
        filed = data.get("filed_at") or ""
        filing = OnlineFiling(
            portal_code=code, procedure_code=data["procedure_code"],
            procedure_name=data.get("procedure_name", ""),
            applicant_name=data["applicant_name"],
            applicant_id_number=data.get("applicant_id_number", ""),
            applicant_phone=data.get("applicant_phone", ""),
            applicant_email=data.get("applicant_email", ""),
            applicant_address=data.get("applicant_address", ""),
            summary=data.get("summary", ""), channel=data.get("channel") or Channel.ONLINE_FULL,
            filed_at=datetime.fromisoformat(filed).replace(tzinfo=None) if filed else None,
            pulled_at=pulled_at, change_id=change_id)
        outcome = "applied"
    elif not data.get("closed_why") or filing.closed_why:
        return "seen"
    if data.get("closed_why"):
        # Kept for the history, never listed as waiting again. One this desk took itself is
        # closed under its own code; one another desk took names that dossier and desk.
        filing.closed_why = data["closed_why"]
        filing.closed_dossier_code = data.get("closed_dossier_code", "")
        filing.closed_desk = data.get("closed_desk", "")
        filing.closed_at = pulled_at
        outcome = "closed"
    session.add(filing)
    return outcome


def closed_error(filing: OnlineFiling) -> ValidationError:
    """Why a closed filing cannot be received here, in the officer's words."""
    if filing.closed_why == "received":
        return ValidationError("core.err.filing_received_elsewhere", field="portal_code",
                               code=filing.portal_code, dossier=filing.closed_dossier_code,
                               desk=filing.closed_desk[:8])
    why = filing.closed_why if filing.closed_why in PORTAL_CLOSES else "elsewhere"
    return ValidationError(f"core.err.filing_{why}", field="portal_code",
                           code=filing.portal_code)


def take(session: Session, portal_code: str, dossier_code: str, now: datetime
         ) -> datetime | None:
    """Mark the filing received as ``dossier_code`` (inside the intake's transaction); a filing
    another intake already took, one closed at the relay, or one this desk never got, is
    refused. Returns when the citizen filed it on the portal (``NgayNopHoSo`` upstream)."""
    filing = session.get(OnlineFiling, portal_code)
    if filing is None:
        raise ValidationError("core.err.filing_unknown", field="portal_code", code=portal_code)
    if filing.dossier_code:
        raise ValidationError("core.err.filing_taken", field="portal_code", code=portal_code,
                              dossier=filing.dossier_code)
    if filing.closed_why:
        raise closed_error(filing)
    filing.dossier_code, filing.taken_at = dossier_code, now
    session.add(filing)
    return filing.filed_at


def pull_age_minutes(last_pull: datetime | None, now_utc: datetime) -> int | None:
    """Whole minutes since the last successful pull (None: never pulled)."""
    if last_pull is None:
        return None
    return max(0, int((now_utc - last_pull).total_seconds() // 60))


class OnlineFilingService:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    def waiting(self, limit: int = LIST_LIMIT) -> list[OnlineFiling]:
        """Filings not taken yet, oldest filed first (the order the citizens came in)."""
        with self.ctx.db.session() as session:
            rows = session.exec(select(OnlineFiling).where(OnlineFiling.dossier_code == "",
                                                           OnlineFiling.closed_why == "")
                                .order_by(col(OnlineFiling.filed_at), OnlineFiling.portal_code)
                                .limit(limit)).all()
        return list(rows)

    def count_waiting(self) -> int:
        with self.ctx.db.session() as session:
            return int(session.exec(select(func.count()).select_from(OnlineFiling)
                                    .where(OnlineFiling.dossier_code == "",
                                           OnlineFiling.closed_why == "")).one())

    def get(self, portal_code: str) -> OnlineFiling:
        with self.ctx.db.session() as session:
            filing = session.get(OnlineFiling, portal_code)
        if filing is None:
            raise NotFound("core.err.filing_unknown", field="portal_code", code=portal_code)
        return filing

    def start_intake(self, portal_code: str) -> FilingIntake:
        """The intake a waiting filing starts: the same request a desk intake builds, with the
        portal's answers in it. Taken already: the error names the dossier it became."""
        filing = self.get(portal_code)
        if filing.dossier_code:
            raise ValidationError("core.err.filing_taken", field="portal_code",
                                  code=portal_code, dossier=filing.dossier_code)
        if filing.closed_why:
            raise closed_error(filing)
        number = filing.applicant_id_number.replace(" ", "")
        id_type = "cccd" if CCCD.fullmatch(number) else ""
        applicant = Applicant(full_name=filing.applicant_name, id_number=number,
                              id_type=id_type or "cccd", phone=filing.applicant_phone,
                              email=filing.applicant_email, address=filing.applicant_address)
        channel = filing.channel if filing.channel in Channel.values() \
            else Channel.ONLINE_FULL.value
        request = IntakeRequest(procedure_code=filing.procedure_code, applicant=applicant,
                                channel=channel, portal_code=filing.portal_code)
        fields = {"full_name": filing.applicant_name, "id_number": number,
                  "phone": filing.applicant_phone, "email": filing.applicant_email,
                  "address": filing.applicant_address, "channel": channel}
        if id_type:
            fields["id_type"] = id_type
        return FilingIntake(filing.procedure_code, request, fields)
