"""Numbers in the unit's books: the register's row for an accepted dossier and the numbers of
the letters the unit sends out (docs/forms.md, "Numbers on paper").

Each number is given inside the transaction that records the act (the surrounding
``BEGIN IMMEDIATE`` makes it atomic across processes, as for dossier codes), restarts each year
and is never reused: counters only go up.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, select

from ccdesk.models import BookNumber, CodeCounter


class Book(StrEnum):
    REGISTER = "register"       # Sổ theo dõi hồ sơ: one row per accepted dossier
    LETTER = "letter"           # the unit's outgoing letters: Mẫu 04 and 05


def issue(session: Session, book: Book, dossier_id: int, ref: str, at: datetime) -> BookNumber:
    """The number ``ref`` of dossier ``dossier_id`` gets in ``book`` (the same one if it was
    already given: recording an act twice never takes two numbers)."""
    given = number_of(session, book, dossier_id, ref)
    if given is not None:
        return given
    key = f"book:{book.value}:{at.year}"
    counter = session.get(CodeCounter, key) or CodeCounter(key=key, last_seq=0)
    counter.last_seq += 1
    session.add(counter)
    entry = BookNumber(book=book.value, year=at.year, number=counter.last_seq,
                       dossier_id=dossier_id, ref=ref, issued_at=at)
    session.add(entry)
    return entry


def number_of(session: Session, book: Book, dossier_id: int, ref: str) -> BookNumber | None:
    return session.exec(select(BookNumber).where(
        BookNumber.book == book.value, BookNumber.dossier_id == dossier_id,
        BookNumber.ref == ref)).first()


def numbers_of(session: Session, dossier_id: int) -> list[BookNumber]:
    """Every number a dossier was given, in the order they were given."""
    return list(session.exec(select(BookNumber).where(BookNumber.dossier_id == dossier_id)
                             .order_by(BookNumber.id)))


def extension_ref(seq: int) -> str:
    return f"extension:{seq}"
