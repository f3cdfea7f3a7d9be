from __future__ import annotations

import sqlite3
from datetime import datetime

import orjson
import pytest

from ccdesk.domain.errors import InvalidInput, PermissionDenied, ValidationError
from ccdesk.paths import Paths
from ccdesk.services import SYSTEM, Actor, Services
from ccdesk.services.intake import (
    Applicant,
    ChecklistEntry,
    Decision,
    IntakeRequest,
    MissingItem,
)

from .conftest import AGENCY, set_up_office

CITIZEN = Applicant("Đặng Văn Đức", "001085012345", phone="0912 345 678",
                    address="Thôn 3, xã An Phú")


def certification(**kw: object) -> IntakeRequest:
    return IntakeRequest("2.000884", CITIZEN, [ChecklistEntry(1, True), ChecklistEntry(2, True)],
                         **kw)


def rows(svc: Services, sql: str) -> list[tuple]:
    with sqlite3.connect(svc.db.path) as con:
        return con.execute(sql).fetchall()


def test_accept_writes_dossier_checklist_event_audit_and_outbox_together(
        desk: Services, officer: Actor) -> None:
    dossier = desk.intake.submit(officer, certification(), Decision.ACCEPT).dossier
    assert dossier.code == f"{AGENCY}-261123-0001"
    assert dossier.status == "received"
    assert dossier.due_at == datetime(2026, 11, 23, 17, 0)  # same day, before 15:00
    assert dossier.fee_amount == 10000
    assert dossier.applicant_phone == "0912345678"
    detail = desk.dossiers.detail(dossier.code)
    assert [i.received for i in detail.checklist] == [True, True]
    assert [e.action for e in detail.events] == ["accept"]
    assert rows(desk, "SELECT action, dossier_code FROM auditlog WHERE dossier_code IS NOT NULL") \
        == [("accept", dossier.code)]
    [(op, entity_id, payload, digest)] = rows(
        desk, "SELECT op, entity_id, payload, payload_sha256 FROM outbox")
    assert (op, entity_id) == ("dossier.create", dossier.code)
    body = orjson.loads(payload)
    assert body["dossier"]["code"] == dossier.code
    assert len(body["checklist"]) == 2
    import hashlib
    assert hashlib.sha256(payload.encode()).hexdigest() == digest


def test_codes_run_per_day_and_restart_the_next_day(desk: Services, officer: Actor,
                                                    clock) -> None:
    codes = [desk.intake.submit(officer, certification(), Decision.ACCEPT).dossier.code
             for _ in range(3)]
    assert codes == [f"{AGENCY}-261123-000{i}" for i in (1, 2, 3)]
    clock.advance(days=1)
    assert desk.intake.submit(officer, certification(), Decision.ACCEPT).dossier.code == \
        f"{AGENCY}-261124-0001"


def test_device_prefix_keeps_desks_of_one_agency_apart(services: Services) -> None:
    set_up_office(services, device_prefix="B", code_pattern="{agency}-{yymmdd}-{device}{seq:03}")
    services.officers.add(SYSTEM, "lan", "Nguyễn Thị Lan", "officer", "1234")
    actor = services.officers.authenticate("lan", "1234")
    code = services.intake.submit(actor, certification(), Decision.ACCEPT).dossier.code
    assert code == f"{AGENCY}-261123-B001"


def test_accept_refuses_when_a_required_document_is_missing(desk: Services,
                                                           officer: Actor) -> None:
    request = IntakeRequest("2.000884", CITIZEN, [ChecklistEntry(1, True)])
    with pytest.raises(ValidationError) as info:
        desk.intake.submit(officer, request, Decision.ACCEPT)
    assert info.value.field == "checklist"
    assert "Giấy tờ tùy thân" in info.value.message("vi")
    assert rows(desk, "SELECT count(*) FROM dossier") == [(0,)]


def test_supplement_at_intake_lists_missing_items_and_starts_no_clock(
        desk: Services, officer: Actor) -> None:
    request = IntakeRequest("2.000884", CITIZEN, [ChecklistEntry(1, True)])
    result = desk.intake.submit(officer, request, Decision.SUPPLEMENT,
                                missing=[MissingItem("Bản dịch công chứng", "giấy tờ nước ngoài")])
    dossier = result.dossier
    assert (dossier.status, dossier.due_at, dossier.supplement_rounds) == \
        ("waiting_supplement", None, 1)
    [round_] = desk.dossiers.detail(dossier.code).supplements
    items = orjson.loads(round_.items)
    assert [i["name"] for i in items] == ["Giấy tờ tùy thân của người ký", "Bản dịch công chứng"]


def test_refuse_needs_a_reason(desk: Services, officer: Actor) -> None:
    with pytest.raises(ValidationError) as info:
        desk.intake.submit(officer, certification(), Decision.REFUSE)
    assert info.value.field == "reason"
    dossier = desk.intake.submit(officer, certification(), Decision.REFUSE,
                                 reason="Không thuộc thẩm quyền").dossier
    assert dossier.status == "refused" and dossier.closed_at is not None


def test_provincial_fee_must_be_entered(desk: Services, officer: Actor) -> None:
    request = IntakeRequest("1.004873", CITIZEN, [ChecklistEntry(1, True)])
    with pytest.raises(ValidationError) as info:
        desk.intake.submit(officer, request, Decision.ACCEPT)
    assert info.value.field == "fee_amount"
    request.fee_amount = 15000
    dossier = desk.intake.submit(officer, request, Decision.ACCEPT).dossier
    assert dossier.fee_amount == 15000
    assert dossier.due_at == datetime(2026, 11, 27, 9, 15)  # 3 WD; 24/11 is a day off


def test_bad_input_changes_nothing(desk: Services, officer: Actor) -> None:
    bad = IntakeRequest("2.000884", Applicant("", "12"), [], channel="fax", sets=0)
    with pytest.raises(InvalidInput):
        desk.intake.submit(officer, bad, Decision.ACCEPT)
    assert rows(desk, "SELECT count(*) FROM dossier") == [(0,)]
    assert rows(desk, "SELECT count(*) FROM outbox") == [(0,)]


def test_nfd_input_is_stored_as_nfc(desk: Services, officer: Actor) -> None:
    import unicodedata

    name = unicodedata.normalize("NFD", "Nguyễn Thị Hoà")
    request = certification()
    request.applicant = Applicant(name, "001185012345")
    dossier = desk.intake.submit(officer, request, Decision.ACCEPT).dossier
    assert dossier.applicant_name == unicodedata.normalize("NFC", "Nguyễn Thị Hoà")
    assert "nguyen thi hoa" in dossier.search_text


def test_returning_citizen_is_found_by_id(desk: Services, officer: Actor) -> None:
    assert desk.intake.lookup_citizen("001085012345") is None
    desk.intake.submit(officer, certification(), Decision.ACCEPT)
    found = desk.intake.lookup_citizen("001 085 012345")
    assert found is not None
    assert (found.full_name, found.phone, found.address) == \
        ("Đặng Văn Đức", "0912345678", "Thôn 3, xã An Phú")


def test_training_databases_write_no_outbox_rows(paths: Paths, clock) -> None:
    svc = Services.open(paths.data_dir / "training.sqlite3", paths, clock=clock, training=True)
    set_up_office(svc)
    svc.officers.add(SYSTEM, "gv", "Giáo Viên", "trainer", "1234")
    trainer = svc.officers.authenticate("gv", "1234")
    svc.intake.submit(trainer, certification(), Decision.ACCEPT)
    assert rows(svc, "SELECT count(*) FROM dossier") == [(1,)]
    assert rows(svc, "SELECT count(*) FROM outbox") == [(0,)]
    svc.close()


def test_trainers_cannot_work_on_real_databases(desk: Services) -> None:
    desk.officers.add(SYSTEM, "gv", "Giáo Viên", "trainer", "1234")
    trainer = desk.officers.authenticate("gv", "1234")
    with pytest.raises(PermissionDenied):
        desk.intake.submit(trainer, certification(), Decision.ACCEPT)


# ---- the rest of the chip ID card: old CMND, sex, issue date (migration 0012) ---------------
def _card_request(**card: object) -> IntakeRequest:
    from dataclasses import replace

    request = certification()
    request.applicant = replace(CITIZEN, date_of_birth=datetime(1985, 1, 1).date(), **card)
    return request


def test_the_card_fields_are_stored_sent_upstream_and_found_again(
        desk: Services, officer: Actor) -> None:
    from datetime import date

    request = _card_request(old_id_number="012 345 678", sex="male",
                            id_issued_on=date(2021, 4, 15))
    dossier = desk.intake.submit(officer, request, Decision.ACCEPT).dossier
    assert rows(desk, "SELECT applicant_old_id, applicant_sex, applicant_id_issued "
                      "FROM dossier") == [("012345678", "male", "2021-04-15")]
    [(payload,)] = rows(desk, "SELECT payload FROM outbox")
    sent = orjson.loads(payload)["dossier"]
    assert (sent["applicant_old_id"], sent["applicant_sex"], sent["applicant_id_issued"]) == \
        ("012345678", "male", "2021-04-15")
    found = desk.intake.lookup_citizen(dossier.applicant_id_number)
    assert found is not None
    assert (found.old_id_number, found.sex, found.id_issued_on) == \
        ("012345678", "male", date(2021, 4, 15))


@pytest.mark.parametrize(("card", "field", "key"), [
    ({"old_id_number": "12345678"}, "old_id_number", "core.applicant_card.old_id"),
    ({"old_id_number": "12345678a"}, "old_id_number", "core.applicant_card.old_id"),
    ({"sex": "other"}, "sex", "core.applicant_card.sex"),
    ({"sex": "female"}, "sex", "core.applicant_card.sex_mismatch"),  # 4th digit 0: male
    ({"id_issued_on": datetime(2026, 11, 24).date()}, "id_issued_on",
     "core.applicant_card.issued_future"),  # the clock says 23/11/2026
    ({"id_issued_on": datetime(1984, 12, 31).date()}, "id_issued_on",
     "core.applicant_card.issued_before_birth"),
])
def test_bad_card_fields_are_refused_naming_the_field(desk: Services, officer: Actor,
                                                     card: dict, field: str, key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        desk.intake.submit(officer, _card_request(**card), Decision.ACCEPT)
    assert [(e.field, e.key) for e in caught.value.errors] == [(field, key)]
    assert rows(desk, "SELECT count(*) FROM dossier") == [(0,)]


def test_the_card_fields_are_optional(desk: Services, officer: Actor) -> None:
    dossier = desk.intake.submit(officer, _card_request(), Decision.ACCEPT).dossier
    assert (dossier.applicant_old_id, dossier.applicant_sex, dossier.applicant_id_issued) == \
        ("", "", None)
