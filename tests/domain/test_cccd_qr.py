"""The chip ID card's QR code, as a keyboard-mode scanner types it."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdesk.domain.cccd_qr import (
    CardScan,
    looks_like_card_scan,
    parse_card_scan,
    scan_start,
)
from ccdesk.domain.errors import ValidationError

TODAY = date(2026, 11, 23)
GOOD = "001085012345|012345678|Lê Văn Tám|01011985|Nam|Số 5, thôn Đông, xã An Phú|15042021"


def test_a_card_gives_every_field() -> None:
    assert parse_card_scan(GOOD, today=TODAY) == CardScan(
        id_number="001085012345", old_id_number="012345678", full_name="Lê Văn Tám",
        date_of_birth=date(1985, 1, 1), sex="male", address="Số 5, thôn Đông, xã An Phú",
        issued_on=date(2021, 4, 15))


def test_a_card_without_an_old_id_and_a_woman() -> None:
    scan = parse_card_scan("001185012345||Nguyễn Thị Lan|28021985|Nữ|Hà Nội|01072022\r",
                           today=TODAY)
    assert (scan.old_id_number, scan.sex, scan.date_of_birth) == ("", "female",
                                                                  date(1985, 2, 28))


@pytest.mark.parametrize(("text", "key"), [
    ("001085012345|012345678|Lê Văn Tám|01011985", "core.card_scan.parts"),
    (GOOD + "|extra", "core.card_scan.parts"),
    (GOOD.replace("001085012345", "00108501234"), "core.err.cccd_length"),
    (GOOD.replace("012345678", "01234"), "core.card_scan.old_id"),
    (GOOD.replace("01011985", "32011985"), "core.card_scan.birth_date"),
    (GOOD.replace("01011985", "1.1.1985"), "core.card_scan.birth_date"),
    (GOOD.replace("01011985", "01011986"), "core.err.dob_mismatch"),
    (GOOD.replace("15042021", "150421"), "core.card_scan.issue_date"),
    (GOOD.replace("15042021", "15042030"), "core.card_scan.issued_range"),
    (GOOD.replace("|Nam|", "|X|"), "core.card_scan.sex"),
    (GOOD.replace("Lê Văn Tám", ""), "core.err.required"),
    (GOOD.replace("Số 5, thôn Đông, xã An Phú", ""), "core.err.required"),
    ("|" * 2000, "core.card_scan.too_long"),
])
def test_malformed_or_partial_scans_are_refused(text: str, key: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_card_scan(text, today=TODAY)
    assert err.value.key == key


@given(st.text(max_size=200))
def test_any_text_is_parsed_or_refused_with_a_message(text: str) -> None:
    try:
        scan = parse_card_scan(text, today=TODAY)
    except ValidationError as err:
        assert err.message()  # a sentence for the officer, never a crash
        return
    assert len(scan.id_number) == 12 and scan.id_number.isdigit()
    assert scan.date_of_birth <= scan.issued_on <= TODAY


@given(st.dates(min_value=date(1930, 1, 1), max_value=date(2005, 12, 31)),
       st.sampled_from(["Nam", "Nữ"]), st.booleans())
def test_every_valid_card_round_trips(born: date, sex: str, has_old: bool) -> None:
    digit = (0 if born.year < 2000 else 2) + (1 if sex == "Nữ" else 0)
    number = f"001{digit}{born.year % 100:02d}012345"
    old = "012345678" if has_old else ""
    text = f"{number}|{old}|Trần Văn An|{born:%d%m%Y}|{sex}|Xã An Phú|{date(2021, 7, 1):%d%m%Y}"
    scan = parse_card_scan(text, today=TODAY)
    assert (scan.id_number, scan.old_id_number, scan.date_of_birth) == (number, old, born)
    assert scan.sex == ("female" if sex == "Nữ" else "male")


def test_where_a_scan_starts_in_a_field() -> None:
    assert looks_like_card_scan(GOOD) and not looks_like_card_scan("Lê Văn Tám")
    assert scan_start(GOOD) == 0
    assert scan_start("Lê Văn " + GOOD) == len("Lê Văn ")
    assert scan_start("plain") == len("plain")
