"""What the double exposes: /_inspect (snapshot + timeline), /_stats, and /_kpi (the Decision 766
on-time indicator) on scripted dossiers; the façade profile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sync.upstream.double_fixtures import UNIT, Client, config, snapshot, step

DUE = "20260110170000"


@pytest.fixture
def client(tmp_path: Path) -> Client:
    c = Client(tmp_path / "double.sqlite3")
    c.login()
    return c


def code(n: int) -> str:
    return f"{UNIT}-260105-{n:04}"


def finished(n: int, end: str, status: str = "10", **fields: Any) -> dict[str, Any]:
    return snapshot(code(n), NgayHenTra=DUE, TrangThaiHoSo=status, NgayKetThucXuLy=end,
                    **fields)


def round_(asked: str, back: str = "") -> dict[str, str]:
    return {"NgayBoSung": asked, "NgayTiepNhanBoSung": back, "NgayHenTraTruoc": DUE,
            "NgayHenTraMoi": "20260115170000"}


def test_inspect_shows_snapshot_versions_and_steps(client: Client) -> None:
    c = code(1)
    client.create(snapshot(c))
    client.steps(step(c), step(c, ThoiDiemXuLy="20260106090000", TrangThai="5",
                               NoiDungXuLy="Yêu cầu bổ sung"))
    client.update(snapshot(c, TrangThaiHoSo="5"))
    client.update(snapshot(c, TrangThaiHoSo="4"))
    client.steps(step(c, ThoiDiemXuLy="20260106090000", TrangThai="5",
                      NoiDungXuLy="Yêu cầu bổ sung"))          # re-posted: a duplicate
    client.update(snapshot(c, TrangThaiHoSo="9", NgayKetThucXuLy="20260108100000"))
    seen = client.http.get(f"/_inspect/{c}").json()
    assert seen["version"] == 4 and seen["snapshot"]["TrangThaiHoSo"] == "9"
    assert seen["status_timeline"] == ["2", "5", "4", "9"]
    assert [s["isUpdating"] for s in seen["snapshots"]] == ["False", "True", "True", "True"]
    assert [(s["TrangThai"], s["_duplicate"]) for s in seen["steps"]] == [
        ("2", False), ("5", False), ("5", True)]
    assert client.http.get(f"/_inspect/{code(9)}").status_code == 404
    stats = client.stats()
    assert {k: stats[k] for k in ("dossiers", "steps", "duplicate_steps", "rejected")} == {
        "dossiers": 1, "steps": 3, "duplicate_steps": 1, "rejected": 0}


def test_kpi_follows_the_766_formula(client: Client) -> None:
    client.create(
        finished(1, "20260110160000"),                             # before due: on time
        finished(2, "20260112090000"),                             # after due: late
        # waited 3 days for a supplement, ended 2 days after due: on time
        finished(3, "20260112090000", DanhSachHoSoBoSung=[round_("20260106080000",
                                                                 "20260109080000")]),
        # waited 1 day, ended 2 days after due: late
        finished(4, "20260112090000", DanhSachHoSoBoSung=[round_("20260106080000",
                                                                 "20260107080000")]),
        # two supplement rounds: late although before due
        finished(5, "20260108090000", DanhSachHoSoBoSung=[
            round_("20260106080000", "20260106100000"),
            round_("20260107080000", "20260107100000")]),
        finished(6, "20260109090000", status="9"),                 # result ready: counted
        finished(7, "20260106090000", status="3"),                 # refused: not counted
        finished(8, "20260301090000"),                             # outside the period
        snapshot(code(9), NgayHenTra=DUE, TrangThaiHoSo="4"),      # not finished
    )
    kpi = client.http.get("/_kpi", params={"from": "2026-01-01", "to": "2026-01-31"}).json()
    outcome = {d["MaHoSo"][-1]: (d["on_time"], d["reason"]) for d in kpi["dossiers"]}
    assert outcome == {"1": (True, "before_due"), "2": (False, "after_due"),
                       "3": (True, "supplement_wait_subtracted"), "4": (False, "after_due"),
                       "5": (False, "more_than_one_supplement"), "6": (True, "before_due")}
    assert (kpi["processed"], kpi["on_time"], kpi["late"], kpi["on_time_rate"]) == (
        6, 3, 3, 50.0)
    assert [e["MaHoSo"] for e in kpi["excluded"]] == [code(7)]
    march = client.http.get("/_kpi", params={"from": "2026-03-01", "to": "2026-03-31"}).json()
    assert (march["processed"], march["on_time_rate"]) == (1, 0.0)   # ended after due
    assert client.http.get("/_kpi", params={"from": "2026-13-01", "to": "x"}).status_code == 400


def test_facade_profile_takes_plain_arrays(tmp_path: Path) -> None:
    c = Client(tmp_path / "f.sqlite3", config(profile="facade"))
    assert c.http.post("/hoso/tao", json=[snapshot()]).json()["error_code"] == "0"
    again = c.http.post("/hoso/tao", json=[snapshot()]).json()
    assert again["error_code"] == "3" and "đã tồn tại" in again["message"]
    assert c.http.post("/hoso/capnhat", json=[snapshot(TrangThaiHoSo="4")]).json()[
        "error_code"] == "0"
    assert c.http.post("/hoso/tiendo", json=[step()]).json()["error_code"] == "0"
    bad = c.http.post("/hoso/tiendo", json=[step(TrangThai="0")]).json()
    assert bad["rule"] == "trang_thai_enum"
    assert c.http.post("/auth", json={}).status_code in (404, 405)
    assert c.stats()["steps"] == 1


def test_the_docs_list_every_rule_and_status_move_as_the_code_has_them() -> None:
    """docs/upstream-double.md is what IT staff read: its tables must be the code's."""
    import re

    from sync.upstream.double.rules import MOVES, REOPEN, RULES

    doc = (Path(__file__).resolve().parents[3] / "docs" / "upstream-double.md").read_text("utf-8")
    documented = dict(re.findall(r"^\| `([a-z0-9_]+)` \| ([VCI?]) \|", doc, re.M))
    assert documented == {name: rule.confidence for name, rule in RULES.items()}
    moves: dict[str, frozenset[str]] = {}
    for sources, targets in re.findall(r"^\| ([\d, ]+) \| ([\d, —]+|— \(final\)) \|$", doc, re.M):
        for source in sources.split(","):
            moves[source.strip()] = frozenset(re.findall(r"\d+", targets))
    assert moves == MOVES
    reopen = {source: frozenset(re.findall(r"\d+", targets)) for source, targets
              in re.findall(r"^\| (\d+) \(re-open\) \| ([\d, ]+) \|$", doc, re.M)}
    assert reopen == REOPEN


def test_online_filings_wait_for_reception(client: Client) -> None:
    filed = [snapshot(code(n), TrangThaiHoSo="1", KenhThucHien="2", NgayTiepNhan="",
                      NgayNopHoSo=f"2026010{n}070000") for n in (1, 2)]
    assert client.http.post("/_portal/filings", json=filed).json()["error_code"] == "0"
    assert client.http.post("/_portal/filings", json=[snapshot(code(3))]).json()[
        "rule"] == "portal_filing"                                  # status 2 is not a filing
    waiting = client.call("LayHoSoTrucTuyen")["result"]
    assert [w["MaHoSo"] for w in waiting] == [code(1), code(2)]
    assert [w["MaHoSo"] for w in client.call("LayHoSoTrucTuyen", TuNgay="20260102000000")[
        "result"]] == [code(2)]
    client.update(snapshot(code(1), KenhThucHien="2"))              # received at the desk
    assert [w["MaHoSo"] for w in client.call("LayHoSoTrucTuyen")["result"]] == [code(2)]
    seen = client.http.get(f"/_inspect/{code(1)}").json()
    assert seen["status_timeline"] == ["1", "2"]
    assert [s["isUpdating"] for s in seen["snapshots"]] == ["Portal", "True"]


def test_the_docs_list_every_fault() -> None:
    import re

    from sync.upstream.double.faults import NAMES

    doc = (Path(__file__).resolve().parents[3] / "docs" / "upstream-double.md").read_text("utf-8")
    section = doc.split("## Faults", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z0-9_]+)=", section, re.M))
    assert documented | {"retry_after"} == set(NAMES)
    assert "retry_after=N" in section
