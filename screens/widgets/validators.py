"""Textual validators that run the core's own checks as the officer types, and the parsers of
what is typed at the desk (dd/mm/yyyy dates, counts, amounts).

The rules stay in ``ccdesk.domain.validation``; this only adapts them to ``Input`` so the
message (in the user's language) appears under the field while typing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from textual.validation import ValidationResult, Validator

from ccdesk.domain.errors import CcdeskError, ValidationError


class CoreValidator(Validator):
    """Valid when ``check(value)`` returns; invalid with the error's translated message."""

    def __init__(self, check: Callable[[str], object]) -> None:
        super().__init__()
        self._check = check

    def validate(self, value: str) -> ValidationResult:
        try:
            self._check(value)
        except CcdeskError as err:
            # The field label is already on screen: show only what is wrong and what to do.
            field, err.field = err.field, None
            message = err.message()
            err.field = field
            return self.failure(message, value)
        return self.success()


def parse_day(text: str, field: str) -> date | None:
    """``dd/mm/yyyy`` as typed at the desk; empty is ``None``."""
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError as exc:
        raise ValidationError("tui.err.date_format", field=field) from exc


def parse_day_time(text: str, field: str) -> datetime:
    """``HH:MM dd/mm/yyyy`` (the order the forms print) or ``dd/mm/yyyy`` (then 17:00)."""
    text = " ".join(text.split())
    for pattern in ("%H:%M %d/%m/%Y", "%d/%m/%Y %H:%M"):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise ValidationError("tui.err.datetime_format", field=field)


def parse_count(text: str, field: str, low: int, high: int) -> int:
    """A whole number in ``[low, high]`` (sets, copies, pages, quantities)."""
    try:
        value = int(text.strip())
    except ValueError as exc:
        raise ValidationError("core.err.range", field=field, low=low, high=high) from exc
    if not low <= value <= high:
        raise ValidationError("core.err.range", field=field, low=low, high=high)
    return value


def parse_money(text: str, field: str) -> int | None:
    """An amount in đồng as typed ("50000", "50.000", "50.000 đ"); empty is ``None``."""
    digits = text.replace(".", "").replace(",", "").replace("đ", "").strip()
    if not digits:
        return None
    if not digits.isdigit():
        raise ValidationError("tui.err.money_format", field=field)
    return int(digits)
