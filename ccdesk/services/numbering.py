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


# Bulk numbering for rows written without the services (demo seeding): the same order as the
# desk would have given, continuing each year's counter. Pure SQL: a seed writes a million rows.
_NUMBER_REGISTER = """
    INSERT INTO book_number (book, year, number, dossier_id, ref, issued_at)
    SELECT 'register', y, COALESCE((SELECT last_seq FROM codecounter
                                     WHERE key = 'book:register:' || y), 0)
                          + ROW_NUMBER() OVER (PARTITION BY y ORDER BY accepted_at, id),
           id, 'accept', accepted_at
    FROM (SELECT d.id, d.accepted_at, CAST(strftime('%Y', d.accepted_at) AS INTEGER) AS y
          FROM dossier d
          WHERE d.accepted_at IS NOT NULL AND NOT EXISTS (
              SELECT 1 FROM book_number b
              WHERE b.book = 'register' AND b.dossier_id = d.id AND b.ref = 'accept'))"""
_SYNC_COUNTERS = """
    INSERT INTO codecounter (key, last_seq)
    SELECT 'book:' || book || ':' || year, MAX(number) FROM book_number GROUP BY book, year
    ON CONFLICT(key) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)"""


def number_unnumbered(session: Session) -> None:
    """Give register rows to accepted dossiers that have none, in order of acceptance."""
    from sqlalchemy import text

    session.execute(text(_NUMBER_REGISTER))
    session.execute(text(_SYNC_COUNTERS))
