"""Property tests over random lifecycles: the II.06a invariants hold, no dossier is counted
twice, and the SQL aggregate of ``ReportService`` agrees with the domain rules dossier for
dossier (on a real SQLite file)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import select

from ccdesk.domain.reports import (
    CHANNELS,
    DossierFacts,
    ExtensionFacts,
    Period,
    classify,
    tally,
)
from ccdesk.models import Dossier, Extension, ProcedureVersion
from ccdesk.paths import Paths
from ccdesk.services import Services
from tests.core.conftest import FakeClock
from tests.reports.conftest import set_up_office

BASE = datetime(2026, 1, 5, 7, 30)
PROCEDURES = ("1.001193", "2.000815", "1.004873")


# Offsets around a due time, often exactly on it or a minute either side (the boundaries).
near_zero = st.one_of(st.sampled_from((0, -1, 1, -60 * 24, 60 * 24)),
                      st.integers(-60 * 24 * 12, 60 * 24 * 12))


@st.composite
def lifecycles(draw: st.DrawFn) -> tuple[str, DossierFacts]:
    """A dossier somewhere in its life, shaped like the services shape them."""
    minutes = st.integers(min_value=0, max_value=60 * 24 * 20)
    received = BASE + timedelta(minutes=draw(st.integers(0, 60 * 24 * 90)))
    channel = draw(st.sampled_from(CHANNELS))
    regime = draw(st.sampled_from(("2025", "2018")))
    code = draw(st.sampled_from(PROCEDURES))
    kind = draw(st.sampled_from(("refused", "supplement", "accepted", "accepted",
                                 "accepted")))
    if kind == "refused":
        return code, DossierFacts("refused", channel, received, closed_at=received,
                                  regime=regime)
    rounds, accepted, paused = 0, received, None
    if kind == "supplement":
        rounds = 1
        ending = draw(st.sampled_from(("waiting", "refused", "withdrawn", "completed")))
        later = received + timedelta(minutes=draw(minutes))
        if ending == "waiting":
            return code, DossierFacts("waiting_supplement", channel, received,
                                      paused_at=received, supplement_rounds=1, regime=regime)
        if ending in ("refused", "withdrawn"):
            return code, DossierFacts(ending, channel, received, closed_at=later,
                                      supplement_rounds=1, regime=regime)
        accepted = later
    due = accepted + timedelta(minutes=draw(minutes))
    extensions: list[ExtensionFacts] = []
    for seq in range(1, draw(st.integers(0, 2)) + 1):
        at = due + timedelta(minutes=draw(near_zero))
        new_due = due + timedelta(minutes=draw(st.integers(1, 60 * 24 * 10)))
        extensions.append(ExtensionFacts(seq, at, due, new_due))
        due = new_due
    state = draw(st.sampled_from(("returned", "returned", "stopped", "withdrawn", "received",
                                  "in_progress", "handed_off", "result_ready", "paused")))
    closed = None
    if state in ("returned", "stopped", "withdrawn"):
        closed = max(accepted, due + timedelta(minutes=draw(near_zero)))
    if state == "paused":
        state, rounds = "waiting_supplement", rounds + 1
        paused = max(accepted, due + timedelta(minutes=draw(near_zero)))
    return code, DossierFacts(state, channel, received, accepted_at=accepted, due_at=due,
                              closed_at=closed, paused_at=paused, supplement_rounds=rounds,
                              regime=regime, extensions=tuple(extensions))


periods = st.builds(
    lambda start, length: Period(start, start + timedelta(days=length)),
    st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 4, 15)),
    st.integers(min_value=0, max_value=60))
nows = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1))


@given(st.lists(lifecycles(), min_size=5, max_size=40), periods, nows)
def test_invariants_and_each_dossier_counted_once(items, period: Period, now: datetime) -> None:
    dossiers = [f for _, f in items]
    counts = tally(dossiers, period, now)
    assert counts.received == counts.online + counts.direct_postal + counts.carried_over
    assert counts.received == counts.resolved + counts.in_progress
    placed = [c for c in (classify(f, period, now) for f in dossiers) if c is not None]
    assert counts.received == len(placed)  # one received column and one outcome per dossier
    if counts.resolved:
        assert 0 <= counts.on_time_rate <= 1


@given(st.lists(lifecycles(), min_size=5, max_size=40), periods)
def test_consecutive_periods_chain(items, first: Period) -> None:
    """What is in progress at the end of one period is exactly what the next carries over."""
    dossiers = [f for _, f in items]
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


def _store(svc: Services, items: list[tuple[str, DossierFacts]]) -> None:
    def work(session) -> None:  # noqa: ANN001
        session.execute(text("DELETE FROM extension"))
        session.execute(text("DELETE FROM dossier"))
        versions = {v.procedure_code: v for v in session.exec(select(ProcedureVersion)).all()}
        for i, (code, f) in enumerate(items):
            version = versions[code]
            dossier = Dossier(
                code=f"T-{i:05d}", procedure_version_id=version.id, procedure_code=code,
                field=version.field, regime=f.regime, applicant_name="Nguyễn Văn A",
                applicant_id_number="001203012345", channel=f.channel,
                received_at=f.received_at, accepted_at=f.accepted_at, due_at=f.due_at,
                original_due_at=f.due_at, status=f.status, paused_at=f.paused_at,
                supplement_rounds=f.supplement_rounds, closed_at=f.closed_at,
                returned_at=f.closed_at if f.status == "returned" else None,
                extensions=len(f.extensions))
            session.add(dossier)
            session.flush()
            for ext in f.extensions:
                session.add(Extension(dossier_id=dossier.id, seq=ext.seq,
                                      original_due=ext.original_due, new_due=ext.new_due,
                                      reason="x", at=ext.at))

    svc.db.write(work)


@pytest.mark.slow  # 80 examples, each a database of 10-40 dossiers
@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(lifecycles(), min_size=10, max_size=40), period=periods, now=nows)
def test_sql_report_matches_the_domain_rules(report_db: Services, items, period: Period,
                                             now: datetime) -> None:
    _store(report_db, items)
    report_db.ctx.clock = lambda: now
    report = report_db.reports.period_report(period.start, period.end)
    expected_total = tally([f for _, f in items], period, now)
    assert report.total == expected_total
    for row in report.rows:
        assert row.counts == tally([f for code, f in items if code == row.procedure_code],
                                   period, now)
        assert row.counts.received == row.counts.resolved + row.counts.in_progress
    assert sum(r.counts.received for r in report.rows) == report.total.received
    assert sum(g.counts.received for g in report.groups) == report.total.received
    counted_in_period = [f for _, f in items if f.status != "refused" or f.supplement_rounds]
    received_in_period = [f for f in counted_in_period
                          if period.start_at <= f.received_at < period.end_at]
    assert sum(report.channels.values()) == len(received_in_period)


def _f(**kw) -> DossierFacts:
    at = datetime.fromisoformat
    values = {k: (at(v) if isinstance(v, str) and k.endswith(("_at", "due")) else v)
              for k, v in kw.items()}
    values.setdefault("accepted_at", values["received_at"])
    return DossierFacts(**values)


# Boundaries random lifecycles rarely hit exactly, run through the SQL path too.
EDGES = [
    _f(status="returned", channel="direct", received_at="2026-03-02 09:00",
       due_at="2026-03-04 17:00", closed_at="2026-03-04 17:00"),
    _f(status="waiting_supplement", channel="postal", received_at="2026-03-02 09:00",
       due_at="2026-03-10 17:00", paused_at="2026-04-02 09:00", supplement_rounds=1),
    _f(status="waiting_supplement", channel="online_full", received_at="2026-03-02 09:00",
       due_at="2026-03-10 17:00", paused_at="2026-03-31 23:59", supplement_rounds=1),
    _f(status="in_progress", channel="direct", received_at="2026-03-02 09:00",
       due_at="2026-04-01 00:00"),
    _f(status="in_progress", channel="direct", received_at="2026-03-02 09:00",
       due_at="2026-03-31 23:59"),
    _f(status="returned", channel="online_partial", received_at="2026-03-02 09:00",
       due_at="2026-03-20 17:00", closed_at="2026-03-18 10:00",
       extensions=(ExtensionFacts(1, datetime(2026, 3, 10, 17), datetime(2026, 3, 10, 17),
                                  datetime(2026, 3, 20, 17)),)),
    _f(status="returned", channel="direct", received_at="2026-03-02 09:00", regime="2018",
       due_at="2026-03-20 17:00", closed_at="2026-03-18 10:00",
       extensions=(ExtensionFacts(1, datetime(2026, 3, 9, 17), datetime(2026, 3, 10, 17),
                                  datetime(2026, 3, 20, 17)),)),
    _f(status="returned", channel="direct", received_at="2026-02-27 16:00",
       due_at="2026-03-02 17:00", closed_at="2026-03-01 00:00"),
    _f(status="refused", channel="direct", received_at="2026-03-02 09:00", accepted_at=None,
       closed_at="2026-03-02 09:00"),
    _f(status="returned", channel="online_full", received_at="2026-03-01 00:00",
       due_at="2026-03-03 17:00", closed_at="2026-04-01 00:00"),
    _f(status="refused", channel="direct", received_at="2026-03-02 09:00", accepted_at=None,
       supplement_rounds=1, closed_at="2026-03-20 09:00"),
]


@pytest.mark.parametrize("now", [datetime(2026, 3, 31, 12), datetime(2026, 6, 1)])
def test_sql_report_matches_the_domain_rules_on_boundaries(report_db: Services,
                                                           now: datetime) -> None:
    items = [(PROCEDURES[i % 3], f) for i, f in enumerate(EDGES)]
    _store(report_db, items)
    report_db.ctx.clock = lambda: now
    march = Period(date(2026, 3, 1), date(2026, 3, 31))
    report = report_db.reports.period_report(march.start, march.end)
    assert report.total == tally(EDGES, march, now)
    assert report.total.received == 10  # the refusal at intake is not received
