from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccdesk.domain.calendar import (
    CalendarOverrides,
    TimeKind,
    TimeRule,
    WorkCalendar,
)
from ccdesk.domain.errors import ValidationError

CAL = WorkCalendar()
SAME_DAY = TimeRule(TimeKind.SAME_DAY)


def days(n: int, verification: int = 0) -> TimeRule:
    return TimeRule(TimeKind.WORKING_DAYS, n, verification)


def test_national_holidays_and_weekends_are_not_working_days() -> None:
    assert not CAL.is_working_day(date(2026, 2, 17))   # Tết (lunar)
    assert not CAL.is_working_day(date(2026, 4, 27))   # Hùng Kings, observed
    assert not CAL.is_working_day(date(2026, 9, 2))    # National Day
    assert not CAL.is_working_day(date(2026, 11, 21))  # Saturday
    assert CAL.is_working_day(date(2026, 11, 23))      # Monday


def test_make_up_saturday_is_a_working_day() -> None:
    assert date(2026, 8, 22).weekday() == 5
    assert CAL.is_working_day(date(2026, 8, 22))
    assert date(2026, 8, 22) in {d.day for d in CAL.make_up_days(2026)}


def test_same_day_before_and_after_the_15_00_cutoff() -> None:
    assert CAL.due_at(datetime(2026, 11, 20, 14, 59), SAME_DAY) == datetime(2026, 11, 20, 17)
    # Friday after 15:00 -> next working day (Monday), at closing time
    assert CAL.due_at(datetime(2026, 11, 20, 15, 1), SAME_DAY) == datetime(2026, 11, 23, 17)
    # Saturday -> the next working day
    assert CAL.due_at(datetime(2026, 11, 21, 9, 0), SAME_DAY) == datetime(2026, 11, 23, 17)


def test_n_working_days_keep_the_clock_time_and_skip_holidays() -> None:
    # Received Fri 24/4/2026. Mon 27/4 (Hùng Kings observed), Thu 30/4 and Fri 1/5 are off:
    # day 1 = Tue 28/4, day 2 = Wed 29/4, day 3 = Mon 4/5.
    assert CAL.due_at(datetime(2026, 4, 24, 10, 30), days(3)) == datetime(2026, 5, 4, 10, 30)


def test_receipt_on_a_non_working_day_counts_from_the_next_working_day() -> None:
    saturday = datetime(2026, 11, 21, 10, 0)
    monday = datetime(2026, 11, 23, 10, 0)
    assert CAL.due_at(saturday, days(3)) == CAL.due_at(monday, days(3))


def test_verification_days_are_added_only_when_needed() -> None:
    rule = TimeRule(TimeKind.SAME_DAY, 0, verification_days=5)
    received = datetime(2026, 11, 23, 9, 0)
    assert CAL.due_at(received, rule) == datetime(2026, 11, 23, 17)
    # 24/11 is a day off: 25, 26, 27, 30/11, 1/12
    assert CAL.due_at(received, rule, needs_verification=True) == datetime(2026, 12, 1, 9, 0)


def test_overrides_add_days_off_and_working_days() -> None:
    overrides = CalendarOverrides.parse(
        '[[days_off]]\ndate = 2026-12-31\nname = "Nghỉ bù"\n'
        '[[working_days]]\ndate = 2026-12-26\nname = "Làm bù"\n')
    cal = WorkCalendar(overrides)
    assert not cal.is_working_day(date(2026, 12, 31))
    assert cal.is_working_day(date(2026, 12, 26))
    assert ("Nghỉ bù" in {d.name for d in cal.days_off(2026)})
    assert date(2026, 12, 26) in {d.day for d in cal.make_up_days(2026)}


@pytest.mark.parametrize(("text", "line"), [
    ('[[days_off]]\nname = "x"\n', 1),
    ('[[days_off]]\ndate = 2026-01-02\nname = "a"\n\n[[days_off]]\ndate = "soon"\nname = "b"\n', 6),
    ('[[working_days]]\ndate = 2026-01-03\nname = ""\n', 3),
    ('[[days_off]]\ndate = 2026-01-02\nname = "a"\n[[working_days]]\ndate = 2026-01-02\n'
     'name = "b"\n', 4),
])
def test_override_errors_name_file_and_line(text: str, line: int) -> None:
    with pytest.raises(ValidationError) as info:
        CalendarOverrides.parse(text, source="calendar.toml")
    assert info.value.params["line"] == line
    assert info.value.message("vi").startswith(f"calendar.toml, dòng {line}")


def test_override_syntax_error_is_a_clear_message() -> None:
    with pytest.raises(ValidationError) as info:
        CalendarOverrides.parse("[[days_off]\n", source="calendar.toml")
    assert "calendar.toml" in info.value.message("en")


def test_supplement_pause_moves_the_due_time_by_working_days_waited() -> None:
    due = datetime(2026, 11, 27, 9, 15)
    paused = datetime(2026, 11, 23, 10, 0)   # Monday
    resumed = datetime(2026, 11, 26, 8, 0)   # Thursday; 24/11 is a holiday: 25, 26 waited
    shifted = CAL.shift_for_pause(due, paused, resumed)
    assert shifted == datetime.combine(CAL.add_working_days(due.date(), 2), due.time())
    assert CAL.shift_for_pause(due, paused, paused + timedelta(hours=3)) == due


moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 1))


@settings(max_examples=200, deadline=None)
@given(received=moments, n=st.integers(0, 40))
def test_due_is_a_working_day_and_never_before_receipt(received: datetime, n: int) -> None:
    rule = days(n) if n else SAME_DAY
    due = CAL.due_at(received, rule)
    assert CAL.is_working_day(due.date())
    assert due >= received or due.date() > received.date()
    assert due.date() >= received.date()


@settings(max_examples=200, deadline=None)
@given(start=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 6, 1)),
       a=st.integers(0, 30), b=st.integers(0, 30))
def test_adding_days_one_at_a_time_equals_adding_at_once(start: date, a: int, b: int) -> None:
    assert CAL.add_working_days(CAL.add_working_days(start, a), b) == \
        CAL.add_working_days(start, a + b)
    one_by_one = start
    for _ in range(a):
        one_by_one = CAL.add_working_days(one_by_one, 1)
    assert one_by_one == CAL.add_working_days(start, a)
    assert CAL.working_days_between(start, CAL.add_working_days(start, a)) == a


@settings(max_examples=100, deadline=None)
@given(received=moments, n=st.integers(1, 30))
def test_more_days_never_give_an_earlier_due(received: datetime, n: int) -> None:
    assert CAL.due_at(received, days(n + 1)) > CAL.due_at(received, days(n))
