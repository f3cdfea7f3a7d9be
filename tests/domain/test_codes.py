"""Dossier codes read back: the counter key and number of a code this desk issued."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdesk.domain.codes import (
    DEFAULT_PATTERN,
    check_pattern,
    counter_key,
    format_code,
    split_code,
)
from ccdesk.domain.errors import ValidationError

PATTERNS = [DEFAULT_PATTERN, "{agency}-{yymmdd}-{device}{seq:03}", "{yyyymmdd}.{seq}",
            "HS-{device}-{agency}-{yyyymmdd}-{seq:06}", "{agency}/{seq:05}/{yymmdd}"]
AGENCIES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,12}", fullmatch=True)


@given(pattern=st.sampled_from(PATTERNS), agency=AGENCIES,
       device=st.sampled_from(["", "A", "B2", "K.1"]),
       day=st.dates(date(2000, 1, 1), date(2099, 12, 31)), seq=st.integers(1, 10**7))
def test_a_code_splits_back_into_its_counter_key_and_number(pattern, agency, device, day,
                                                           seq) -> None:
    code = format_code(pattern, agency, device, day, seq)
    assert split_code(pattern, agency, device, code) == (
        counter_key(pattern, agency, device, day), seq)


def test_codes_of_another_agency_or_device_are_not_ours() -> None:
    pattern = "{agency}-{yymmdd}-{device}{seq:03}"
    code = format_code(pattern, "000.17.22.H56", "A", date(2026, 11, 23), 7)
    assert split_code(pattern, "000.17.22.H56", "B", code) is None
    assert split_code(pattern, "000.17.22.H57", "A", code) is None
    assert split_code(pattern, "000.17.22.H56", "A", code + "x") is None
    assert split_code(DEFAULT_PATTERN, "000.17.22.H56", "", "000.17.22.H56-261123-") is None


def test_a_pattern_needs_exactly_one_number() -> None:
    assert check_pattern("{agency}-{seq}") == "{agency}-{seq}"
    for bad in ("{agency}-{yymmdd}", "{seq}-{seq}", "{agency}-{name}-{seq}"):
        with pytest.raises(ValidationError):
            check_pattern(bad)
