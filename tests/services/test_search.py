"""Register search: accent folding (NFD input, đ/Đ, Hòa/Hoà), prefixes of ID numbers, phones
and codes, keyset pages in the three orders, filters, and the index kept in step."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from ccdesk.demo import seed_demo
from ccdesk.domain.reports import ValidationError
from ccdesk.services import Actor, Services
from ccdesk.services.intake import Applicant
from ccdesk.services.search import PageKey, RegisterFilter, match_expression
from tests.conftest import submit_intake
from tests.services.reports_kit import make_desk

PEOPLE = [
    Applicant("Đặng Thị Hoà", "001185012345", phone="0912345678"),     # "oà" spelling
    Applicant("Nguyễn Văn Hòa", "079090123456", phone="0987654321"),  # "òa" spelling
    Applicant("Đỗ Đức Độ", "038200001111", phone="0356000111"),
    Applicant("Trần Thị Ngọc Ánh", "001303004321"),
    Applicant("Lê Văn Dang", "092075000999", phone="02431234567"),
]


def intake(desk: Services, officer: Actor, person: Applicant, channel: str = "direct") -> str:
    return submit_intake(desk, officer, applicant=person, channel=channel).dossier.code


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory):
    svc, officer = make_desk(tmp_path_factory.mktemp("search"), datetime(2026, 11, 23, 9, 15))
    codes = {p.full_name: intake(svc, officer, p) for p in PEOPLE}
    yield svc, codes
    svc.close()


@pytest.fixture
def desk(shared) -> Services:
    """The module's desk with the five people (tests here only read it)."""
    return shared[0]


@pytest.fixture
def people(shared) -> dict[str, str]:
    return shared[1]


def names(desk: Services, query: str) -> set[str]:
    return {row.applicant_name for row in desk.search.search(query, limit=50)}


def test_unaccented_query_finds_accented_names(desk: Services, people) -> None:
    assert names(desk, "dang thi") == {"Đặng Thị Hoà"}
    assert names(desk, "nguyen van hoa") == {"Nguyễn Văn Hòa"}
    assert names(desk, "ngoc anh") == {"Trần Thị Ngọc Ánh"}


def test_d_with_stroke_folds_to_d_both_ways(desk: Services, people) -> None:
    # đ/Đ has no Unicode decomposition: only folding before indexing makes these match.
    assert names(desk, "do duc do") == {"Đỗ Đức Độ"}
    assert names(desk, "ĐỖ ĐỨC") == {"Đỗ Đức Độ"}
    # accent-insensitive both ways: "đặng" and "dang" find Đặng and the plain "Dang"
    assert names(desk, "đặng") == names(desk, "dang") == {"Đặng Thị Hoà", "Lê Văn Dang"}
    assert names(desk, "đặng thị") == {"Đặng Thị Hoà"}


def test_hoa_finds_both_tone_mark_placements_in_either_spelling(desk: Services, people) -> None:
    both = {"Đặng Thị Hoà", "Nguyễn Văn Hòa"}
    assert names(desk, "Hòa") == both
    assert names(desk, "Hoà") == both
    assert names(desk, "hoa") == both


def test_decomposed_input_is_folded_like_composed(desk: Services, people) -> None:
    query = unicodedata.normalize("NFD", "Đặng Thị Hoà")
    assert query != unicodedata.normalize("NFC", query)
    assert names(desk, query) == {"Đặng Thị Hoà"}
    assert names(desk, unicodedata.normalize("NFD", "Nguyễn")) == {"Nguyễn Văn Hòa"}


def test_prefixes_of_id_numbers_phones_and_codes(desk: Services, people) -> None:
    assert names(desk, "0011850") == {"Đặng Thị Hoà"}
    assert names(desk, "079090123456") == {"Nguyễn Văn Hòa"}
    assert names(desk, "09876") == {"Nguyễn Văn Hòa"}
    assert names(desk, "02431") == {"Lê Văn Dang"}
    code = people["Đỗ Đức Độ"]
    assert names(desk, code) == {"Đỗ Đức Độ"}
    assert names(desk, code.lower()) == {"Đỗ Đức Độ"}
    assert names(desk, code[:-1]) == set(people)  # "…-000": every code of today so far
    assert len(names(desk, code.rsplit("-", 1)[0])) == len(PEOPLE)  # today's prefix
    assert len(names(desk, code.split("-")[0])) == len(PEOPLE)  # the agency code alone
    assert names(desk, "-".join(code.split("-")[1:])) == {"Đỗ Đức Độ"}  # date and number


def test_words_must_all_match_and_unknown_finds_nothing(desk: Services, people) -> None:
    assert names(desk, "nguyen thi") == set()
    assert names(desk, "zzz") == set()


def test_row_carries_the_register_columns(desk: Services, people) -> None:
    [row] = desk.search.search("do duc do", limit=5)
    assert row.code == people["Đỗ Đức Độ"]
    assert row.applicant_id_number == "038200001111"
    assert row.applicant_phone == "0356000111"
    assert (row.procedure_code, row.field, row.status) == ("2.000884", "Chứng thực",
                                                           "received")
    assert row.procedure_name.startswith("Chứng thực chữ ký")
    assert row.due_at is not None and row.received_at <= row.due_at
    assert set(row.as_json()) >= {"code", "applicant_name", "procedure_code", "status",
                                  "received_at", "due_at"}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=30))
def test_any_typed_text_is_a_valid_query(desk: Services, query: str) -> None:
    """Quotes, stars, AND/OR/NEAR, brackets: nothing a user types is read as FTS syntax."""
    rows = desk.search.search(query, limit=5)
    assert isinstance(rows, list)
    if match_expression(query) is None:
        assert len(rows) <= 5


def test_index_follows_updates_and_deletes(tmp_path) -> None:  # noqa: ANN001
    desk, officer = make_desk(tmp_path, datetime(2026, 11, 23, 9, 15))
    code = intake(desk, officer, PEOPLE[-1])
    intake(desk, officer, PEOPLE[0])

    def rename(session) -> None:  # noqa: ANN001
        session.execute(text("UPDATE dossier SET search_text = :t WHERE code = :c"),
                        {"t": f"{code.lower()} le van dung", "c": code})

    desk.db.write(rename)
    assert names(desk, "dung") == {"Lê Văn Dang"}
    assert names(desk, "dang") == {"Đặng Thị Hoà"}

    def insert_and_delete(session) -> None:  # noqa: ANN001
        session.execute(text(
            "INSERT INTO dossier (code, procedure_version_id, procedure_code, field, regime, "
            "applicant_name, applicant_id_number, applicant_id_type, applicant_phone, "
            "applicant_email, applicant_address, owner_name, owner_address, channel, sets, "
            "needs_verification, received_at, status, supplement_rounds, handling_body, "
            "delivery, fee_amount, extensions, search_text, updated_at) "
            "SELECT 'X-1', procedure_version_id, procedure_code, field, regime, 'Tạ Thu', "
            "'001203000000', 'cccd', '', '', '', '', '', channel, 1, 0, received_at, status, "
            "0, handling_body, delivery, 0, 0, 'x-1 ta thu 001203000000', updated_at "
            "FROM dossier LIMIT 1"))

    desk.db.write(insert_and_delete)
    assert names(desk, "ta thu") == {"Tạ Thu"}
    desk.db.write(lambda s: s.execute(text("DELETE FROM dossier WHERE code = 'X-1'")))
    assert names(desk, "ta thu") == set()
    with desk.db.engine.connect() as conn:  # the index itself is consistent with its table
        conn.execute(text("INSERT INTO dossier_fts(dossier_fts, rank) "
                          "VALUES ('integrity-check', 1)"))
    desk.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Services:
    svc, _ = make_desk(tmp_path_factory.mktemp("demo"), datetime(2026, 11, 23, 9, 15))
    seed_demo(svc, 700, days=60, seed=11, outbox=False)
    yield svc
    svc.close()


def _all_pages(svc: Services, sort: str, limit: int, **kw):
    rows, after, pages = [], None, 0
    while True:
        page = svc.search.register_page(sort=sort, after=after, limit=limit, **kw)
        rows += page.rows
        pages += 1
        assert len(page.rows) <= limit
        if page.next_after is None:
            return rows, pages
        after = PageKey.parse(page.next_after.token())  # the token survives a round trip


def test_newest_pages_cover_everything_once_in_order(demo: Services) -> None:
    rows, pages = _all_pages(demo, "newest", 64)
    ids = [r.id for r in rows]
    assert len(ids) == len(set(ids)) == 700 and pages == 11
    assert ids == sorted(ids, reverse=True)
    assert [r.received_at for r in rows] == sorted((r.received_at for r in rows), reverse=True)


def test_due_pages_are_sorted_with_no_due_last(demo: Services) -> None:
    rows, _ = _all_pages(demo, "due", 50)
    assert len({r.id for r in rows}) == 700
    dues = [r.due_at for r in rows]
    with_due = [d for d in dues if d is not None]
    assert dues[:len(with_due)] == sorted(with_due)
    assert all(d is None for d in dues[len(with_due):])


def test_overdue_first_then_the_rest(demo: Services) -> None:
    now = demo.ctx.now()
    running = {"received", "in_progress", "handed_off", "result_ready"}
    rows, _ = _all_pages(demo, "overdue", 7)
    assert len({r.id for r in rows}) == 700
    flags = [r.status in running and r.due_at is not None and r.due_at < now for r in rows]
    n = sum(flags)
    assert n > 0 and flags == [True] * n + [False] * (700 - n)
    overdue_dues = [r.due_at for r in rows[:n]]
    assert overdue_dues == sorted(overdue_dues)
    rest = [r.id for r in rows[n:]]
    assert rest == sorted(rest, reverse=True)


def test_filters_combine_with_text_and_pages(demo: Services) -> None:
    today = demo.ctx.now().date()
    f = RegisterFilter(status="returned", channel="direct", date_from=today - timedelta(days=20),
                       date_to=today)
    rows, _ = _all_pages(demo, "newest", 10, filters=f, query="nguyen")
    assert rows, "the demo data has returned dossiers of Nguyễn received directly"
    with demo.db.engine.connect() as conn:
        # whoever is named on the dossier: the applicant, the owner or the other party
        names = dict(conn.execute(text(
            "SELECT code, applicant_name || ' ' || owner_name || ' ' || party2_name "
            "FROM dossier")).all())
        expected = conn.execute(text(
            "SELECT COUNT(*) FROM dossier WHERE status='returned' AND channel='direct' "
            "AND (applicant_name LIKE 'Nguyễn %' OR owner_name LIKE 'Nguyễn %' "
            "OR party2_name LIKE 'Nguyễn %') AND received_at >= :s"),
            {"s": str(today - timedelta(days=20))}).scalar_one()
    for r in rows:
        assert (r.status, r.channel) == ("returned", "direct")
        assert today - timedelta(days=20) <= r.received_at.date() <= today
        assert "Nguyễn" in names[r.code]
    assert len(rows) == expected
    overdue, _ = _all_pages(demo, "due", 20, filters=RegisterFilter(overdue=True))
    assert overdue and all(r.due_at < demo.ctx.now() for r in overdue)
    field_rows = demo.search.register_page(filters=RegisterFilter(field="Hộ tịch"), limit=30)
    assert field_rows.rows and {r.field for r in field_rows.rows} == {"Hộ tịch"}


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"sort": "oldest"}, "sort"), ({"limit": 0}, "limit"), ({"limit": 5000}, "limit"),
    ({"filters": RegisterFilter(status="lost")}, "status"),
    ({"filters": RegisterFilter(channel="fax")}, "channel"),
    ({"filters": RegisterFilter(date_from=date(2026, 5, 2), date_to=date(2026, 5, 1))},
     "date_to"),
    ({"sort": "due", "after": PageKey("newest", 0, None, 5)}, "after")])
def test_bad_register_requests_name_the_field(desk: Services, kwargs, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        desk.search.register_page(**kwargs)
    assert info.value.field == field
    assert info.value.message("en").split(":")[0] != f"reports.field.{field}"


def test_page_token_rejects_garbage() -> None:
    with pytest.raises(ValidationError):
        PageKey.parse("not a token")
