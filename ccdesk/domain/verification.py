"""Checklist items confirmed in a national database instead of on paper (Resolution
66.7/2025/NQ-CP; docs/verification.md): which items may be, whose data is looked up, and when a
check that could not reach the database is tried again.

Pure: no database, no network. The queue is ``ccdesk/services/verification.py``; what goes on
the wire is ``ccdesk/domain/national_db.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ccdesk.domain.errors import ValidationError
from ccdesk.domain.vocabulary import ApplicantKind, NationalRecord
from ccdesk.retry import RetryPolicy

# The national population database is keyed by the 12-digit personal identification number
# (the CCCD's number); an old 9-digit CMND or a passport cannot be looked up there.
LOOKUP_ID_TYPE = "cccd"

# Back-off between attempts that did not reach the database (transport errors only): the first
# retry within a minute or two, then doubling, never more than three hours apart, so a desk
# offline for a day still tries a few times an hour once it is back (full jitter: ccdesk/retry.py).
RETRY = RetryPolicy(base=60.0, cap=3 * 3600.0, max_attempts=10_000)


@dataclass(frozen=True)
class Subject:
    """The person a dossier's papers concern: whose record the database is asked about."""

    id_number: str
    id_type: str
    full_name: str
    birth_date: date | None = None

    @property
    def can_be_looked_up(self) -> bool:
        return self.id_type == LOOKUP_ID_TYPE and len(self.id_number) == 12 \
            and self.id_number.isdigit()


def subject_of(*, applicant_kind: str, applicant_name: str, applicant_id_number: str,
               applicant_id_type: str, applicant_dob: date | None, owner_name: str = "",
               owner_id_number: str = "", owner_id_type: str = "cccd") -> Subject:
    """A representative hands in the represented person's papers (docs/design/domain-rules.md,
    "Applicants"): their record is the one to confirm. Otherwise the applicant's own."""
    if applicant_kind == ApplicantKind.REPRESENTATIVE and owner_id_number:
        return Subject(owner_id_number, owner_id_type, owner_name, None)
    return Subject(applicant_id_number, applicant_id_type, applicant_name, applicant_dob)


def check_mark(record: str, subject: Subject, *, position: int) -> NationalRecord:
    """Whether the checklist item at ``position`` may be marked "verify in the national
    database": only a document the catalogue says a database holds (``record``), and only when
    the person's 12-digit ID number is known. Raises a ``ValidationError`` at ``checklist``."""
    if not record:
        raise ValidationError("verification.err.not_verifiable", field="checklist",
                              position=position)
    if not subject.can_be_looked_up:
        raise ValidationError("verification.err.no_id_number", field="checklist",
                              position=position)
    return NationalRecord(record)


def next_attempt(now: datetime, attempts: int) -> datetime:
    """When to try again after ``attempts`` failures to reach the database."""
    delay = RETRY.delay(attempts)
    # whole seconds: the desk's clock (DeskContext.now) has no fractions to compare with
    return now.replace(microsecond=0) + timedelta(seconds=max(1, math.ceil(delay)))


def age_minutes(since: datetime, now: datetime) -> int:
    """Whole minutes since ``since`` (0 for a clock that went back)."""
    return max(0, int((now - since).total_seconds() // 60))
