"""Desks → relay → conformance double, on SQLite and PostgreSQL: the scripted dossiers give
exactly the expected upstream snapshot and timeline, and no step twice (``/_stats``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccdesk.domain.lifecycle import Action
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest, MissingItem
from sync.upstream.outcome import ForwardResult
from tests.sync.helpers import Desk, ServerThread
from tests.sync.upstream.conftest import forwarder, push
from tests.sync.upstream.double_fixtures import DoubleServer, config, running_chain


@dataclass
class Chain:
    desk: Desk
    relay: ServerThread
    double: DoubleServer

    def forward(self) -> ForwardResult:
        push(self.desk)
        result = forwarder(self.relay.store).run()
        assert result.exit_code == 0, result
        return result

    def inspect(self, code: str) -> dict[str, Any]:
        response = httpx.get(f"{self.double.url}/_inspect/{code}")
        assert response.status_code == 200, response.text
        return response.json()

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.double.url}/_stats").json()

    def intake(self, decision: Decision = Decision.ACCEPT, **kw: Any) -> str:
        request = IntakeRequest("1.004873", Applicant("Đặng Văn Đức", "001085012345",
                                                      phone="0912 345 678"),
                                [ChecklistEntry(1, True)], fee_amount=5000)
        return self.desk.services.intake.submit(self.desk.actor, request, decision,
                                                **kw).dossier.code


def make_chain(tmp_path: Path, relay_url: str, faults: str | None = None,
               profile: str = "dvcqg") -> Iterator[Chain]:
    with running_chain(tmp_path, relay_url, config(faults, profile=profile),
                       profile=profile) as (desk, relay, double, _store):
        yield Chain(desk, relay, double)


@pytest.fixture
def chain(tmp_path: Path, relay_url: str) -> Iterator[Chain]:
    yield from make_chain(tmp_path, relay_url)


def step_statuses(found: dict[str, Any]) -> list[str]:
    return [s["TrangThai"] for s in found["steps"]]


def clean(chain: Chain) -> None:
    stats = chain.stats()
    assert (stats["duplicate_steps"], stats["rejected"]) == (0, 0), stats


def test_received_supplement_completed_result_returned(chain: Chain) -> None:
    code = chain.intake()
    chain.forward()
    chain.desk.act(code, Action.REQUEST_SUPPLEMENT, reason="Thiếu bản sao",
                   items=[MissingItem("Giấy chứng sinh")])
    chain.forward()
    time.sleep(1.1)   # a wait of whole seconds, so the KPI has a supplement wait to subtract
    chain.desk.act(code, Action.SUPPLEMENT_RECEIVED)
    chain.forward()
    chain.desk.act(code, Action.MARK_READY)
    chain.forward()
    chain.desk.act(code, Action.RETURN_RESULT)
    chain.forward()

    found = chain.inspect(code)
    assert found["status_timeline"] == ["2", "5", "2", "9", "10"]
    assert step_statuses(found) == ["2", "5", "2", "9", "10"]
    snap = found["snapshot"]
    detail = chain.desk.services.dossiers.detail(code).dossier
    assert snap["TrangThaiHoSo"] == "10"
    assert snap["NgayKetThucXuLy"] == detail.ready_at.strftime("%Y%m%d%H%M%S")
    assert snap["NgayTra"] == detail.returned_at.strftime("%Y%m%d%H%M%S")
    assert snap["NgayHenTra"] == detail.due_at.strftime("%Y%m%d%H%M%S")
    (round_,) = snap["DanhSachHoSoBoSung"]
    assert round_["NoiDungBoSung"] == "Giấy chứng sinh" and round_["NgayHenTraMoi"] == \
        snap["NgayHenTra"]
    assert snap["SoGiayToChuHoSo"] == "001085012345" and snap["KenhThucHien"] == "1"
    day = detail.ready_at.date().isoformat()
    kpi = httpx.get(f"{chain.double.url}/_kpi?from={day}&to={day}").json()
    assert (kpi["processed"], kpi["on_time"]) == (1, 1), kpi
    assert kpi["dossiers"][0]["reason"] == "supplement_wait_subtracted"
    clean(chain)


def test_facade_profile_end_to_end(tmp_path: Path) -> None:
    for chain in make_chain(tmp_path, f"sqlite:///{tmp_path}/relay.sqlite3",
                            profile="facade"):
        code = chain.intake()
        chain.forward()
        chain.desk.act(code, Action.MARK_READY)
        chain.forward()
        found = chain.inspect(code)
        assert found["status_timeline"] == ["2", "9"]
        assert step_statuses(found) == ["2", "9"]
        clean(chain)


def test_refused_at_the_counter(chain: Chain) -> None:
    code = chain.intake(Decision.REFUSE, reason="Không thuộc thẩm quyền")
    chain.forward()
    found = chain.inspect(code)
    snap = found["snapshot"]
    assert (snap["TrangThaiHoSo"], step_statuses(found)) == ("3", ["3"])
    assert snap["NgayTuChoi"] == snap["NgayKetThucXuLy"] != ""
    assert "Không thuộc thẩm quyền" in found["steps"][0]["NoiDungXuLy"]
    clean(chain)


def test_withdrawn(chain: Chain) -> None:
    code = chain.intake()
    chain.desk.act(code, Action.START)
    chain.desk.act(code, Action.WITHDRAW, reason="Công dân xin rút")
    chain.forward()   # coalesced: one snapshot with the latest state, every step
    found = chain.inspect(code)
    assert found["status_timeline"] == ["7"]
    assert step_statuses(found) == ["2", "4", "7"]
    assert found["snapshot"]["NgayKetThucXuLy"] != ""
    clean(chain)


def test_extended_resends_the_snapshot_with_the_new_due_date(chain: Chain) -> None:
    code = chain.intake()
    chain.desk.act(code, Action.START)
    chain.forward()
    before = chain.inspect(code)["snapshot"]["NgayHenTra"]
    old_due = chain.desk.services.dossiers.detail(code).dossier.due_at
    new_due = max(old_due, datetime.now()).replace(microsecond=0) + timedelta(days=7)
    chain.desk.act(code, Action.EXTEND, reason="Cần xác minh thêm", new_due=new_due)
    result = chain.forward()
    assert (result.snapshots_sent, result.steps_sent) == (1, 1)
    found = chain.inspect(code)
    assert found["snapshot"]["NgayHenTra"] == new_due.strftime("%Y%m%d%H%M%S") != before
    assert found["status_timeline"] == ["4", "4"]
    assert step_statuses(found) == ["2", "4", "4"]
    clean(chain)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_faults_of_the_double_lose_nothing_and_duplicate_nothing(
        tmp_path: Path, seed: int) -> None:
    """5xx, resets after storing, spurious "already exists", partial batches and dropped
    sessions: every dossier arrives with every step once (in-doubt steps are settled from
    TraCuuHoSo's step list), and nothing needs a person."""
    faults = (f"http500=0.1,reset_after_store=0.15,exists=0.1,partial=0.3,"
              f"session_expiry=0.1,seed={seed}")
    for chain in make_chain(tmp_path, f"sqlite:///{tmp_path}/relay.sqlite3", faults):
        codes = [chain.intake() for _ in range(4)]
        for code in codes:
            chain.desk.act(code, Action.START)
            chain.desk.act(code, Action.MARK_READY)
        push(chain.desk)
        exits = []
        for _run in range(30):
            result = forwarder(chain.relay.store).run()
            exits.append(result.exit_code)
            if result.exit_code == 0:
                break
        assert exits[-1] == 0, exits
        for code in codes:
            found = chain.inspect(code)
            assert step_statuses(found) == ["2", "4", "9"], found["steps"]
            assert found["snapshot"]["TrangThaiHoSo"] == "9"
        stats = chain.stats()
        assert stats["duplicate_steps"] == 0 and stats["rejected"] == 0, stats
        assert sum(stats["faults"].values()) > 0, stats   # the faults did fire


def test_district_changes_are_forwarded_as_snapshot_and_steps(chain: Chain) -> None:
    """A correction and a result the district records at the relay (no desk push) reach the
    upstream: the snapshot is sent again with the corrected due date, one step each."""
    code = chain.intake()
    chain.desk.act(code, Action.START)
    chain.desk.act(code, Action.HAND_OFF, body="Phòng Tư pháp")
    chain.forward()
    store = chain.relay.store
    due = (datetime.now().replace(microsecond=0) + timedelta(days=9))
    store.record_change(code, "correction", data={"due_at": due.isoformat()})
    store.record_change(code, "result")
    result = forwarder(store).run()
    assert (result.exit_code, result.snapshots_sent, result.steps_sent) == (0, 1, 2)
    found = chain.inspect(code)
    assert found["snapshot"]["NgayHenTra"] == due.strftime("%Y%m%d%H%M%S")
    assert step_statuses(found) == ["2", "4", "4", "4", "4"]
    assert found["steps"][-1]["NguoiXuLy"] == "Hệ thống cấp trên"
    again = forwarder(store).run()   # every change once
    assert (again.snapshots_sent, again.steps_sent) == (0, 0)
    store.record_change(code, "status", status="result_ready")
    assert forwarder(store).run().steps_sent == 1
    found = chain.inspect(code)
    assert (found["snapshot"]["TrangThaiHoSo"], step_statuses(found)[-1]) == ("9", "9")
    clean(chain)


def test_monthly_satisfaction_is_sent_once_per_month_and_updated_when_it_changes(
        chain: Chain) -> None:
    """DongBoDanhGia: a month that is over goes once; a later rating of that month (a desk that
    was offline) sends it again as an update; the current month waits until it is over."""
    start = (datetime.now().replace(day=1, hour=9, minute=0, second=0, microsecond=0)
             - timedelta(days=40))
    moment = [start]
    chain.desk.services.ctx.clock = lambda: moment[0]

    def returned_and_rated(level: str) -> None:
        code = chain.intake()
        chain.desk.act(code, Action.MARK_READY)
        chain.desk.act(code, Action.RETURN_RESULT)
        chain.desk.services.dossiers.rate(chain.desk.actor, code, level)
        moment[0] += timedelta(minutes=5)

    returned_and_rated("very_satisfied")
    returned_and_rated("satisfied")
    returned_and_rated("dissatisfied")
    result = chain.forward()
    assert result.ratings_sent == 1
    (sent,) = httpx.get(f"{chain.double.url}/_ratings").json()["ratings"]
    assert sent["data"] == [{"NgayTongHop": f"{start.month}-{start.year}",
                             "TongSoDanhGia": "3", "SoRatHaiLong": "1", "SoHaiLong": "1",
                             "SoKhongHaiLong": "1", "TyLeRatHaiLong": "33,3%",
                             "TyLeHaiLong": "66,7%", "TyLeKhongHaiLong": "33,3%"}]
    assert chain.forward().ratings_sent == 0          # once
    returned_and_rated("satisfied")                   # late news of the same month
    assert chain.forward().ratings_sent == 1
    versions = httpx.get(f"{chain.double.url}/_ratings").json()["ratings"]
    assert [v["data"][0]["TongSoDanhGia"] for v in versions] == ["3", "4"]
    moment[0] = datetime.now()                        # this month: not over yet
    returned_and_rated("satisfied")
    assert chain.forward().ratings_sent == 0
    assert chain.stats()["calls"]["DongBoDanhGia"] == 2
    clean(chain)
