"""The mapping from the relay's dossier and events to the upstream's snapshot and steps."""

from __future__ import annotations

from typing import Any

import pytest

from ccdesk.domain.vocabulary import Status
from sync.upstream import mapping
from sync.upstream.mapping import Event, MappingError
from sync.upstream.profiles import load_profile

PROFILE = load_profile("dvcqg")
UNIT = "000.17.22.H56"
CODE = "000.17.22.H56-261201-0001"


def dossier(**over: Any) -> dict[str, Any]:
    base = {"code": CODE, "procedure_code": "1.001193", "field": "Hộ tịch",
            "applicant_name": "Đặng Văn Đức", "applicant_id_number": "001085012345",
            "applicant_id_type": "cccd", "owner_name": "", "channel": "direct",
            "delivery": "desk", "received_at": "2026-12-01T08:00:00",
            "accepted_at": "2026-12-01T08:00:00", "due_at": "2026-12-03T17:00:00",
            "status": "received", "ready_at": None, "closed_at": None, "returned_at": None}
    return base | over


def create(status: str = "received", action: str = "accept", **over: Any) -> Event:
    return Event("m0", {"dossier": dossier(status=status, **over), "checklist": [],
                        "event": {"action": action, "at": "2026-12-01T08:00:00",
                                  "from_status": None, "to_status": status, "reason": "",
                                  "data": {}, "officer": "lan"}}, create=True)


def event(n: int, action: str, to: str, at: str, changes: dict[str, Any] | None = None,
          data: dict[str, Any] | None = None, reason: str = "") -> Event:
    return Event(f"m{n}", {"code": CODE, "changes": changes or {"status": to},
                           "event": {"action": action, "at": at, "to_status": to,
                                     "reason": reason, "data": data or {}, "officer": "lan"}})


def test_every_status_has_exactly_one_code_in_range() -> None:
    assert set(mapping.STATUS_CODES) == set(Status), "a lifecycle state has no upstream code"
    for status in Status:
        assert mapping.status_code(status.value) in mapping.ALL_CODES


@pytest.mark.parametrize(("status", "code"), [
    ("received", "2"), ("refused", "3"), ("in_progress", "4"), ("handed_off", "4"),
    ("waiting_supplement", "5"), ("withdrawn", "7"), ("stopped", "8"), ("result_ready", "9"),
    ("returned", "10")])
def test_status_table(status: str, code: str) -> None:
    """The table of docs/upstream.md; in particular 5 and 8 are never sent as 9."""
    assert mapping.status_code(status) == code


def test_snapshot_of_a_received_dossier_is_all_strings_and_valid() -> None:
    snap = mapping.snapshot(mapping.replay(CODE, [create()]), PROFILE, UNIT)
    mapping.validate_snapshot(snap, PROFILE)
    assert snap["MaHoSo"] == CODE and snap["TrangThaiHoSo"] == "2"
    assert snap["TenTTHC"] == "Đăng ký khai sinh" and snap["TenLinhVuc"] == "Hộ tịch"
    assert snap["NgayTiepNhan"] == "20261201080000" and snap["NgayHenTra"] == "20261203170000"
    assert snap["SoGiayToChuHoSo"] == "001085012345"
    assert snap["DinhDanhCHS"] == [{"LoaiDinhDanh": "1", "SoDinhDanh": "001085012345"}]
    assert snap["KenhThucHien"] == "1" and snap["NgayKetThucXuLy"] == ""
    assert snap["DonViXuLy"] == UNIT


@pytest.mark.parametrize(("channel", "code"), [("direct", "1"), ("online_full", "2"),
                                               ("online_partial", "2"), ("postal", "3")])
def test_channel(channel: str, code: str) -> None:
    snap = mapping.snapshot(mapping.replay(CODE, [create(channel=channel)]), PROFILE, UNIT)
    assert snap["KenhThucHien"] == code


def test_end_of_processing_is_result_ready_not_pickup() -> None:
    events = [create(),
              event(1, "mark_ready", "result_ready", "2026-12-02T10:00:00",
                    {"status": "result_ready", "ready_at": "2026-12-02T10:00:00"}),
              event(2, "return_result", "returned", "2026-12-09T09:00:00",
                    {"status": "returned", "returned_at": "2026-12-09T09:00:00",
                     "closed_at": "2026-12-09T09:00:00"})]
    snap = mapping.snapshot(mapping.replay(CODE, events), PROFILE, UNIT)
    assert snap["TrangThaiHoSo"] == "10"
    assert snap["NgayKetThucXuLy"] == "20261202100000"   # not the pick-up on the 9th
    assert snap["NgayTra"] == "20261209090000"


@pytest.mark.parametrize(("action", "status"), [("refuse", "refused"), ("stop", "stopped"),
                                                 ("withdraw", "withdrawn")])
def test_end_of_processing_when_closed(action: str, status: str) -> None:
    events = [create(), event(1, action, status, "2026-12-02T11:00:00",
                              {"status": status, "closed_at": "2026-12-02T11:00:00"})]
    snap = mapping.snapshot(mapping.replay(CODE, events), PROFILE, UNIT)
    assert snap["NgayKetThucXuLy"] == "20261202110000"
    assert snap["TrangThaiHoSo"] == mapping.status_code(status)
    assert snap["NgayTuChoi"] == ("20261202110000" if status == "refused" else "")


def test_supplement_round_keeps_old_and_new_due_dates() -> None:
    events = [create(),
              event(1, "request_supplement", "waiting_supplement", "2026-12-01T10:00:00",
                    {"status": "waiting_supplement"},
                    {"items": [{"name": "Giấy chứng sinh", "reason": ""}], "round": 1}),
              event(2, "supplement_received", "received", "2026-12-02T09:00:00",
                    {"status": "received", "due_at": "2026-12-04T16:00:00"},
                    {"due_at": "2026-12-04T16:00:00"})]
    snap = mapping.snapshot(mapping.replay(CODE, events), PROFILE, UNIT)
    assert snap["DanhSachHoSoBoSung"] == [{
        "LanBoSung": "1", "NgayBoSung": "20261201100000",
        "NoiDungBoSung": "Giấy chứng sinh", "NgayHenTraTruoc": "20261203170000",
        "NgayTiepNhanBoSung": "20261202090000", "NgayHenTraMoi": "20261204160000"}]
    assert snap["NgayHenTra"] == "20261204160000"
    mapping.validate_snapshot(snap, PROFILE)


def test_extension_moves_the_due_date_in_the_snapshot() -> None:
    before = mapping.snapshot(mapping.replay(CODE, [create()]), PROFILE, UNIT)
    events = [create(), event(1, "extend", "received", "2026-12-03T15:00:00",
                              {"due_at": "2026-12-10T17:00:00", "extensions": 1})]
    after = mapping.snapshot(mapping.replay(CODE, events), PROFILE, UNIT)
    assert (before["NgayHenTra"], after["NgayHenTra"]) == ("20261203170000", "20261210170000")
    assert after["TrangThaiHoSo"] == "2"


def test_every_event_is_exactly_one_step() -> None:
    events = [create(), event(1, "start", "in_progress", "2026-12-01T09:00:00"),
              event(2, "reprint", "in_progress", "2026-12-01T09:05:00", {}),
              event(3, "hand_off", "handed_off", "2026-12-01T10:00:00", data={"body": "UBND"}),
              event(4, "result_back", "in_progress", "2026-12-02T10:00:00"),
              event(5, "mark_ready", "result_ready", "2026-12-02T11:00:00")]
    steps = mapping.steps(mapping.replay(CODE, events), PROFILE)
    assert [mid for mid, _s in steps] == ["m0", "m1", "m2", "m3", "m4", "m5"]
    assert [s["TrangThai"] for _m, s in steps] == ["2", "4", "4", "4", "4", "9"]
    assert steps[3][1]["PhongBanXuLy"] == "UBND"
    assert steps[0][1]["NoiDungXuLy"] == "Tiếp nhận"
    for _mid, step in steps:
        mapping.validate_step(step, PROFILE)


def test_aware_times_are_sent_in_vietnam_time() -> None:
    assert mapping.upstream_date("2026-12-01T01:00:00+00:00") == "20261201080000"


@pytest.mark.parametrize(("key", "value", "message"), [
    ("MaTTHC", "", "MaTTHC is empty"),
    ("TrangThaiHoSo", 2, "TrangThaiHoSo must be a string"),
    ("TrangThaiHoSo", "11", "is not 1-10"),
    ("NgayTiepNhan", "2026-12-01", "not a yyyyMMddHHmmss date"),
    ("NgayTiepNhan", "20261301080000", "not a yyyyMMddHHmmss date"),
    ("ChuHoSo", "x" * 251, "longer than 250"),
    ("MaHoSo", "A B", "outside letters"),
])
def test_preflight_refuses_bad_snapshots(key: str, value: Any, message: str) -> None:
    snap = mapping.snapshot(mapping.replay(CODE, [create()]), PROFILE, UNIT)
    snap[key] = value
    with pytest.raises(MappingError, match=message):
        mapping.validate_snapshot(snap, PROFILE)


def test_preflight_refuses_a_missing_key_and_a_due_date_before_reception() -> None:
    snap = mapping.snapshot(mapping.replay(CODE, [create()]), PROFILE, UNIT)
    del snap["ChuHoSo"]
    with pytest.raises(MappingError, match="ChuHoSo is missing"):
        mapping.validate_snapshot(snap, PROFILE)
    snap = mapping.snapshot(mapping.replay(CODE, [create(due_at="2026-11-30T17:00:00")]),
                            PROFILE, UNIT)
    with pytest.raises(MappingError, match="NgayHenTra is earlier than NgayTiepNhan"):
        mapping.validate_snapshot(snap, PROFILE)


def test_a_dossier_never_accepted_is_due_at_its_reception() -> None:
    """The upstream requires NgayHenTra; a dossier sent back for papers at the counter never
    started its clock, so its due time is its reception time (docs/upstream.md)."""
    events = [create("waiting_supplement", "request_supplement", due_at=None, accepted_at=None)]
    snap = mapping.snapshot(mapping.replay(CODE, events), PROFILE, UNIT)
    mapping.validate_snapshot(snap, PROFILE)
    assert snap["NgayHenTra"] == snap["NgayTiepNhan"] == "20261201080000"
    assert snap["TrangThaiHoSo"] == "5" and len(snap["DanhSachHoSoBoSung"]) == 1


def test_only_a_personal_id_gets_a_dinh_danh_type() -> None:
    snap = mapping.snapshot(mapping.replay(CODE, [create(applicant_id_type="passport",
                                                         applicant_id_number="C1234567")]),
                            PROFILE, UNIT)
    assert snap["SoGiayToChuHoSo"] == "C1234567" and snap["DinhDanhCHS"] == []


def test_2020_profile_leaves_out_the_2023_fields_and_camel_case_renames() -> None:
    old = load_profile("dvcqg", "2020")
    snap = mapping.snapshot(mapping.replay(CODE, [create()]), old, UNIT)
    assert "KenhThucHien" not in snap and "NgayKetThucXuLy" not in snap
    camel = load_profile("dvcqg", overrides={"key_case": "camel"})
    cased = mapping.cased(mapping.snapshot(mapping.replay(CODE, [create()]), camel, UNIT), camel)
    assert cased["maHoSo"] == CODE and cased["dinhDanhCHS"][0]["soDinhDanh"] == "001085012345"
