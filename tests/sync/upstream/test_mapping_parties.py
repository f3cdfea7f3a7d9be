"""Whose dossier it is, as the upstream reads it: ChuHoSo, LoaiDoiTuong and the owner's ID."""

from __future__ import annotations

from sync.upstream import mapping
from sync.upstream.double.rules import Checker
from sync.upstream.profiles import load_profile
from tests.sync.upstream.test_mapping import CODE, UNIT, create

PROFILE = load_profile("dvcqg")


def snapshot(**over: object) -> dict:
    snap = mapping.snapshot(mapping.replay(CODE, [create(**over)]), PROFILE, UNIT)
    mapping.validate_snapshot(snap, PROFILE)
    Checker(UNIT).snapshot(snap, "data[0]")   # the conformance double's rules agree
    return snap


def test_an_organisations_dossier_is_a_business_under_its_tax_code() -> None:
    snap = snapshot(applicant_kind="organisation", owner_name="Công ty TNHH An Phú",
                    owner_tax_code="0314409058-002")
    assert (snap["ChuHoSo"], snap["LoaiDoiTuong"], snap["SoGiayToChuHoSo"]) == (
        "Công ty TNHH An Phú", "2", "0314409058-002")
    assert snap["DinhDanhCHS"] == []   # a tax code has no known LoaiDinhDanh yet [I]
    assert "Công ty TNHH An Phú" in snap["TrichYeuHoSo"]


def test_a_represented_citizen_is_the_owner_not_the_person_at_the_counter() -> None:
    snap = snapshot(applicant_kind="representative", owner_name="Nguyễn Thị Mai",
                    owner_id_type="cccd", owner_id_number="001185054321")
    assert (snap["ChuHoSo"], snap["LoaiDoiTuong"], snap["SoGiayToChuHoSo"]) == (
        "Nguyễn Thị Mai", "1", "001185054321")
    assert snap["DinhDanhCHS"] == [{"LoaiDinhDanh": "1", "SoDinhDanh": "001185054321"}]


def test_dossiers_from_desks_before_owner_kinds_read_as_citizens() -> None:
    snap = snapshot()   # no applicant_kind key: a desk not yet upgraded
    assert (snap["ChuHoSo"], snap["LoaiDoiTuong"], snap["SoGiayToChuHoSo"]) == (
        "Đặng Văn Đức", "1", "001085012345")


def test_the_business_code_is_configuration() -> None:
    profile = load_profile("dvcqg", overrides={"owner_kind_codes": {"organisation": "3"}})
    snap = mapping.snapshot(mapping.replay(CODE, [create(
        applicant_kind="organisation", owner_name="HTX Đông", owner_tax_code="")]), profile, UNIT)
    assert snap["LoaiDoiTuong"] == "3"
