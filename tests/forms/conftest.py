"""A real desk database with dossiers in every state the forms cover.

The fonts are built once per test session into a shared cache (instancing the variable font
takes a few seconds); each test still gets its own SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

import pytest

from ccdesk.config import Config
from ccdesk.domain.lifecycle import Action
from ccdesk.domain.parties import Owner
from ccdesk.domain.vocabulary import ApplicantKind
from ccdesk.forms.service import FormService
from ccdesk.paths import Paths
from ccdesk.services import SYSTEM, Actor, Services
from ccdesk.services.catalog import BUNDLED_CATALOG
from ccdesk.services.intake import (
    Applicant,
    ChecklistEntry,
    Decision,
    IntakeRequest,
    MissingItem,
)
from ccdesk.services.office import OfficeSettings
from ccdesk.services.officers import actor_of
from tests.conftest import copy_database

START = datetime(2026, 11, 23, 8, 30)   # a Monday


class Clock:
    """A settable wall clock: each step of a scenario happens at a chosen time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Desk:
    services: Services
    clock: Clock
    officer: Actor
    lead: Actor
    codes: dict[str, str] = field(default_factory=dict)

    def at(self, moment: datetime) -> Desk:
        self.clock.now = moment
        return self

    @cached_property
    def forms(self) -> FormService:
        return FormService(self.services)


OFFICE = OfficeSettings(governing_body="UBND xã Đông Sơn",
                        unit_name="Trung tâm Phục vụ hành chính công",
                        agency_code="000.17.22.H56", place_name="Đông Sơn")

APPLICANT = Applicant(full_name="Nguyễn Thị Hường", id_number="038190012345",
                      phone="0912345678", email="huong.nt@example.vn",
                      address="Thôn Phú Quý, xã Đông Sơn, tỉnh Thanh Hóa")


@pytest.fixture(scope="session")
def shared_paths(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    root = tmp_path_factory.mktemp("ccdesk-home")
    return Paths(data_dir=root / "data", config_dir=root / "config")


def open_desk(db_path: Path, paths: Paths, config: Config | None = None) -> Desk:
    clock = Clock(START)
    services = Services.open(db_path, paths, config=config or Config(), clock=clock)
    services.catalog.import_file(BUNDLED_CATALOG)
    services.office.update(SYSTEM, OFFICE, complete_setup=True)
    officer = services.officers.add(SYSTEM, "hoa", "Lê Thị Hoa", "officer", "1234",
                                    title="Công chức Tư pháp - Hộ tịch", phone="0987654321")
    lead = services.officers.add(SYSTEM, "tuan", "Trần Minh Tuấn", "lead", "56781234",
                                 title="Giám đốc", phone="02373888888")
    return Desk(services, clock, actor_of(officer), actor_of(lead))


def build_scenario(desk: Desk) -> Desk:
    """Dossiers: accepted and handed off and extended twice (land), a supplement request,
    a refusal, a stopped one, and one received under the 2018 regime."""
    s = desk.services
    land = IntakeRequest(procedure_code="1.012783", applicant=APPLICANT,
                         checklist=[ChecklistEntry(1, True), ChecklistEntry(2, True)],
                         owner=Owner(kind=ApplicantKind.REPRESENTATIVE, name="Nguyễn Văn Đức",
                                     address="Xóm Đồng, xã Đông Sơn", id_number="038085004321",
                                     authorisation="Giấy ủy quyền ngày 01/12/2026"),
                         sets=1, fee_amount=100_000)
    land_code = s.intake.submit(desk.at(START).officer, land, Decision.ACCEPT).dossier.code
    s.dossiers.act(desk.at(START + timedelta(hours=1)).officer, land_code, Action.HAND_OFF)
    due = s.dossiers.detail(land_code).dossier.due_at
    s.dossiers.act(desk.at(START + timedelta(days=3)).lead, land_code, Action.EXTEND,
                   reason="Chưa có kết quả đo đạc thửa đất",
                   late_body="Chi nhánh Văn phòng đăng ký đất đai",
                   new_due=due + timedelta(days=7))
    s.dossiers.act(desk.at(START + timedelta(days=8)).lead, land_code, Action.EXTEND,
                   reason="Chờ ý kiến của Sở Nông nghiệp và Môi trường",
                   late_body="Chi nhánh Văn phòng đăng ký đất đai",
                   new_due=due + timedelta(days=14))
    s.dossiers.act(desk.at(START + timedelta(days=10, hours=2)).officer, land_code,
                   Action.RESULT_BACK)
    desk.codes["land"] = land_code

    marital = IntakeRequest(procedure_code="1.004873",
                            applicant=Applicant(full_name="Phạm Quốc Việt",
                                                id_number="038095004321",
                                                address="Thôn Hạ, xã Đông Sơn"),
                            checklist=[ChecklistEntry(1, False)], fee_amount=15_000)
    desk.codes["supplement"] = s.intake.submit(
        desk.at(START + timedelta(minutes=40)).officer, marital, Decision.SUPPLEMENT,
        missing=[MissingItem("Bản sao Quyết định ly hôn có chứng thực",
                             "Tờ khai ghi đã ly hôn nhưng chưa có giấy tờ chứng minh")],
    ).dossier.code

    birth = IntakeRequest(procedure_code="1.001193", applicant=APPLICANT,
                          checklist=[ChecklistEntry(1, True), ChecklistEntry(3, True)])
    desk.codes["refused"] = s.intake.submit(
        desk.at(START + timedelta(minutes=50)).officer, birth, Decision.REFUSE,
        reason="Trẻ đã được đăng ký khai sinh tại xã khác (trùng đăng ký)").dossier.code

    stop_code = s.intake.submit(desk.at(START + timedelta(hours=2)).officer,
                                IntakeRequest(procedure_code="1.004873", applicant=APPLICANT,
                                              checklist=[ChecklistEntry(1, True)],
                                              fee_amount=15_000),
                                Decision.ACCEPT).dossier.code
    s.dossiers.act(desk.at(START + timedelta(days=1, hours=1)).lead, stop_code, Action.STOP,
                   reason="Người yêu cầu có đơn đề nghị dừng để bổ sung giấy tờ ở nước ngoài")
    desk.codes["stopped"] = stop_code

    legacy = OfficeSettings(**{**vars(OFFICE), "regime": "2018"})
    s.office.update(SYSTEM, legacy)
    desk.codes["legacy"] = s.intake.submit(
        desk.at(START + timedelta(hours=3)).officer,
        IntakeRequest(procedure_code="1.004884", applicant=APPLICANT,
                      checklist=[ChecklistEntry(1, True), ChecklistEntry(2, True)],
                      fee_amount=8_000, delivery="post"),
        Decision.ACCEPT).dossier.code
    s.office.update(SYSTEM, OFFICE)
    return desk


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory, shared_paths: Paths) -> Iterator[Desk]:
    """One database for the tests that only read (rendering); built once per session."""
    built = build_scenario(open_desk(tmp_path_factory.mktemp("scenario") / "desk.sqlite3",
                                     shared_paths))
    try:
        yield built
    finally:
        built.services.close()


@pytest.fixture(scope="session")
def scenario_template(tmp_path_factory: pytest.TempPathFactory, shared_paths: Paths) -> Desk:
    """The scenario built once more, closed: :func:`desk` copies its file (migrations, the
    catalogue and a dozen intakes per test would dominate these tests)."""
    built = build_scenario(open_desk(tmp_path_factory.mktemp("scenario-template") /
                                     "desk.sqlite3", shared_paths))
    built.services.close()
    return built


@pytest.fixture
def desk(tmp_path: Path, shared_paths: Paths, scenario_template: Desk) -> Iterator[Desk]:
    """A database of its own, for tests that print (and so record reprint events): a copy of
    the scenario, its clock where the scenario left it."""
    copy_database(scenario_template.services.db.path, tmp_path / "desk.sqlite3")
    clock = Clock(scenario_template.clock.now)
    services = Services.open(tmp_path / "desk.sqlite3", shared_paths, config=Config(),
                             clock=clock)
    built = Desk(services, clock, scenario_template.officer, scenario_template.lead,
                 dict(scenario_template.codes))
    try:
        yield built
    finally:
        built.services.close()
