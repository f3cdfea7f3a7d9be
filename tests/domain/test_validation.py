from __future__ import annotations

from datetime import date

import pytest

from ccdesk.domain.errors import InvalidInput, ValidationError
from ccdesk.domain.validation import (
    normalise_phone,
    validate_birth_date,
    validate_citizen_id,
    validate_email,
    validate_full_name,
)
from ccdesk.services.intake import Applicant, validate_applicant

TODAY = date(2026, 11, 23)


def test_cccd_structure_gives_birth_year_and_sex() -> None:
    cid = validate_citizen_id("001 185 012345", today=TODAY)
    assert cid.number == "001185012345"
    assert (cid.birth_year, cid.female) == (1985, True)
    assert validate_citizen_id("079203000001", today=TODAY).birth_year == 2003


@pytest.mark.parametrize(("number", "key"), [
    ("00118501234", "core.err.cccd_length"),
    ("0011850123456", "core.err.cccd_length"),
    ("003185012345", "core.err.cccd_province"),   # 003 is not a province code
    ("001285012345", "core.err.cccd_year"),       # born 2085: in the future
    ("00118501234X", "core.err.id_digits"),
    ("", "core.err.required"),
])
def test_cccd_errors_name_the_field_and_the_problem(number: str, key: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_citizen_id(number, today=TODAY)
    assert info.value.key == key
    assert info.value.field == "id_number"
    assert info.value.message("vi").startswith("Số định danh/CCCD: ")
    assert info.value.message("en").startswith("ID number: ")


def test_old_cmnd_and_passports_are_accepted() -> None:
    assert validate_citizen_id("123456789", "cmnd").number == "123456789"
    assert validate_citizen_id("c1234567", "passport").number == "C1234567"
    with pytest.raises(ValidationError):
        validate_citizen_id("12345678", "cmnd")
    with pytest.raises(ValidationError):
        validate_citizen_id("ab-12", "passport")


@pytest.mark.parametrize(("raw", "clean"), [
    ("0912 345 678", "0912345678"),
    ("+84 912.345.678", "0912345678"),
    ("84912345678", "0912345678"),
    ("024 3825 1234", "02438251234"),
])
def test_phone_numbers_are_normalised(raw: str, clean: str) -> None:
    assert normalise_phone(raw) == clean


@pytest.mark.parametrize("raw", ["0112345678", "091234567", "09123456789", "phone"])
def test_bad_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalise_phone(raw)
    assert info.value.field == "phone"


def test_birth_date_must_match_the_id() -> None:
    cid = validate_citizen_id("001185012345", today=TODAY)
    assert validate_birth_date(date(1985, 3, 1), cid, today=TODAY) == date(1985, 3, 1)
    with pytest.raises(ValidationError, match="1985"):
        validate_birth_date(date(1986, 3, 1), cid, today=TODAY)


def test_names_and_emails() -> None:
    assert validate_full_name("  Lê   Văn  Tám ") == "Lê Văn Tám"
    with pytest.raises(ValidationError):
        validate_full_name("Lê Văn 8")
    with pytest.raises(ValidationError) as info:
        validate_full_name("A" * 101)
    assert info.value.params["limit"] == 100  # refused with its limit, never truncated
    assert validate_email("Ten@ViDu.VN") == "ten@vidu.vn"
    with pytest.raises(ValidationError):
        validate_email("not-an-email")


def test_applicant_validation_reports_every_bad_field_at_once() -> None:
    with pytest.raises(InvalidInput) as info:
        validate_applicant(Applicant(full_name="", id_number="123", phone="1"), today=TODAY)
    fields = {err.field for err in info.value.errors}
    assert fields == {"full_name", "id_number", "phone"}
    assert len(info.value.message("en").splitlines()) == 3
