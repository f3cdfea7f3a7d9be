"""The upstream conformance double: every rule accepts a valid request and refuses a broken one
by name; sessions; faults; what it exposes (/_inspect, /_stats, /_kpi); the command."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from sync.upstream.double.faults import FaultSpecError, parse_faults
from sync.upstream.double.rules import RULES, VERIFIED
from tests.sync.upstream.double_fixtures import (
    CODE,
    PASSWORD,
    UNIT,
    USER,
    Client,
    DoubleServer,
    config,
    snapshot,
    step,
)

OTHER = f"{UNIT}-260105-0002"


@pytest.fixture
def client(tmp_path: Path) -> Client:
    c = Client(tmp_path / "double.sqlite3")
    c.login()
    return c


def ok(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["error_code"] == "0", reply
    return reply


# ---- every rule: the broken request, after valid set-up calls --------------------------------
def _snap(**fields: Any) -> Callable[[Client], dict[str, Any]]:
    return lambda c: c.create(snapshot(**fields))


def _without(key: str) -> Callable[[Client], dict[str, Any]]:
    def broken(c: Client) -> dict[str, Any]:
        item = snapshot()
        del item[key]
        return c.create(item)
    return broken


def _step(**fields: Any) -> Callable[[Client], dict[str, Any]]:
    def broken(c: Client) -> dict[str, Any]:
        ok(c.create(snapshot()))
        return c.steps(step(**fields))
    return broken


def _backwards(c: Client) -> dict[str, Any]:
    ok(c.create(snapshot(TrangThaiHoSo="10", NgayKetThucXuLy="20260106100000")))
    return c.update(snapshot(TrangThaiHoSo="4"))


def _unknown_dossier(c: Client) -> dict[str, Any]:
    ok(c.create(snapshot()))
    return c.steps(step(OTHER))


def _back_in_time(c: Client) -> dict[str, Any]:
    ok(c.create(snapshot()))
    ok(c.steps(step(ThoiDiemXuLy="20260105100000")))
    return c.steps(step(ThoiDiemXuLy="20260105090000", NoiDungXuLy="Chuyển xử lý"))


def _too_many_steps(c: Client) -> dict[str, Any]:
    ok(c.create(snapshot()))
    return c.steps(*[step(ThoiDiemXuLy=f"202601050800{n:02}") for n in range(11)])


BROKEN: dict[str, Callable[[Client], dict[str, Any]]] = {
    "string_scalars": _snap(HoSoCoThanhPhanSoHoa=True),
    "required_snapshot_keys": _without("ChuHoSo"),
    "required_step_keys": _step(NguoiXuLy=""),
    "date_format": _snap(NgayHenTra="2026-01-07 17:00"),
    "mahoso_format": _snap(MaHoSo=f"{UNIT}-261399-0001"),
    "mahoso_unit_prefix": _snap(MaHoSo="000.99.99.H99-260105-0001"),
    "matthc_format": _snap(MaTTHC="1001193"),
    "trang_thai_enum": _snap(TrangThaiHoSo="11"),
    "kenh_thuc_hien_enum": _snap(KenhThucHien="4"),
    "loai_doi_tuong_enum": _snap(LoaiDoiTuong="5"),
    "hinh_thuc_enum": _snap(HinhThuc="2"),
    "is_updating_flag": lambda c: c.call("DongBoHoSoMC", isUpdating="true", data=[snapshot()]),
    "no_cmnd_field": _snap(SoCMND="001185012345"),
    "dinh_danh_12_digits": _snap(DinhDanhCHS=[{"LoaiDinhDanh": "1", "SoDinhDanh": "12345"}]),
    "trich_yeu_length": _snap(TrichYeuHoSo="x" * 1001),
    "nguoi_xu_ly_length": _step(NguoiXuLy="x" * 51),
    "due_not_before_received": _snap(NgayHenTra="20260104170000"),
    "status_transition": _backwards,
    "step_known_dossier": _unknown_dossier,
    "step_not_back_in_time": _back_in_time,
    "steps_per_call": _too_many_steps,
    "status_payload": lambda c: c.call("DongBoTrangThaiHoSo", type="1",
                                       data={"MaHoSo": CODE, "TrangThaiHoSo": "2"}),
    "rating_format": lambda c: c.call("DongBoDanhGia", data={"NgayTongHop": "2026-01",
                                                             "TyLeHaiLong": "57%"}),
    "rating_required_keys": lambda c: c.call("DongBoDanhGia", data={
        k: v for k, v in RATING.items() if k != "TongSoDanhGia"}),
    "rating_counts": lambda c: c.call("DongBoDanhGia", data=RATING | {"TongSoDanhGia": "9"}),
}

RATING = {"NgayTongHop": "1-2026", "TongSoDanhGia": "200", "SoRatHaiLong": "20",
          "SoHaiLong": "173", "SoKhongHaiLong": "7", "TyLeRatHaiLong": "10%",
          "TyLeHaiLong": "96,5%", "TyLeKhongHaiLong": "3,5%"}


def test_a_month_is_sent_once_then_updated(client: Client) -> None:
    ok(client.call("DongBoDanhGia", isUpdating="False", data=RATING))
    again = client.call("DongBoDanhGia", isUpdating="False", data=RATING)
    assert again["error_code"] == "3" and "đã tồn tại" in again["message"]
    ok(client.call("DongBoDanhGia", isUpdating="True", data=RATING))
    later = f"{datetime.now(ZoneInfo('Asia/Ho_Chi_Minh')):%-m-%Y}"
    assert client.call("DongBoDanhGia", data=RATING | {"NgayTongHop": later})["rule"] \
        == "rating_counts"


def test_every_rule_has_a_broken_case() -> None:
    assert set(BROKEN) == set(RULES)


def test_valid_requests_pass_every_rule(client: Client) -> None:
    ok(client.create(snapshot(DinhDanhCHS=[{"LoaiDinhDanh": "1",
                                            "SoDinhDanh": "001185012345"}])))
    ok(client.steps(*[step(ThoiDiemXuLy=f"202601050800{n:02}") for n in range(10)]))
    ok(client.update(snapshot(TrangThaiHoSo="5")))
    ok(client.update(snapshot(TrangThaiHoSo="4")))
    ok(client.update(snapshot(TrangThaiHoSo="10", NgayKetThucXuLy="20260106100000")))
    ok(client.call("DongBoTrangThaiHoSo", type="2",
                   data={"MaHoSo": CODE, "TrangThaiHoSo": "10", "NgayTra": "20260106100000"}))
    ok(client.call("DongBoDanhGia", data=RATING))
    assert client.stats()["rejected"] == 0
    assert client.http.get("/_ratings").json()["ratings"][0]["data"] == RATING


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_rejects_by_name(client: Client, rule: str) -> None:
    reply = BROKEN[rule](client)
    assert reply["error_code"] == "2", reply
    assert reply["rule"] == rule and f"[{rule}]" in reply["message"]
    stats = client.stats()
    assert stats["rejected"] == 1 and stats["rejected_by_rule"] == {rule: 1}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_verified_only_switches_off_hypotheses(tmp_path: Path, rule: str) -> None:
    c = Client(tmp_path / "double.sqlite3", config(verified_only=True))
    c.login()
    reply = BROKEN[rule](c)
    if RULES[rule].confidence in VERIFIED:
        assert reply.get("rule") == rule, reply
    else:
        assert reply["error_code"] == "0", reply


def test_a_rejected_call_stores_nothing(client: Client) -> None:
    reply = client.create(snapshot(), snapshot(OTHER, MaTTHC="bad"))
    assert reply["rule"] == "matthc_format" and reply["where"] == "data[1].MaTTHC"
    assert client.stats()["dossiers"] == 0


def test_a_reject_names_where_but_never_the_value(client: Client) -> None:
    reply = client.create(snapshot(ChuHoSo=12345))
    assert reply["where"] == "data[0].ChuHoSo"
    assert "12345" not in reply["message"]


def test_same_step_twice_is_stored_and_counted(client: Client) -> None:
    ok(client.create(snapshot()))
    ok(client.steps(step()))
    reply = ok(client.steps(step()))
    assert reply["duplicates"] == "1"
    stats = client.stats()
    assert (stats["steps"], stats["duplicate_steps"]) == (2, 1)


def test_the_same_step_twice_in_one_call_counts_once_as_a_duplicate(client: Client) -> None:
    """Duplicates are found in one query per call: a step repeated inside the call still
    counts (against the call's own earlier steps), and one stored before counts too."""
    ok(client.create(snapshot()))
    assert ok(client.steps(step(), step()))["duplicates"] == "1"
    assert ok(client.steps(step()))["duplicates"] == "1"
    assert (client.stats()["steps"], client.stats()["duplicate_steps"]) == (3, 2)


def test_a_deeply_nested_step_is_refused_before_it_is_fingerprinted(client: Client) -> None:
    ok(client.create(snapshot()))
    deep: Any = "x"
    for _ in range(900):
        deep = [deep]
    reply = client.steps(step(), step(GhiChu=deep))
    assert (reply["error_code"], reply["rule"], reply["where"]) == ("2", "envelope",
                                                                    "data[1].GhiChu" + "[0]" * 16)
    assert client.stats()["steps"] == 0


def test_create_of_an_existing_code_answers_already_exists(client: Client) -> None:
    ok(client.create(snapshot()))
    reply = client.create(snapshot(), snapshot(OTHER))
    assert reply["error_code"] == "3" and "đã tồn tại" in reply["message"]
    assert [r["error_code"] for r in reply["result"]] == ["3", "0"]
    assert client.stats()["dossiers"] == 2
    ok(client.update(snapshot(TrangThaiHoSo="4")))     # update is an upsert


def test_look_up_a_code(client: Client) -> None:
    assert ok(client.call("TraCuuHoSo", MaHoSo=CODE))["result"] is None
    ok(client.create(snapshot()))
    ok(client.steps(step()))
    found = ok(client.call("TraCuuHoSo", MaHoSo=CODE))["result"]
    assert found["TrangThaiHoSo"] == "2" and len(found["TienDo"]) == 1


# ---- envelope and sessions -------------------------------------------------------------------
def test_wrong_credentials(client: Client) -> None:
    reply = client.http.post("/auth", json={"username": USER, "password": "sai"}).json()
    assert reply["error_code"] == "1" and "session" not in reply


def test_unknown_session_and_wrong_unit(client: Client) -> None:
    client.session = "not-a-session"
    assert client.create(snapshot())["error_code"] == "401"
    client.login()
    reply = client.http.post("/integration", json={
        "session": client.session, "madonvi": "000.99.99.H99", "service": "DongBoHoSoMC",
        "isUpdating": "False", "data": [snapshot()]}).json()
    assert reply["rule"] == "madonvi"
    assert client.call("KhongCo", data=[])["rule"] == "service"


def test_session_expires_after_its_lifetime(tmp_path: Path) -> None:
    c = Client(tmp_path / "d.sqlite3", config(session_lifetime_s=0.3))
    c.login()
    ok(c.create(snapshot()))
    time.sleep(0.4)
    assert c.create(snapshot(OTHER))["error_code"] == "401"
    c.login()
    ok(c.create(snapshot(OTHER)))


def test_not_json_and_oversized_bodies(tmp_path: Path) -> None:
    c = Client(tmp_path / "d.sqlite3", config(max_body_bytes=2000))
    c.login()
    assert c.http.post("/integration", content=b"{nope").json()["rule"] == "envelope"
    big = c.http.post("/integration", json={"session": c.session, "pad": "x" * 3000})
    assert big.status_code == 413


# ---- faults ----------------------------------------------------------------------------------
def test_fault_spec_parsing() -> None:
    spec = parse_faults("latency=5@0.1,http500=0.05,reset_after_store=0.05,session_expiry=30s,"
                        "exists=0.02,partial=0.05,429=0.05,retry_after=2,seed=7")
    assert (spec.latency_s, spec.latency_p, spec.session_lifetime_s) == (5, 0.1, 30)
    assert spec.chances == {"http500": 0.05, "reset_after_store": 0.05, "exists": 0.02,
                            "partial": 0.05, "429": 0.05}
    assert parse_faults("session_expiry=0.2").session_drop_p == 0.2
    for bad in ("http500", "http500=2", "nope=0.1", "latency=x@0.1", "session_expiry=1d"):
        with pytest.raises(FaultSpecError, match=bad.partition("=")[0]):
            parse_faults(bad)


def test_faults_are_reproducible_with_a_seed() -> None:
    def rolls(seed: int) -> list[bool]:
        spec = parse_faults(f"http500=0.5,seed={seed}")
        return [spec.roll("http500") for _ in range(50)]
    assert rolls(3) == rolls(3) != rolls(4)
    assert 5 < sum(rolls(3)) < 45


def test_fault_http500_and_429(tmp_path: Path) -> None:
    c = Client(tmp_path / "a.sqlite3", config("http500=1"))
    assert c.http.post("/auth", json={}).status_code == 500
    c = Client(tmp_path / "b.sqlite3", config("429=1,retry_after=3"))
    response = c.http.post("/integration", json={})
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    assert c.stats()["faults"] == {"429": 1}


def test_fault_latency_still_stores(tmp_path: Path) -> None:
    c = Client(tmp_path / "d.sqlite3", config("latency=0.3@1"))
    c.login()
    started = time.monotonic()
    ok(c.create(snapshot()))
    assert time.monotonic() - started >= 0.3
    assert c.stats()["dossiers"] == 1


def test_fault_session_expiry_mid_run(tmp_path: Path) -> None:
    c = Client(tmp_path / "d.sqlite3", config("session_expiry=0.3s"))
    c.login()
    ok(c.create(snapshot()))
    time.sleep(0.4)
    assert c.create(snapshot(OTHER))["error_code"] == "401"
    c = Client(tmp_path / "e.sqlite3", config("session_expiry=1"))
    c.login()
    assert c.create(snapshot())["error_code"] == "401"


def test_fault_spurious_exists_after_storing(tmp_path: Path) -> None:
    c = Client(tmp_path / "d.sqlite3", config("exists=1"))
    c.login()
    reply = c.create(snapshot())
    assert reply["error_code"] == "3" and "đã tồn tại" in reply["message"]
    assert c.stats()["dossiers"] == 1
    ok(c.update(snapshot()))


def test_fault_partial_batch(tmp_path: Path) -> None:
    c = Client(tmp_path / "d.sqlite3", config("partial=1"))
    c.login()
    reply = c.create(snapshot(), snapshot(OTHER))
    assert reply["error_code"] == "99"
    assert [r["error_code"] for r in reply["result"]] == ["0", "99"]
    assert c.http.get(f"/_inspect/{CODE}").status_code == 200
    assert c.http.get(f"/_inspect/{OTHER}").status_code == 404


def test_fault_reset_after_store_on_a_real_socket(tmp_path: Path) -> None:
    server = DoubleServer(tmp_path / "d.sqlite3", config("reset_after_store=1"))
    try:
        session = httpx.post(server.url + "/auth",
                             json={"username": USER, "password": PASSWORD}).json()["session"]
        with pytest.raises(httpx.TransportError):
            httpx.post(server.url + "/integration", json={
                "session": session, "madonvi": UNIT, "service": "DongBoHoSoMC",
                "isUpdating": "False", "data": [snapshot()]})
        stored = httpx.get(f"{server.url}/_inspect/{CODE}").json()
        assert stored["snapshot"]["MaHoSo"] == CODE
        assert httpx.get(server.url + "/_stats").json()["faults"] == {"reset_after_store": 1}
    finally:
        server.stop()


def test_steps_follow_the_status_moves_too(client: Client) -> None:
    ok(client.create(snapshot()))
    ok(client.steps(step(), step(ThoiDiemXuLy="20260105090000", TrangThai="9",
                                 NoiDungXuLy="Có kết quả")))
    reply = client.steps(step(ThoiDiemXuLy="20260105100000", TrangThai="2",
                              NoiDungXuLy="Tiếp nhận lại"))
    assert reply["rule"] == "status_transition" and reply["where"] == "data[0].TrangThai"
    ok(client.steps(step(ThoiDiemXuLy="20260105100000", TrangThai="10",
                         NoiDungXuLy="Trả kết quả")))


@pytest.mark.parametrize("after", ["7", "4"])
def test_a_ready_result_may_be_withdrawn_or_processed_again(client: Client, after: str) -> None:
    """9 → 7 (the citizen withdraws before pick-up) and 9 → 4 (another processing round) are
    legal; 9 → 2 and anything out of 10 are not (docs/upstream-double.md, status moves)."""
    ok(client.create(snapshot(TrangThaiHoSo="9", NgayKetThucXuLy="20260106100000")))
    assert client.update(snapshot(TrangThaiHoSo="2"))["rule"] == "status_transition"
    ok(client.update(snapshot(TrangThaiHoSo=after)))
    ok(client.steps(step(ThoiDiemXuLy="20260106110000", TrangThai="9", NoiDungXuLy="Có kết quả"),
                    step(ThoiDiemXuLy="20260106120000", TrangThai=after, NoiDungXuLy="Rút")))


def test_a_returned_dossier_never_moves_again(client: Client) -> None:
    ok(client.create(snapshot(TrangThaiHoSo="9", NgayKetThucXuLy="20260106100000")))
    ok(client.update(snapshot(TrangThaiHoSo="10", NgayKetThucXuLy="20260106100000")))
    for after in ("4", "7", "9"):
        assert client.update(snapshot(TrangThaiHoSo=after))["rule"] == "status_transition"


def test_rules_load_without_the_server_stack() -> None:
    """A desk without the server extra can run the double's rules as its pre-flight check."""
    import subprocess
    import sys

    code = ("import sys, sync.upstream.double.rules, sync.upstream.double.faults\n"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).resolve().parents[3]).stdout.split()
    assert not {"fastapi", "starlette", "uvicorn", "httpx", "textual"} & set(loaded)


def test_a_rule_can_be_switched_off_by_name(tmp_path: Path) -> None:
    c = Client(tmp_path / "d.sqlite3", config(disabled_rules=frozenset({"matthc_format"})))
    c.login()
    ok(c.create(snapshot(MaTTHC="1001193")))
    assert c.create(snapshot(OTHER, HinhThuc="7"))["rule"] == "hinh_thuc_enum"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replies_under_random_faults_tell_the_truth(tmp_path: Path, seed: int) -> None:
    """With every fault on, what a reply says was stored is what /_inspect shows: the
    forwarder's exactly-once logic rests on it."""
    c = Client(tmp_path / "d.sqlite3", config(
        f"latency=0.001@0.1,http500=0.1,429=0.1,reset_after_store=0.1,exists=0.1,"
        f"partial=0.2,session_expiry=0.05,seed={seed}"))
    c.login(attempts=20)
    seen: dict[str, int] = {}
    for n in range(60):
        codes = [f"{UNIT}-260106-{n * 2 + k:04}" for k in (0, 1)]
        body = {"session": c.session, "madonvi": UNIT, "service": "DongBoHoSoMC",
                "isUpdating": "False", "data": [snapshot(x) for x in codes]}
        try:
            response = c.http.post("/integration", json=body)
        except ConnectionResetError:
            expected = {x: 1 for x in codes}                  # reset after storing
        else:
            reply = response.json()
            if response.status_code != 200 or reply["error_code"] == "401":
                expected = {}
                c.login(attempts=20)
            else:
                assert reply["error_code"] in ("0", "3", "99"), reply
                expected = {r["MaHoSo"]: 1 for r in reply["result"]
                            if r["error_code"] in ("0", "3")}
        for x in codes:
            found = c.http.get(f"/_inspect/{x}")
            seen[x] = found.json()["version"] if found.status_code == 200 else 0
            assert seen[x] == expected.get(x, 0), (n, x, seen[x])
    faults = c.stats()["faults"]
    assert {"http500", "429", "reset_after_store", "exists", "partial"} <= set(faults)


def test_fault_injected_business_reject_and_reset(tmp_path: Path) -> None:
    c = Client(tmp_path / "d.sqlite3", config("reject=1"))
    c.login()
    reply = c.create(snapshot())
    assert (reply["error_code"], reply["rule"]) == ("2", "injected_reject")
    stats = c.stats()
    assert (stats["dossiers"], stats["rejected"], stats["faults"]) == (0, 1, {"reject": 1})
    c = Client(tmp_path / "e.sqlite3")
    c.login()
    ok(c.create(snapshot()))
    assert c.http.post("/_reset").json() == {"reset": True}
    assert (c.stats()["dossiers"], c.create(snapshot())["error_code"]) == (0, "401")


def test_deeply_nested_data_is_refused_not_crashed(client: Client) -> None:
    deep: Any = "x"
    for _ in range(900):
        deep = [deep]
    reply = client.create(snapshot(TaiLieuNop=deep))
    assert (reply["error_code"], reply["rule"]) == ("2", "envelope")


def test_a_resent_batch_of_steps_is_counted_as_duplicates_not_refused(client: Client) -> None:
    """A forwarder that lost a reply resends the batch: its first steps are older than the
    last one stored, yet they are duplicates (the client bug the double counts), not steps
    going back in time."""
    ok(client.create(snapshot()))
    batch = [step(), step(ThoiDiemXuLy="20260105090000", TrangThai="4",
                          NoiDungXuLy="Chuyển xử lý")]
    ok(client.steps(*batch))
    assert ok(client.steps(*batch))["duplicates"] == "2"
    assert client.stats()["duplicate_steps"] == 2 and client.stats()["rejected"] == 0


def test_fault_latency_past_the_client_timeout_still_stores(tmp_path: Path) -> None:
    server = DoubleServer(tmp_path / "d.sqlite3", config("latency=0.6@1"))
    try:
        auth = httpx.post(server.url + "/auth", json={"username": USER, "password": PASSWORD},
                          timeout=5)
        with pytest.raises(httpx.TimeoutException):
            httpx.post(server.url + "/integration", timeout=0.2, json={
                "session": auth.json()["session"], "madonvi": UNIT,
                "service": "DongBoHoSoMC", "isUpdating": "False", "data": [snapshot()]})
        deadline = time.monotonic() + 5
        while httpx.get(f"{server.url}/_inspect/{CODE}").status_code == 404:
            assert time.monotonic() < deadline, "the slow call was never stored"
            time.sleep(0.05)
    finally:
        server.stop()
