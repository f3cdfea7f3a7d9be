"""Every plan of the register search (walk, FTS hits of the rarest word, long walk) gives what
a brute-force Python filter and sort over the same SQLite file gives, for every order, short
prefixes, filters and page sizes; and FTS5's own MATCH selects the same dossiers."""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text

from ccdesk.demo import seed_demo
from ccdesk.domain.lifecycle import RUNNING_STATUSES
from ccdesk.services import Services, due_blocks
from ccdesk.services import search as search_module
from ccdesk.services.search import (
    DUE_KEY,
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

# (walk budget, vocab bound, sort hits, blocks from, block bits, dense hits): the defaults
# (small database: the walk answers); a tiny probe so "due" sorts FTS5 hits; a tiny probe that
# walks on; blocks with terms cut to the prefix indexes (vocab bound 1); blocks of 8 and 64 ids,
# read by id or walked; a mix.
PLANS = [(search_module.WALK_BUDGET, search_module.VOCAB_TERMS, search_module.SORT_HITS,
          search_module.BLOCKS_FROM, due_blocks.BLOCK_BITS, due_blocks.DENSE_HITS),
         (7, 2000, 10**6, 0, 13, 256), (7, 2000, 0, 10**9, 13, 256),
         (7, 1, 0, 0, 13, 256), (7, 2000, 0, 0, 3, 3), (7, 2000, 0, 0, 6, 5),
         (40, 2000, 30, 0, 4, 8)]
PLAN_IDS = ["default", "fts", "long-walk", "cut-terms", "small-blocks", "blocks", "mixed"]


def use_plan(monkeypatch, plan: tuple[int, ...], block_bits: bool = True) -> None:  # noqa: ANN001
    budget, vocab, sort_hits, blocks_from, bits, dense = plan
    monkeypatch.setattr(search_module, "WALK_BUDGET", budget)
    monkeypatch.setattr(search_module, "VOCAB_TERMS", vocab)
    monkeypatch.setattr(search_module, "SORT_HITS", sort_hits)
    monkeypatch.setattr(search_module, "BLOCKS_FROM", blocks_from)
    monkeypatch.setattr(due_blocks, "DENSE_HITS", dense)
    if block_bits:
        monkeypatch.setattr(due_blocks, "BLOCK_BITS", bits)


@pytest.mark.parametrize("plan", PLANS, ids=PLAN_IDS)
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_plan_matches_brute_force(seeded, monkeypatch, plan, data) -> None:
    svc, rows, common = seeded
    use_plan(monkeypatch, plan)
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
    """The property test above is only worth something if each plan runs on this data: "due"
    with no filter streams dossier_fts_due; with a filter it probes, then sorts FTS5 hits,
    walks on or reads blocks."""
    svc, _, _ = seeded
    taken: list[str] = []
    for name in ("_walk", "_fts", "_blocks", "_due_stream"):
        real = getattr(search_module.SearchService, name)

        def spy(self, *args, _real=real, _name=name, **kwargs):  # noqa: ANN001, ANN002, ANN003
            taken.append(_name if _name != "_walk" or args[-1] is not None else "long")
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(search_module.SearchService, name, spy)
    for plan, taken_plan in (((7, 2000, 10**6, 0, 13, 256), "_fts"),
                             ((7, 2000, 0, 10**9, 13, 256), "long"),
                             ((7, 2000, 0, 0, 13, 256), "_blocks")):
        use_plan(monkeypatch, plan)
        taken.clear()
        svc.search.register_page("nguyen", sort="due", limit=50)
        assert taken == ["_due_stream"]
        taken.clear()
        svc.search.register_page("nguyen", RegisterFilter(channel="direct"), "due", limit=50)
        assert taken_plan in taken
    # and the block plan's two ways of reading a block
    read: list[str] = []
    real_add = due_blocks._Page.add
    monkeypatch.setattr(due_blocks._Page, "add_unordered",
                        lambda self, keys: (read.append("by id"), [real_add(self, k)
                                                                  for k in keys]))
    for dense in (10**6, 1):
        use_plan(monkeypatch, (7, 2000, 0, 0, 6, dense))
        svc.search.register_page("nguyen", RegisterFilter(channel="direct"), "due", limit=50)
    assert "by id" in read


# The one sort a register page may run: the FTS5 hits of a rare word (at most SORT_HITS in due
# order, as the plan chooses), sorted by the due key.
BOUNDED_SORT = "FROM dossier_fts f CROSS JOIN dossier d"


def statements(svc: Services, run) -> list[tuple[str, Any]]:  # noqa: ANN001
    """Every SQL statement (with its parameters) the search runs inside ``run()``."""
    seen: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(svc.db.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(svc.db.engine, "before_cursor_execute", record)
    return seen


def sorts_in(svc: Services, statement: str, parameters: Any) -> list[str]:
    with svc.db.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return [row[3] for row in plan if "TEMP B-TREE" in row[3]]


@pytest.mark.parametrize("plan", PLANS, ids=PLAN_IDS)
def test_no_order_sorts_its_matches(seeded, monkeypatch, plan) -> None:
    """Every statement of every order walks an index in the page's order: EXPLAIN QUERY PLAN
    shows no temporary B-tree, except the sort of a rare word's few FTS5 hits."""
    svc, rows, _ = seeded
    # The block size stays the index's (ix_dossier_block_due): here every row is in block 0.
    use_plan(monkeypatch, plan, block_bits=False)
    with svc.db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    checked = 0
    for query in ["", *queries(rows, random.Random(5))[:40]]:
        for sort in ("newest", "due", "overdue"):
            for f in (RegisterFilter(), RegisterFilter(status="in_progress")):
                def pages(query=query, sort=sort, f=f) -> None:
                    page = svc.search.register_page(query, f, sort, None, 5)
                    if page.next_after is not None:
                        svc.search.register_page(query, f, sort, page.next_after, 5)

                for statement, parameters in statements(svc, pages):
                    bounded = BOUNDED_SORT in statement and f"ORDER BY {DUE_KEY}" in statement
                    if ("dossier" not in statement or bounded
                            or "dossier_fts_terms" in statement):  # the temp vocab table
                        continue
                    assert sorts_in(svc, statement, parameters) == [], (query, sort, statement)
                    checked += 1
    assert checked > 500


@pytest.fixture
def edges(tmp_path):  # noqa: ANN001
    """A desk whose due times tie to the second (microseconds against id order), lie before
    2000 or after 2136 (the due index's clamped ends), or are missing; then rows deleted,
    re-timed and renamed, so the due index's triggers are what keeps it right."""
    svc, _ = make_desk(tmp_path, NOW)
    seed_demo(svc, 150, days=30, seed=9, outbox=False)

    def reshape(session) -> None:  # noqa: ANN001
        ids = [r[0] for r in session.execute(text("SELECT id FROM dossier ORDER BY id"))]
        for n, id_ in enumerate(ids[:60]):  # six seconds, ten dossiers each, later ids sooner
            due = f"2026-12-0{1 + n % 6} 10:00:00.{999999 - id_:06d}"
            session.execute(text("UPDATE dossier SET due_at = :d WHERE id = :i"),
                            {"d": due, "i": id_})
        for due, chosen in (("1999-05-01 08:00:00.000000", ids[60:64]),
                            ("1970-01-01 00:00:00.500000", ids[64:66]),
                            ("2200-01-01 00:00:00.000000", ids[66:69]),
                            ("2150-06-01 00:00:00.000000", ids[69:71]), (None, ids[71:80]),
                            ("2026-12-09 17:00:00.000000", ids[83:98])):  # one key, one second
            for id_ in chosen:
                session.execute(text("UPDATE dossier SET due_at = :d WHERE id = :i"),
                                {"d": due, "i": id_})
        session.execute(text("UPDATE dossier SET search_text = 'x-9 zuka 0123' WHERE id = :i"),
                        {"i": ids[82]})

    svc.db.write(reshape)
    with closing(sqlite3.connect(svc.db.path)) as raw, raw:  # no foreign keys: a bare delete
        raw.execute("DELETE FROM dossier WHERE id IN (SELECT id FROM dossier ORDER BY id "
                    "LIMIT 2 OFFSET 80)")
    with svc.db.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(text(
            "SELECT id, status, channel, field, received_at, due_at, search_text FROM dossier"))
            .mappings()]
        office = conn.execute(text(
            "SELECT agency_code, device_prefix FROM office WHERE id = 1")).one()
    for r in rows:
        r["received_at"] = datetime.fromisoformat(r["received_at"])
        r["due_at"] = datetime.fromisoformat(r["due_at"]) if r["due_at"] else None
    yield svc, rows, frozenset(words_of(" ".join(office)))
    svc.close()


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 100])
def test_due_stream_keeps_exact_order_at_ties_and_ends(edges, limit: int) -> None:
    svc, rows, common = edges
    for query in ("n", "ng", "ngu", "nguyen", "t", "0", "2", "26", "261", "zuka", "x", "van t"):
        assert all_pages(svc, query, RegisterFilter(), "due", limit) == \
            expected(rows, common, query, RegisterFilter(), "due"), query
