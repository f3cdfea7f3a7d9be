"""``seed_demo``: realistic, self-consistent sample data, and the guards around it."""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from datetime import date, datetime, timedelta

import orjson
import pytest
from sqlalchemy import text

from ccdesk.demo import RealDataPresent, seed_demo
from ccdesk.domain.lifecycle import Action, Regime, Status, next_status
from ccdesk.domain.reports import Period, ValidationError, judge, tally
from ccdesk.domain.validation import normalise_phone, validate_citizen_id
from ccdesk.paths import Paths
from ccdesk.services import Actor, Services
from tests.services.conftest import FakeClock
from tests.services.reports_kit import load_facts, make_desk
from tests.services.test_search import PEOPLE, intake

NOW = datetime(2026, 11, 23, 11, 40)
N = 1000


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory):
    svc, officer = make_desk(tmp_path_factory.mktemp("seeded"), NOW)
    report = seed_demo(svc, N, days=90, seed=20261123)
    yield svc, report, officer
    svc.close()


def query(svc: Services, sql: str, **params) -> list:
    with svc.db.engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def test_report_counts_match_the_rows(seeded) -> None:
    svc, report, _ = seeded
    assert report.dossiers == N == sum(report.by_status.values())
    assert query(svc, "SELECT COUNT(*) FROM dossier")[0][0] == N
    assert query(svc, "SELECT COUNT(*) FROM dossierevent")[0][0] == report.events
    assert query(svc, "SELECT COUNT(*) FROM rating")[0][0] == report.ratings
    assert report.first_day >= (NOW - timedelta(days=90)).date()
    assert report.last_day <= NOW.date()
    assert svc.office.get().is_demo


def test_every_lifecycle_follows_the_state_machine(seeded) -> None:
    svc, _, _ = seeded
    events: dict[int, list] = {}
    for row in query(svc, "SELECT dossier_id, at, action, from_status, to_status, data "
                          "FROM dossierevent ORDER BY id"):
        events.setdefault(row[0], []).append(row)
    dossiers = query(svc, "SELECT id, status, received_at, due_at, returned_at, closed_at, "
                          "resume_status FROM dossier")
    assert len(events) == len(dossiers)
    for d_id, status, received, due, returned, closed, _ in dossiers:
        state, resume, last = None, None, None
        for _, at, action, before, after, data in events[d_id]:
            assert before == (state.value if state else None)
            at = datetime.fromisoformat(at)
            assert at <= NOW and (last is None or at >= last)
            last = at
            if action == Action.RATE.value:
                continue
            if action == Action.REQUEST_SUPPLEMENT.value and state is not None:
                resume = state
            state = next_status(state, Action(action), Regime.R2025, resume_to=resume)
            assert after == state.value
            if action == Action.RETURN_RESULT.value:
                label = orjson.loads(data)["timeliness"]
                assert label == judge(datetime.fromisoformat(due),
                                      datetime.fromisoformat(returned)).value
        assert state.value == status
        assert events[d_id][0][1] == received
        assert (closed is not None) == Status(status).is_final


def test_people_look_real(seeded) -> None:
    svc, _, _ = seeded
    rows = query(svc, "SELECT applicant_name, applicant_id_number, applicant_phone, "
                      "applicant_dob FROM dossier")
    for name, number, phone, dob in rows:
        citizen = validate_citizen_id(number, today=NOW.date())
        assert citizen.birth_year == date.fromisoformat(dob).year
        assert phone == "" or normalise_phone(phone) == phone
        assert 2 <= len(name.split()) <= 4
    families = Counter(name.split()[0] for name, *_ in rows)
    assert 0.32 <= families["Nguyễn"] / N <= 0.45  # ~38 % in the population
    assert families["Nguyễn"] > families["Trần"] > families["Đặng"]
    assert len(families) >= 15
    assert sum(1 for _, _, phone, _ in rows if phone) / N > 0.7


def test_a_plausible_spread(seeded) -> None:
    svc, report, _ = seeded
    assert {"returned", "received", "waiting_supplement", "refused",
            "withdrawn"} <= set(report.by_status)
    assert report.by_status["returned"] / N > 0.6
    channels = dict(query(svc, "SELECT channel, COUNT(*) FROM dossier GROUP BY channel"))
    assert set(channels) == {"direct", "postal", "online_full", "online_partial"}
    assert channels["direct"] > channels["online_partial"] > channels["postal"]
    labels = Counter(orjson.loads(d)["timeliness"] for (d,) in query(
        svc, "SELECT data FROM dossierevent WHERE action = 'return_result'"))
    assert labels["early"] and labels["late"] and labels["on_time"]
    assert labels["late"] < labels["on_time"]
    assert report.extensions >= 1 and report.supplement_rounds >= 50
    levels = dict(query(svc, "SELECT level, COUNT(*) FROM rating GROUP BY level"))
    assert levels["very_satisfied"] > levels["satisfied"] > levels["dissatisfied"] > 0
    assert query(svc, "SELECT COUNT(*) FROM rating r JOIN dossier d ON d.id = r.dossier_id "
                      "WHERE d.status != 'returned' OR r.at < d.returned_at")[0][0] == 0
    # an accepted dossier has every required document; an intake supplement misses one
    assert query(svc, "SELECT COUNT(*) FROM checklistitem c JOIN dossier d "
                      "ON d.id = c.dossier_id WHERE c.requirement = 'required' AND "
                      "NOT c.received AND d.accepted_at IS NOT NULL")[0][0] == 0


def test_outbox_rows_are_what_real_changes_write(seeded) -> None:
    svc, report, _ = seeded
    assert report.outbox_rows == report.events
    rows = query(svc, "SELECT op, entity_id, payload, payload_sha256, state FROM outbox")
    creates = [r for r in rows if r[0] == "dossier.create"]
    assert len(creates) == N
    for op, entity_id, payload, digest, state in rows[:300]:
        assert hashlib.sha256(payload.encode()).hexdigest() == digest and state == "pending"
        body = orjson.loads(payload)
        if op == "dossier.create":
            assert body["dossier"]["code"] == entity_id
            assert body["dossier"]["status"] == body["event"]["to_status"]
            assert "search_text" not in body["dossier"] and "id" not in body["dossier"]
        else:
            assert body["code"] == entity_id and "changes" in body


def test_codes_are_unique_and_real_intake_continues_after_them(seeded) -> None:
    svc, _, officer = seeded
    codes = [c for (c,) in query(svc, "SELECT code FROM dossier")]
    assert len(codes) == len(set(codes))
    today = [c for c in codes if c.split("-")[-2] == NOW.strftime("%y%m%d")]
    new_code = intake(svc, officer, PEOPLE[0])
    assert int(new_code.rsplit("-", 1)[1]) == len(today) + 1
    assert svc.search.search(new_code, limit=2)[0].code == new_code


def test_report_on_demo_data_follows_the_rules(seeded) -> None:
    svc, _, _ = seeded
    facts = load_facts(svc)
    for period in (Period(date(2026, 10, 1), date(2026, 10, 31)),
                   Period(date(2026, 8, 1), date(2026, 11, 30))):
        report = svc.reports.period_report(period.start, period.end)
        assert report.total == tally(facts, period, svc.ctx.now())
        assert report.total.received == report.total.resolved + report.total.in_progress
        assert report.satisfaction.total > 0 and report.fees_collected > 0


def test_refuses_a_database_with_real_dossiers(desk: Services, officer: Actor) -> None:
    intake(desk, officer, PEOPLE[1])
    with pytest.raises(RealDataPresent) as info:
        seed_demo(desk, 10, seed=1)
    assert "1" in info.value.message("vi") and "--force" in info.value.message("en")
    assert not desk.office.get().is_demo
    seed_demo(desk, 10, seed=1, force=True)
    assert desk.office.get().is_demo
    seed_demo(desk, 5, seed=2)  # a demo database takes more demo data without --force
    assert query(desk, "SELECT COUNT(*) FROM dossier")[0][0] == 16


def test_training_sandbox_gets_no_outbox_rows(tmp_path) -> None:  # noqa: ANN001
    paths = Paths(data_dir=tmp_path / "data", config_dir=tmp_path / "config")
    svc = Services.open(paths.default_db, paths, clock=FakeClock(NOW), training=True)
    report = seed_demo(svc, 60, seed=3)
    assert report.outbox_rows == 0 and report.events > 60
    assert query(svc, "SELECT COUNT(*) FROM outbox")[0][0] == 0
    assert svc.catalog.count() > 0  # the bundled catalogue was imported on the way
    assert svc.office.get().agency_code  # a demo office header so slips print sensibly
    svc.close()


@pytest.mark.parametrize(("kwargs", "field"), [({"dossiers": 0}, "dossiers"),
                                               ({"dossiers": 5, "days": 0}, "days")])
def test_bad_sizes_are_refused_by_name(services: Services, kwargs, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        seed_demo(services, **kwargs)
    assert info.value.field == field


def test_migration_backfill_gives_what_the_event_trigger_kept(seeded) -> None:
    """0010_report_facts fills an existing file's report facts from the history; on demo data
    (every lifecycle, extensions, supplements, late pick-ups) that equals what the trigger
    kept event by event."""
    from importlib import import_module

    svc, _, _ = seeded
    facts = import_module("ccdesk.storage.migrations.versions.0010_report_facts")
    columns = ", ".join(facts.COLUMNS)
    kept = query(svc, f"SELECT id, {columns} FROM dossier ORDER BY id")
    assert any(row[5] is not None for row in kept) and any(row[5] is None for row in kept)
    with svc.db.engine.begin() as conn:
        conn.exec_driver_sql("SAVEPOINT backfill")
        cleared = ", ".join(f"{c} = NULL" for c in facts.COLUMNS)
        conn.exec_driver_sql(f"UPDATE dossier SET {cleared}")
        for statement in facts.BACKFILL:
            conn.exec_driver_sql(statement)
        again = conn.exec_driver_sql(f"SELECT id, {columns} FROM dossier ORDER BY id").all()
        conn.exec_driver_sql("ROLLBACK TO backfill")
    assert again == kept


def test_seeded_dossiers_get_register_rows_in_order_of_acceptance(seeded) -> None:
    """The demo writes rows in bulk, not through the intake service: it still numbers every
    accepted dossier in the year's register, as the desk would have (docs/forms.md)."""
    svc, _, _ = seeded
    accepted = query(svc, "SELECT COUNT(*) FROM dossier WHERE accepted_at IS NOT NULL")[0][0]
    rows = query(svc, "SELECT b.year, b.number, d.accepted_at, d.id FROM book_number b "
                      "JOIN dossier d ON d.id = b.dossier_id WHERE b.book = 'register' "
                      "ORDER BY b.year, b.number")
    assert len(rows) == accepted > 0
    for year in {r[0] for r in rows}:
        numbers = [r[1] for r in rows if r[0] == year]
        assert numbers == list(range(1, len(numbers) + 1))
        order = [(r[2], r[3]) for r in rows if r[0] == year]
        assert order == sorted(order)
    counters = dict(query(svc, "SELECT key, last_seq FROM codecounter WHERE key LIKE 'book:%'"))
    assert counters == {f"book:register:{y}": max(r[1] for r in rows if r[0] == y)
                        for y in {r[0] for r in rows}}


def test_demo_dossiers_include_representatives_organisations_and_second_parties(
        services) -> None:
    """Trainers meet every kind of applicant in the sample data, each one valid as an intake
    would have stored it (the owner's tax code passes its check digit, the spouse is of the
    other sex) and found by search under the owner's and the other party's names."""
    from stdnum.vn import mst

    seed_demo(services, 600, 90, seed=11)
    with sqlite3.connect(services.db.path) as con:
        rows = con.execute(
            "SELECT d.applicant_kind, d.owner_name, d.owner_tax_code, d.owner_id_number, "
            "d.authorisation, d.party2_name, d.applicant_sex, d.party2_id_number, v.second_party, "
            "d.code FROM dossier d JOIN procedureversion v ON v.id = d.procedure_version_id"
        ).fetchall()
    kinds = {row[0] for row in rows}
    assert kinds == {"citizen", "representative", "organisation"}
    for kind, owner, tax, owner_id, authorisation, party2, sex, party2_id, second, _ in rows:
        if kind == "organisation":
            assert owner and mst.is_valid(tax) and authorisation and not owner_id
        elif kind == "representative":
            assert owner and len(owner_id) == 12 and authorisation and not tax
        else:
            assert not (owner or tax or owner_id or authorisation)
        assert bool(party2) == bool(second)
        if second == "spouse":
            assert int(party2_id[3]) % 2 == (sex == "male")  # odd century digit: a woman
    represented = next(r for r in rows if r[0] == "representative")
    found = services.search.search(represented[1], limit=50)
    assert represented[9] in {row.code for row in found}
