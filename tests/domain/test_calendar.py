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
    assert date(2026, 1, 10) in {d.day for d in CAL.make_up_days(2026)}


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


def test_receipt_on_a_non_working_day_counts_from_the_next_opening() -> None:
    saturday = datetime(2026, 11, 21, 10, 0)
    monday_opening = datetime(2026, 11, 23, 7, 30)
    assert CAL.due_at(saturday, days(3)) == CAL.due_at(monday_opening, days(3))
    assert CAL.due_at(saturday, days(3)) == datetime(2026, 11, 27, 7, 30)  # 24/11 off


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


def inside_office_hours(at: datetime) -> bool:
    hours = CAL.hours
    return (hours.morning_start <= at.time() <= hours.morning_end
            or hours.afternoon_start <= at.time() <= hours.afternoon_end)


@settings(max_examples=300, deadline=None)
@given(received=moments, n=st.integers(0, 40))
def test_due_is_a_working_day_inside_office_hours_never_before_receipt(received: datetime,
                                                                      n: int) -> None:
    rule = days(n) if n else SAME_DAY
    due = CAL.due_at(received, rule)
    assert CAL.is_working_day(due.date())
    assert inside_office_hours(due), due
    assert due >= received


@settings(max_examples=300, deadline=None)
@given(received=moments)
def test_a_receipt_counts_at_the_next_opening_when_outside_office_hours(
        received: datetime) -> None:
    counted = CAL.counted_receipt(received)
    assert counted >= received
    assert CAL.is_working_day(counted.date()) and CAL.hours.is_open(counted.time())
    if CAL.is_working_day(received.date()) and CAL.hours.is_open(received.time()):
        assert counted == received
    else:  # the first opening after it: no open minute lies between
        assert counted.time() in (CAL.hours.morning_start, CAL.hours.afternoon_start)


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


# --- The official schedule (ccdesk/data/official_calendar.toml) --------------------------------

def test_new_year_2026_swap_friday_off_and_saturday_10_01_worked() -> None:
    assert not CAL.is_working_day(date(2026, 1, 2))    # Fri, dispatch 12729/VPCP-KGVX
    assert CAL.is_working_day(date(2026, 1, 10))       # Sat, the make-up day
    # Tue 30/12/2025 10:00 + 3 working days: 31/12, (1/1, 2/1 off, 3–4/1 weekend) 5/1, 6/1
    assert CAL.due_at(datetime(2025, 12, 30, 10), days(3)) == datetime(2026, 1, 6, 10)


def test_the_package_alone_got_new_year_2026_wrong() -> None:
    bare = WorkCalendar(official=None)
    assert bare.due_at(datetime(2025, 12, 30, 10), days(3)) == datetime(2026, 1, 5, 10)


def test_make_up_saturday_10_01_2026_counts_as_a_working_day() -> None:
    # Received Fri 9/1/2026 09:00, 1 working day: Sat 10/1 is worked, so due on Sat 10/1.
    assert CAL.due_at(datetime(2026, 1, 9, 9), days(1)) == datetime(2026, 1, 10, 9)
    # and a receipt on that Saturday is a receipt on a working day
    assert CAL.due_at(datetime(2026, 1, 10, 9, 0), SAME_DAY) == datetime(2026, 1, 10, 17)


def test_tet_2026_is_off_from_16_to_20_february() -> None:
    off = [date(2026, 2, d) for d in range(16, 21)]
    assert not any(CAL.is_working_day(d) for d in off)
    assert CAL.is_working_day(date(2026, 2, 13)) and CAL.is_working_day(date(2026, 2, 23))
    # Fri 13/2 10:00 + 1 working day = Mon 23/2 10:00
    assert CAL.due_at(datetime(2026, 2, 13, 10), days(1)) == datetime(2026, 2, 23, 10)
    statuses = [CAL.status(d) for d in off]
    assert all(s.source == "official" and "9441/TB-BNV" in s.document for s in statuses)
    assert not any(s.provisional for s in statuses)


def test_30_april_and_1_may_2026_and_2025_swap() -> None:
    assert not CAL.is_working_day(date(2026, 4, 30)) and not CAL.is_working_day(date(2026, 5, 1))
    assert CAL.due_at(datetime(2026, 4, 29, 8), days(1)) == datetime(2026, 5, 4, 8)
    # 2025: Fri 2/5 off, Sat 26/4 worked
    assert not CAL.is_working_day(date(2025, 5, 2))
    assert CAL.is_working_day(date(2025, 4, 26))
    assert CAL.due_at(datetime(2025, 4, 25, 9), days(1)) == datetime(2025, 4, 26, 9)


def test_national_day_2026_swap_monday_31_08_off_saturday_22_08_worked() -> None:
    assert [CAL.is_working_day(date(2026, 8, 31)), CAL.is_working_day(date(2026, 9, 1)),
            CAL.is_working_day(date(2026, 9, 2)), CAL.is_working_day(date(2026, 8, 22))] == \
        [False, False, False, True]
    # Fri 28/8 14:00 + 1 = Thu 3/9 14:00
    assert CAL.due_at(datetime(2026, 8, 28, 14), days(1)) == datetime(2026, 9, 3, 14)
    assert CAL.status(date(2026, 8, 22)).document.startswith("Thông báo 9441/TB-BNV")


def test_national_day_2025_is_1_and_2_september() -> None:
    assert not CAL.is_working_day(date(2025, 9, 1)) and not CAL.is_working_day(date(2025, 9, 2))
    assert CAL.due_at(datetime(2025, 8, 29, 9), days(1)) == datetime(2025, 9, 3, 9)


def test_office_calendar_toml_wins_over_the_official_schedule() -> None:
    overrides = CalendarOverrides.parse(
        '[[working_days]]\ndate = 2026-01-02\nname = "Xã làm việc"\n')
    cal = WorkCalendar(overrides)
    assert cal.is_working_day(date(2026, 1, 2))
    assert cal.due_at(datetime(2025, 12, 30, 10), days(3)) == datetime(2026, 1, 5, 10)


# --- Provisional days ------------------------------------------------------------------------

def test_culture_day_24_11_is_provisional_with_a_reason() -> None:
    status = CAL.status(date(2026, 11, 24))
    assert status is not None and not status.working
    assert status.provisional and "2026" in status.reason
    assert not CAL.status(date(2026, 9, 2)).provisional


def test_tet_2027_before_it_is_announced_is_provisional_but_new_year_is_law() -> None:
    tet = [s for s in CAL.special_days(2027) if s.day.month == 2]
    assert tet and all(s.provisional and s.source == "package" for s in tet)
    new_year = CAL.status(date(2027, 1, 1))
    assert not new_year.provisional and "Điều 112" in new_year.document


def test_a_due_time_across_a_provisional_day_says_so() -> None:
    crossing = CAL.due(datetime(2026, 11, 23, 9, 0), days(2))
    assert crossing.at == datetime(2026, 11, 26, 9, 0)
    assert [s.day for s in crossing.provisional] == [date(2026, 11, 24)]
    clear = CAL.due(datetime(2026, 11, 25, 9, 0), days(2))
    assert clear.provisional == ()


# --- Office hours ------------------------------------------------------------------------------

@pytest.mark.parametrize(("received", "rule", "due"), [
    # online filing at 20:30 on Mon 23/11: counted Wed 25/11 07:30 (24/11 off)
    (datetime(2026, 11, 23, 20, 30), days(3), datetime(2026, 11, 30, 7, 30)),
    (datetime(2026, 11, 25, 6, 0), days(3), datetime(2026, 11, 30, 7, 30)),     # before opening
    (datetime(2026, 11, 25, 12, 10), days(3), datetime(2026, 11, 30, 13, 30)),  # lunch break
    (datetime(2026, 11, 25, 11, 30), days(3), datetime(2026, 11, 30, 13, 30)),  # at the break
    (datetime(2026, 11, 25, 17, 0), days(3), datetime(2026, 12, 1, 7, 30)),     # at closing
    (datetime(2026, 11, 25, 20, 30), SAME_DAY, datetime(2026, 11, 26, 17, 0)),
    (datetime(2026, 11, 25, 6, 0), SAME_DAY, datetime(2026, 11, 25, 17, 0)),
])
def test_outside_office_hours_counts_from_the_next_opening(received: datetime, rule: TimeRule,
                                                           due: datetime) -> None:
    assert CAL.due_at(received, rule) == due
