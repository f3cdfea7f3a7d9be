"""Linked intakes (liên thông): one transaction for the group and its member dossiers, the
combined due time, shared papers asked once, the state derived from the members, and the group
travelling upstream in each member's create payload."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date, datetime

import orjson
import pytest
from sqlmodel import select

from ccdesk.domain.errors import CcdeskError, InvalidInput, ValidationError
from ccdesk.domain.lifecycle import Action
from ccdesk.domain.linked import Agency, GroupState
from ccdesk.models import ChecklistItem, Dossier, LinkedGroup, LinkedMember, Outbox
from ccdesk.services import Actor, Services
from ccdesk.services.linked import LinkedRequest
from tests.conftest import CITIZEN, NOW

CHILD = ("Nguyễn Minh Khôi", date(2026, 11, 20))
DECEASED = ("Trần Văn Bảy", date(2026, 11, 21))


def birth_request(services: Services, **fields: object) -> LinkedRequest:
    """Every paper of the birth group's combined checklist received."""
    items = services.linked.checklist("LT-KS")
    return LinkedRequest("LT-KS", CITIZEN, *CHILD, received=list(range(len(items))),
                         **fields)  # type: ignore[arg-type]


def counts(services: Services) -> tuple[int, int, int, int]:
    with closing(sqlite3.connect(services.db.path)) as conn:
        return tuple(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                     for table in ("dossier", "linked_group", "linked_member", "outbox"))


def test_birth_group_creates_one_dossier_per_member_with_the_combined_due(
        desk: Services, officer: Actor) -> None:
    view = desk.linked.accept(officer, birth_request(desk))

    assert view.code.startswith("LT-000.17.22.H56-261123-")
    assert [m.procedure_code for m in view.members] == ["1.001193", "1.004222", "1.004181"]
    assert [m.agency for m in view.members] == [Agency.JUSTICE, Agency.POLICE,
                                                Agency.SOCIAL_INSURANCE]
    # Monday 23/11/2026 09:15 + 3 working days, Tuesday 24/11 (Culture Day) off: Friday 27/11
    # at the same time, whatever the members' own times (birth: same day; residence: 7 days).
    assert view.due_at == datetime(2026, 11, 27, 9, 15)
    assert {m.due_at for m in view.members} == {view.due_at}
    assert len({m.code for m in view.members}) == 3
    assert view.state == GroupState.IN_PROGRESS
    with desk.db.session() as session:
        dossiers = session.exec(select(Dossier).order_by(Dossier.id)).all()
        assert [d.applicant_name for d in dossiers] == [CITIZEN.full_name] * 3
        assert all(d.original_due_at == view.due_at for d in dossiers)
        group = session.exec(select(LinkedGroup)).one()
        assert (group.subject_name, group.subject_date) == CHILD


def test_a_shared_paper_is_asked_once_and_ticked_for_every_member(desk: Services,
                                                                   officer: Actor) -> None:
    items = desk.linked.checklist("LT-KS")
    names = [i.name for i in items]
    shared = "Giấy tờ tùy thân của người đi đăng ký (CCCD/hộ chiếu)"
    assert names.count(shared) == 1
    assert len(next(i for i in items if i.name == shared).holders) == 2
    # the birth extract is the group's own result: never asked of the citizen
    assert "Trích lục khai sinh" not in names

    view = desk.linked.accept(officer, birth_request(desk))
    with desk.db.session() as session:
        card = session.exec(select(Dossier).where(Dossier.code == view.members[2].code)).one()
        ticked = session.exec(select(ChecklistItem).where(
            ChecklistItem.dossier_id == card.id)).all()
    assert all(item.received for item in ticked)
    assert any("nhóm liên thông" in item.note for item in ticked)


def test_missing_required_paper_refuses_the_whole_group_and_writes_nothing(
        desk: Services, officer: Actor) -> None:
    before = counts(desk)
    request = birth_request(desk)
    request.received = request.received[1:]   # the birth declaration form is not there
    with pytest.raises(ValidationError) as err:
        desk.linked.accept(officer, request)
    assert "Tờ khai đăng ký khai sinh" in err.value.message("vi")
    assert counts(desk) == before


class Boom(Exception):
    """Raised inside the transaction, after some members were written."""


def test_group_creation_is_atomic(desk: Services, officer: Actor,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after the second member is written leaves no group, no dossier, no outbox."""
    before = counts(desk)
    written: list[str] = []
    original = desk.intake.record

    def record_then_fail(*args: object, **kwargs: object):  # noqa: ANN202
        result = original(*args, **kwargs)  # type: ignore[arg-type]
        written.append(result.dossier.code)
        if len(written) == 2:
            raise Boom("after the second member")
        return result

    monkeypatch.setattr(desk.intake, "record", record_then_fail)
    with pytest.raises(Boom):
        desk.linked.accept(officer, birth_request(desk))
    assert len(written) == 2
    assert counts(desk) == before
    # the codes were not used up either: the next group starts where the first would have
    view = desk.linked.accept(officer, birth_request(desk))
    assert view.members[0].code == written[0]


def test_death_group_optional_members_and_required_ones(desk: Services,
                                                        officer: Actor) -> None:
    skipped = ["1.001731"]
    items = desk.linked.checklist("LT-KT", skipped)
    request = LinkedRequest("LT-KT", CITIZEN, *DECEASED, received=list(range(len(items))),
                            skipped=skipped)
    view = desk.linked.accept(officer, request)
    assert [m.procedure_code for m in view.members] == ["1.000656", "1.004194", "1.004252"]
    assert view.due_at == datetime(2026, 12, 1, 9, 15)  # 5 working days, 24/11 off
    with pytest.raises(ValidationError, match="1.004194 là bắt buộc"):
        desk.linked.checklist("LT-KT", ["1.004194"])


def test_subject_is_checked(desk: Services, officer: Actor) -> None:
    request = birth_request(desk)
    request.subject_date = date(2019, 1, 1)   # seven: over the birth group's age limit
    with pytest.raises(InvalidInput) as err:
        desk.linked.accept(officer, request)
    assert "dưới 6 tuổi" in err.value.message("vi")
    request.subject_date, request.subject_name = date(2027, 1, 1), "Khôi 2"
    with pytest.raises(InvalidInput) as err:
        desk.linked.accept(officer, request)
    text = err.value.message("vi")
    assert "Họ tên trẻ / người chết" in text and "tương lai" in text


def test_state_is_derived_from_the_members(desk: Services, officer: Actor) -> None:
    view = desk.linked.accept(officer, birth_request(desk))
    justice, police, card = (m.code for m in view.members)
    desk.dossiers.act(officer, justice, Action.MARK_READY)
    desk.dossiers.act(officer, police, Action.HAND_OFF, body="Công an xã")
    assert desk.linked.view(view.code).state == GroupState.IN_PROGRESS
    desk.dossiers.act(officer, police, Action.RESULT_BACK)
    desk.dossiers.act(officer, police, Action.MARK_READY)
    desk.dossiers.act(officer, card, Action.HAND_OFF, body="Bảo hiểm xã hội cơ sở")
    desk.dossiers.act(officer, card, Action.RESULT_BACK)
    assert desk.linked.view(view.code).state == GroupState.IN_PROGRESS
    desk.dossiers.act(officer, card, Action.MARK_READY)
    after = desk.linked.view(view.code)
    assert after.state == GroupState.DONE
    with closing(sqlite3.connect(desk.db.path)) as conn:   # never stored twice
        columns = [r[1] for r in conn.execute("PRAGMA table_info(linked_group)")]
    assert not {"state", "status"} & set(columns)
    assert desk.linked.group_of(police).code == view.code  # type: ignore[union-attr]
    for member in after.members:
        desk.dossiers.act(officer, member.code, Action.RETURN_RESULT)
    assert desk.linked.view(view.code).state == GroupState.RETURNED


def test_each_member_create_payload_carries_its_group(desk: Services, officer: Actor) -> None:
    view = desk.linked.accept(officer, birth_request(desk))
    with desk.db.session() as session:
        rows = session.exec(select(Outbox).where(Outbox.op == "dossier.create")).all()
    payloads = {r.entity_id: orjson.loads(r.payload) for r in rows}
    for member in view.members:
        linked = payloads[member.code]["event"]["data"]["linked"]
        assert linked == {"group": view.code, "kind": "birth", "agency": member.agency.value}
    assert len(payloads) == 3


def test_unknown_group_and_missing_member_procedure(desk: Services, officer: Actor) -> None:
    with pytest.raises(CcdeskError, match="LT-XX"):
        desk.linked.checklist("LT-XX")
    with desk.db.session() as session:
        from ccdesk.models import Procedure

        procedure = session.get(Procedure, "1.004181")
        procedure.active = False  # type: ignore[union-attr]
        session.add(procedure)
        session.commit()
    with pytest.raises(ValidationError) as err:
        desk.linked.checklist("LT-KS")
    assert "1.004181" in err.value.message("vi")
    with desk.db.session() as session:
        assert session.exec(select(LinkedMember)).all() == []
    assert NOW.weekday() == 0


def test_migration_down_keeps_the_members_and_up_brings_the_tables_back(
        desk: Services, officer: Actor) -> None:
    from alembic import command

    from ccdesk.storage.migrate import alembic_config

    view = desk.linked.accept(officer, birth_request(desk))
    cfg = alembic_config(str(desk.db.engine.url))
    with desk.db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0019_search_orders")
    with closing(sqlite3.connect(desk.db.path)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        codes = {r[0] for r in conn.execute("SELECT code FROM dossier")}
    assert not {"linked_group", "linked_member"} & tables
    assert {m.code for m in view.members} <= codes   # ordinary dossiers from now on
    with desk.db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0024_linked_groups")
    again = desk.linked.accept(officer, birth_request(desk))
    assert desk.linked.view(again.code).members[0].code == again.members[0].code
    assert desk.linked.group_of(view.members[0].code) is None


def test_search_finds_groups_by_phrase_accents_ignored(desk: Services) -> None:
    def codes(query: str) -> list[str]:
        return [g.code for g in desk.linked.search(query)]

    assert codes("lien thong") == ["LT-KS", "LT-KT"]
    assert codes("khai tu") == ["LT-KT"]
    assert codes("lien thong khai tu") == ["LT-KT"]
    assert codes("lien th") == ["LT-KS", "LT-KT"]
    assert codes("Khai sinh") == ["LT-KS"]
    assert codes("BHYT") == ["LT-KS"]
    assert codes("funeral") == ["LT-KT"]
    assert codes("chung thuc") == []
