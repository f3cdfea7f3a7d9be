"""Every plan of the register search (walk, FTS hits of the rarest word, long walk) gives what
a brute-force Python filter and sort over the same SQLite file gives, for every order, short
prefixes, filters and page sizes; and FTS5's own MATCH selects the same dossiers."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from ccdesk.demo import seed_demo
from ccdesk.domain.lifecycle import RUNNING_STATUSES
from ccdesk.services import Services
from ccdesk.services import search as search_module
from ccdesk.services.search import (
    PageKey,
    RegisterFilter,
    match_expression,
    words_of,
)
from tests.services.reports_kit import make_desk

NOW = datetime(2026, 11, 23, 9, 15)
RUNNING = {s.value for s in RUNNING_STATUSES}
NO_DUE = datetime(9999, 12, 31, 23, 59, 59)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory):
    svc, _ = make_desk(tmp_path_factory.mktemp("plans"), NOW)
    seed_demo(svc, 400, days=90, seed=5, outbox=False)
    with svc.db.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(text(
            "SELECT id, code, applicant_name, applicant_id_number, applicant_phone, status, "
            "channel, field, procedure_code, received_at, due_at, search_text FROM dossier"))
            .mappings()]
        office = conn.execute(text(
            "SELECT agency_code, device_prefix FROM office WHERE id = 1")).one()
    for r in rows:
        r["received_at"] = datetime.fromisoformat(r["received_at"])
        r["due_at"] = datetime.fromisoformat(r["due_at"]) if r["due_at"] else None
    yield svc, rows, frozenset(words_of(" ".join(office)))
    svc.close()


def queries(rows: list[dict], rng: random.Random) -> list[str]:
    """Short prefixes as typed: 1-3 letters of names, ID numbers, phones, code parts; and
    a few longer and multi-word ones."""
    out = ["0", "00", "001", "n", "ng", "ngu", "t", "th", "h", "2", "26", "zz", "van d",
           "nguyen v", "thi h"]
    for r in rng.sample(rows, 25):
        name = words_of(r["applicant_name"])
        for source in (name[-1], name[0], r["applicant_id_number"], r["applicant_phone"],
                       r["code"].split("-")[-2], r["code"].split("-")[-1]):
            if source:
                out.append(source[:rng.randint(1, min(len(source), 6))])
        out.append(f"{name[0]} {name[-1][:rng.randint(1, 3)]}")
    return out


def expected(rows: list[dict], common: frozenset[str], query: str, f: RegisterFilter,
             sort: str) -> list[int]:
    """The register's meaning, written plainly: every query word starts a word of the
    dossier's search text (the office's code words dropped when others remain); filters;
    then the order."""
    words = words_of(query)
    words = [w for w in words if w not in common] or words

    def match(r: dict) -> bool:
        tokens = words_of(r["search_text"])
        return all(any(t.startswith(w) for t in tokens) for w in words)

    def overdue(r: dict) -> bool:
        return r["status"] in RUNNING and r["due_at"] is not None and r["due_at"] < NOW

    def kept(r: dict) -> bool:
        day = r["received_at"].date()
        return ((f.status is None or r["status"] == f.status)
                and (f.channel is None or r["channel"] == f.channel)
                and (f.field is None or r["field"] == f.field)
                and (f.date_from is None or day >= f.date_from)
                and (f.date_to is None or day <= f.date_to)
                and (f.overdue is None or overdue(r) == f.overdue))

    hits = [r for r in rows if match(r) and kept(r)]
    if sort == "newest":
        return [r["id"] for r in sorted(hits, key=lambda r: -r["id"])]
    by_due = sorted(hits, key=lambda r: (r["due_at"] or NO_DUE, r["id"]))
    if sort == "due":
        return [r["id"] for r in by_due]
    late = [r["id"] for r in by_due if overdue(r)]
    return late + [r["id"] for r in sorted(hits, key=lambda r: -r["id"]) if not overdue(r)]


def all_pages(svc: Services, query: str, f: RegisterFilter, sort: str, limit: int) -> list[int]:
    ids: list[int] = []
    after = None
    while True:
        page = svc.search.register_page(query, f, sort, after, limit)
        ids += [r.id for r in page.rows]
        if page.next_after is None:
            return ids
        after = PageKey.parse(page.next_after.token())


FILTERS = [RegisterFilter(), RegisterFilter(status="returned"), RegisterFilter(overdue=True),
           RegisterFilter(overdue=False, channel="direct"),
           RegisterFilter(date_from=NOW.date() - timedelta(days=20), date_to=NOW.date()),
           RegisterFilter(field="Hộ tịch", date_to=date(2026, 11, 1))]

# (walk budget, vocab bound, FTS hit cost): the defaults (small database: the walk answers),
# a tiny probe so rare words go to FTS5, a tiny probe and vocab bound so they walk on.
PLANS = [(search_module.WALK_BUDGET, search_module.VOCAB_TERMS, search_module.FTS_HIT_COST),
         (7, 2000, 0), (7, 1, 8), (40, 2000, 8)]


@pytest.mark.parametrize("plan", PLANS, ids=["default", "fts", "long-walk", "mixed"])
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_plan_matches_brute_force(seeded, monkeypatch, plan, data) -> None:
    svc, rows, common = seeded
    budget, vocab, hit_cost = plan
    monkeypatch.setattr(search_module, "WALK_BUDGET", budget)
    monkeypatch.setattr(search_module, "VOCAB_TERMS", vocab)
    monkeypatch.setattr(search_module, "FTS_HIT_COST", hit_cost)
    query = data.draw(st.sampled_from(queries(rows, random.Random(3))))
    f = data.draw(st.sampled_from(FILTERS))
    sort = data.draw(st.sampled_from(["newest", "due", "overdue"]))
    limit = data.draw(st.sampled_from([1, 5, 37, 100]))
    assert all_pages(svc, query, f, sort, limit) == expected(rows, common, query, f, sort)


def test_brute_force_meaning_is_what_fts5_selects(seeded) -> None:
    """The reference above is FTS5's MATCH of the old implementation, row for row."""
    svc, rows, common = seeded
    with svc.db.engine.connect() as conn:
        for query in queries(rows, random.Random(4)):
            fts = {r[0] for r in conn.execute(text(
                "SELECT rowid FROM dossier_fts WHERE dossier_fts MATCH :m"),
                {"m": match_expression(query, common)})}
            assert fts == set(expected(rows, common, query, RegisterFilter(), "newest")), query


def test_the_plans_are_all_taken(seeded, monkeypatch) -> None:
    """The property test above is only worth something if each plan runs on this data."""
    svc, _, _ = seeded
    taken: list[str] = []
    for name in ("_walk", "_fts"):
        real = getattr(search_module.SearchService, name)

        def spy(self, *args, _real=real, _name=name, **kwargs):  # noqa: ANN001, ANN002, ANN003
            taken.append(_name if _name == "_fts" or args[-1] is not None else "long")
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(search_module.SearchService, name, spy)
    monkeypatch.setattr(search_module, "WALK_BUDGET", 7)
    monkeypatch.setattr(search_module, "FTS_HIT_COST", 0)
    svc.search.register_page("nguyen", sort="due", limit=50)
    assert "_fts" in taken
    taken.clear()
    monkeypatch.setattr(search_module, "VOCAB_TERMS", 1)
    svc.search.register_page("nguyen", sort="due", limit=50)
    assert "long" in taken
