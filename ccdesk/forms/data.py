"""What a form is filled from: the dossier's stored data only, gathered in one place.

Everything comes from what was recorded: the procedure *version* the dossier was received under
(never the current catalogue), its checklist, events, supplement rounds and extensions, the
office's headers and the officers who acted. Nothing here reads the clock, so the same dossier
always fills the same form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import select

from ccdesk.domain.lifecycle import Action
from ccdesk.models import (
    BookNumber,
    Dossier,
    DossierEvent,
    Extension,
    Office,
    Officer,
    ProcedureVersion,
)
from ccdesk.services.catalog import ProcedureInfo
from ccdesk.services.dossiers import DossierDetail
from ccdesk.services.numbering import Book, extension_ref, numbers_of
from ccdesk.services.recording import event_data

if TYPE_CHECKING:
    from ccdesk.services import Services


@dataclass(frozen=True)
class DossierRecord:
    """One dossier with everything its forms print."""

    office: Office
    detail: DossierDetail
    procedure: ProcedureInfo
    officers: dict[int, Officer]
    numbers: tuple[BookNumber, ...] = ()

    def book_number(self, book: Book, ref: str) -> BookNumber | None:
        """The number the dossier's ``ref`` was given in ``book``, if any (data recorded
        before books were kept has none, and another agency's letter is not in ours)."""
        return next((n for n in self.numbers if n.book == book.value and n.ref == ref), None)

    @property
    def register_row(self) -> BookNumber | None:
        return self.book_number(Book.REGISTER, "accept")

    def extension_number(self, seq: int) -> BookNumber | None:
        return self.book_number(Book.LETTER, extension_ref(seq))

    @property
    def dossier(self) -> Dossier:
        return self.detail.dossier

    def officer(self, officer_id: int | None) -> Officer | None:
        return self.officers.get(officer_id) if officer_id is not None else None

    def events(self, action: Action) -> list[DossierEvent]:
        return [e for e in self.detail.events if e.action == action.value]

    def last_event(self, action: Action) -> DossierEvent | None:
        found = self.events(action)
        return found[-1] if found else None

    def last_extension(self) -> Extension | None:
        return self.detail.extensions[-1] if self.detail.extensions else None

    @staticmethod
    def data_of(event: DossierEvent) -> dict[str, Any]:
        return event_data(event)


@dataclass(frozen=True)
class RegisterEntry:
    """A register line: the dossier and the name of the procedure it was received under."""

    dossier: Dossier
    procedure_name: str
    row: BookNumber | None = None      # the dossier's row in the register, once accepted


def load_record(services: Services, code: str) -> DossierRecord:
    """Gather a dossier's form data; ``NotFound`` (with the code) when there is no such dossier."""
    detail = services.dossiers.detail(code)
    procedure = services.dossiers.procedure_of(detail.dossier)
    officers = {o.id: o for o in services.officers.list(include_inactive=True)
                if o.id is not None}
    with services.db.session() as session:
        numbers = tuple(numbers_of(session, detail.dossier.id))
    return DossierRecord(office=services.office.get(), detail=detail, procedure=procedure,
                         officers=officers, numbers=numbers)


def load_register(services: Services, start: date, end: date) -> list[RegisterEntry]:
    """Dossiers received from ``start`` to ``end`` (both included), in order of receipt."""
    low = datetime.combine(start, time.min)
    high = datetime.combine(end + timedelta(days=1), time.min)
    with services.db.session() as session:
        rows = session.exec(
            select(Dossier, ProcedureVersion.name, BookNumber)
            .join(ProcedureVersion, Dossier.procedure_version_id == ProcedureVersion.id)
            .outerjoin(BookNumber, (BookNumber.dossier_id == Dossier.id)
                       & (BookNumber.book == Book.REGISTER.value)
                       & (BookNumber.ref == "accept"))
            .where(Dossier.received_at >= low, Dossier.received_at < high)
            .order_by(Dossier.received_at, Dossier.id)).all()
    return [RegisterEntry(dossier=d, procedure_name=name, row=row) for d, name, row in rows]
