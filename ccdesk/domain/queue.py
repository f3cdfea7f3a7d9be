"""Queue tickets: what a ticket says and how long people waited (docs/tui.md, "Queue tickets").

Numbers restart at 1 each day in each procedure group (a field of the catalogue: Hộ tịch,
Chứng thực…). The wait is from the ticket's issue to its call at the desk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ccdesk.i18n import t

MAX_NUMBER = 999  # three digits on the ticket and the board


def ticket_label(number: int) -> str:
    """The number as printed and shown: three digits."""
    return f"{number:03d}"


@dataclass(frozen=True)
class Ticket:
    id: int
    day: date
    group: str
    number: int
    issued_at: datetime
    called_at: datetime | None = None

    @property
    def label(self) -> str:
        return ticket_label(self.number)


@dataclass(frozen=True)
class Serving:
    """One line of the "now serving" board: a group, its last called number, how many wait."""

    group: str
    number: int | None
    waiting: int

    @property
    def label(self) -> str:
        return ticket_label(self.number) if self.number is not None else "—"


@dataclass(frozen=True)
class QueueWait:
    """Waits of one procedure group in a period: tickets issued, called, mean and longest
    wait in minutes (None when none was called)."""

    group: str
    issued: int
    called: int
    mean_minutes: float | None
    max_minutes: float | None


def waits(rows: list[tuple[str, datetime, datetime | None]]) -> list[QueueWait]:
    """(group, issued at, called at) -> one :class:`QueueWait` per group, by group name."""
    by_group: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for group, issued, called in rows:
        by_group.setdefault(group, []).append((issued, called))
    result = []
    for group in sorted(by_group):
        minutes = [(called - issued).total_seconds() / 60
                   for issued, called in by_group[group] if called is not None]
        result.append(QueueWait(group, len(by_group[group]), len(minutes),
                                sum(minutes) / len(minutes) if minutes else None,
                                max(minutes) if minutes else None))
    return result


def _minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def wait_lines(rows: list[QueueWait]) -> list[str]:
    """One line per group in the user's language (the reports screen and ``ccdesk report``)."""
    return [t("queue.report.line", group=w.group, issued=w.issued, called=w.called,
              mean=_minutes(w.mean_minutes), longest=_minutes(w.max_minutes)) for w in rows]
