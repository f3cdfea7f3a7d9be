"""Property tests over random lifecycles: the II.06a invariants hold, no dossier is counted
twice, and the SQL aggregate of ``ReportService`` (report facts kept by the event trigger,
history replayed for past periods) agrees with the domain rules dossier for dossier, on a real
SQLite file."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import select

from ccdesk.domain.indicators import tally_766
from ccdesk.domain.reports import DossierFacts, ExtensionFacts, Period, classify, tally
from ccdesk.models import Dossier, DossierEvent, Extension, ProcedureVersion
from ccdesk.paths import Paths
from ccdesk.services import Services
from tests.services.conftest import FakeClock
from tests.services.lifecycles import PROCEDURES, Life, lives
from tests.services.reports_kit import set_up_office

periods = st.builds(
    lambda start, length: Period(start, start + timedelta(days=length)),
    st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 4, 15)),
    st.integers(min_value=0, max_value=60))
nows = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1))


def at_now(items: list[Life], now: datetime) -> list[Life]:
    """The dossiers as they stood at ``now``: nothing happens in the future."""
    return [life for life in (item.until(now) for item in items) if life is not None]


@given(st.lists(lives(), min_size=5, max_size=40), periods, nows)
def test_invariants_and_each_dossier_counted_once(items, period: Period, now: datetime) -> None:
    dossiers = [life.facts() for life in at_now(items, now)]
    counts = tally(dossiers, period, now)
    assert counts.received == counts.online + counts.direct_postal + counts.carried_over
    assert counts.received == counts.resolved + counts.in_progress
    placed = [c for c in (classify(f, period, now) for f in dossiers) if c is not None]
    assert counts.received == len(placed)  # one received column and one outcome per dossier
    if counts.resolved:
        assert 0 <= counts.on_time_rate <= 1


@given(st.lists(lives(), min_size=5, max_size=40), periods)
def test_consecutive_periods_chain(items, first: Period) -> None:
    """What is in progress at the end of one period is exactly what the next carries over."""
    dossiers = [life.facts() for life in items]
    second = Period(first.end + timedelta(days=1), first.end + timedelta(days=31))
    now = datetime(2030, 1, 1)
    assert tally(dossiers, first, now).in_progress == tally(dossiers, second,
                                                            now).carried_over


@pytest.fixture(scope="module")
def report_db(tmp_path_factory: pytest.TempPathFactory) -> Services:
    root: Path = tmp_path_factory.mktemp("props")
    paths = Paths(data_dir=root / "data", config_dir=root / "config")
    svc = Services.open(paths.default_db, paths, clock=FakeClock(datetime(2026, 12, 31, 12)))
    set_up_office(svc)
    yield svc
    svc.close()


def _store(svc: Services, items: list[Life]) -> None:
    """The rows the services would have written: the dossier as it is now, its extensions,
    then its events (whose trigger keeps the report facts)."""
    def work(session) -> None:  # noqa: ANN001
        # A fresh history per example: lift the append-only guard for this test file only.
        session.execute(text("DROP TRIGGER dossierevent_no_delete"))
        session.execute(text("DELETE FROM dossierevent"))
        session.execute(text(
            "CREATE TRIGGER dossierevent_no_delete BEFORE DELETE ON dossierevent "
            "BEGIN SELECT RAISE(ABORT, 'dossierevent is append-only'); END"))
        for table in ("extension", "dossier"):
            session.execute(text(f"DELETE FROM {table}"))
        versions = {v.procedure_code: v for v in session.exec(select(ProcedureVersion)).all()}
        for i, life in enumerate(items):
            version = versions[life.code]
            row = {k: v for k, v in life.row.items() if k != "resume_status"}
            dossier = Dossier(
                code=f"T-{i:05d}", procedure_version_id=version.id, procedure_code=life.code,
                field=version.field, regime=life.regime, applicant_name="Nguyễn Văn A",
                applicant_id_number="001203012345", channel=life.channel,
                received_at=life.received_at, **row)
            session.add(dossier)
            session.flush()
            for ext in life.extensions:
                session.add(Extension(dossier_id=dossier.id, seq=ext.seq,
                                      original_due=ext.original_due, new_due=ext.new_due,
                                      reason="x", at=ext.at))
            session.flush()
            for event in life.events:
                session.add(DossierEvent(dossier_id=dossier.id, at=event.at,
                                         action=event.action, from_status=event.from_status,
                                         to_status=event.to_status,
                                         data=orjson.dumps(event.data).decode()))
                session.flush()

    svc.db.write(work)


def _check(svc: Services, items: list[Life], period: Period, now: datetime) -> None:
    """The SQL report equals the pure rules, in total, per row and on the guidance line."""
    lives_now = at_now(items, now)
    _store(svc, lives_now)
    svc.ctx.clock = lambda: now
    report = svc.reports.period_report(period.start, period.end)
    facts = [(life.code, life.facts()) for life in lives_now]
    assert report.total == tally([f for _, f in facts], period, now)
    assert report.guidance == tally([f for _, f in facts], period, now, guidance_only=True)
    for row in report.rows:
        assert row.counts == tally([f for code, f in facts if code == row.procedure_code],
                                   period, now)
        assert row.counts.received == row.counts.resolved + row.counts.in_progress
    assert sum(r.counts.received for r in report.rows) == report.total.received
    assert sum(g.counts.received for g in report.groups) == report.total.received
    counted_in_period = [f for _, f in facts if f.status != "refused" or f.supplement_rounds]
    received_in_period = [f for f in counted_in_period
                          if period.start_at <= f.received_at < period.end_at]
    assert sum(report.channels.values()) == len(received_in_period)
    indicators = svc.reports.indicators_766(period.start, period.end)
    expected = tally_766([f for _, f in facts], period)
    assert (indicators.on_time.ended, indicators.on_time.on_time) == (expected.ended,
                                                                      expected.on_time)
    assert indicators.channels == report.channels


@pytest.mark.slow  # 80 examples, each a database of 10-40 dossiers
@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(lives(), min_size=10, max_size=40), period=periods, now=nows)
def test_sql_report_matches_the_domain_rules(report_db: Services, items, period: Period,
                                             now: datetime) -> None:
    _check(report_db, items, period, now)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def scripted(received: str, *steps: tuple, channel: str = "direct", regime: str = "2025",
             code: str = PROCEDURES[0]) -> Life:
    """A dossier from a script: ("accept", due) | ("supplement",) | ("refuse",) at intake,
    then (time, action, ...) steps."""
    life = Life(code=code, regime=regime, channel=channel, received_at=_at(received))
    first, *rest = steps
    at = life.received_at
    if first[0] == "accept":
        due = _at(first[1])
        life.record(at, "accept", "received", accepted_at=at, due_at=due, original_due_at=due)
    elif first[0] == "supplement":
        life.record(at, "request_supplement", "waiting_supplement", paused_at=at,
                    supplement_rounds=1)
    else:
        life.record(at, "refuse", "refused", closed_at=at)
    for when, action, *args in rest:
        t = _at(when)
        if action == "ready":
            life.record(t, "mark_ready", "result_ready", ready_at=t)
        elif action == "return":
            life.record(t, "return_result", "returned", returned_at=t, closed_at=t)
        elif action == "refuse":
            life.record(t, "refuse", "refused", closed_at=t, paused_at=None)
        elif action == "pause":
            rounds = life.row.get("supplement_rounds", 0) + 1
            life.record(t, "request_supplement", "waiting_supplement", paused_at=t,
                        resume_status=life.row["status"], supplement_rounds=rounds)
        elif action == "resume":
            due = _at(args[0])
            life.record(t, "supplement_received", "received", due_at=due, paused_at=None,
                        resume_status=None, data={"due_at": due.isoformat()})
        elif action == "extend":
            old, new = life.row["due_at"], _at(args[0])
            seq = len(life.extensions) + 1
            life.extensions.append(ExtensionFacts(seq, t, old, new))
            life.record(t, "extend", life.row["status"], due_at=new, extensions=seq,
                        data={"new_due": new.isoformat(), "seq": seq})
    return life


# Boundaries random lifecycles rarely hit exactly, run through the SQL path too.
EDGES = [
    scripted("2026-03-02 09:00", ("accept", "2026-03-04 17:00"),
             ("2026-03-04 17:00", "ready"), ("2026-03-04 17:00", "return")),
    scripted("2026-03-02 09:00", ("accept", "2026-03-10 17:00"),
             ("2026-04-02 09:00", "pause"), channel="postal"),
    scripted("2026-03-02 09:00", ("accept", "2026-03-10 17:00"),
             ("2026-03-31 23:59", "pause"), channel="online_full"),
    scripted("2026-03-02 09:00", ("accept", "2026-04-01 00:00")),
    scripted("2026-03-02 09:00", ("accept", "2026-03-31 23:59")),
    scripted("2026-03-02 09:00", ("accept", "2026-03-10 17:00"),
             ("2026-03-10 17:00", "extend", "2026-03-20 17:00"),
             ("2026-03-18 10:00", "ready"), ("2026-03-18 10:05", "return"),
             channel="online_partial"),
    scripted("2026-03-02 09:00", ("accept", "2026-03-10 17:00"),
             ("2026-03-09 17:00", "extend", "2026-03-20 17:00"),
             ("2026-03-18 10:00", "ready"), ("2026-03-18 10:05", "return"), regime="2018"),
    scripted("2026-02-27 16:00", ("accept", "2026-03-02 17:00"),
             ("2026-03-01 00:00", "ready"), ("2026-03-01 00:00", "return")),
    scripted("2026-03-02 09:00", ("refuse",)),
    scripted("2026-03-01 00:00", ("accept", "2026-03-03 17:00"),
             ("2026-04-01 00:00", "ready"), ("2026-04-01 00:00", "return"),
             channel="online_full"),
    scripted("2026-03-02 09:00", ("supplement",), ("2026-03-20 09:00", "refuse")),
    # ready on time, collected three weeks later: on time
    scripted("2026-03-02 09:00", ("accept", "2026-03-04 17:00"),
             ("2026-03-04 10:00", "ready"), ("2026-03-25 10:00", "return")),
    # ready on time in March, collected in April: resolved in March, not carried over
    scripted("2026-03-12 09:00", ("accept", "2026-03-20 17:00"),
             ("2026-03-20 16:00", "ready"), ("2026-04-06 08:00", "return")),
    # overdue at the end of March; a supplement wait in April moved its due time past then
    scripted("2026-03-16 09:00", ("accept", "2026-03-25 17:00"),
             ("2026-04-02 09:00", "pause"), ("2026-04-09 09:00", "resume", "2026-04-15 17:00"),
             ("2026-04-10 09:00", "ready"), channel="postal"),
]


@pytest.mark.parametrize("now", [datetime(2026, 3, 31, 12), datetime(2026, 6, 1)])
def test_sql_report_matches_the_domain_rules_on_boundaries(report_db: Services,
                                                           now: datetime) -> None:
    for i, life in enumerate(EDGES):
        life.code = PROCEDURES[i % 3]
    march = Period(date(2026, 3, 1), date(2026, 3, 31))
    _check(report_db, EDGES, march, now)
    facts = [life.facts() for life in at_now(EDGES, now)]
    assert tally(facts, march, now).received == len(EDGES) - 1  # not the refusal at intake


def test_history_decides_a_past_period() -> None:
    """The last edge: overdue at the end of March by its history, though today's row (due
    15/04, result ready 10/04) would say it was within time."""
    march = Period(date(2026, 3, 1), date(2026, 3, 31))
    life = EDGES[-1]
    assert classify(life.facts(), march, datetime(2026, 6, 1)).outcome == "overdue"
    row_only = DossierFacts(**{**life.facts().__dict__, "history": ()})
    assert classify(row_only, march, datetime(2026, 6, 1)).outcome == "within"
