"""The dossier register: accent-insensitive search and keyset-paginated, sorted pages.

Text search goes through the ``dossier_fts`` FTS5 index (migration ``0002_search``) over
``Dossier.search_text``, which holds the *folded* code, names, ID number and phone. The query is
folded the same way (NFD, marks dropped, đ→d, casefolded) and every word becomes a prefix term,
so "dang thi" finds "Đặng Thị", "Hòa" finds "Hoà", and "0912" or "001203" find phones and ID
numbers starting with them.

No query loads everything: each page is ``LIMIT n`` from an index walk that starts after the
last row of the previous page (keyset pagination, never ``OFFSET``). "newest" walks ids
downwards (an id is allocated when the dossier is received, so id order is receipt order);
"due" walks the ``ix_dossier_due_key`` index (or ``dossier_fts_due`` for a text query);
"overdue" first lists the open dossiers past their
due time, most overdue first, then the rest newest first.

Every word of up to four letters is one FTS5 term list, read lazily in rowid order (prefix
indexes 1-4, migration ``0026_search_prefix``); a longer name part is cut to its 4-letter prefix
and checked per row. A text query then goes by one of these plans:

- *newest*: the FTS5 hits of every word stream by rowid, newest first, and the stream stops at
  the page end ("n", "ngu", "0912": a page costs about its own rows).
- *due*, no filter: ``dossier_fts_due`` indexes the same text with each dossier's place in due
  order (its due second, then its id) as the rowid, so the hits stream soonest due first and
  stop at the page end too (:meth:`SearchService._due_stream`).
- *due* with a filter, and the overdue part of "overdue": a bounded probe walks the order's
  index (the filter's, or the open dossiers') testing each row's folded words, stopping when
  the page is full; when ``WALK_BUDGET`` rows did not fill it, the matches seen estimate how
  far walking on would go, and either a rare query's few FTS5 hits (at most ``SORT_HITS``) are
  sorted, or the blocks of ids that hold hits are read each in due order
  (``ccdesk/services/due_blocks.py``), or the walk goes on.

Every statement walks an index in the page's order (tests/perf/test_search_plans.py reads their
query plans): "overdue" starts with ``ix_dossier_open_due`` (the open dossiers in due order) and
a status filter in due order uses ``ix_dossier_status_due_key`` (migration 0019_search_orders).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import orjson
from sqlalchemy import bindparam, text

from ccdesk.domain.errors import ValidationError
from ccdesk.domain.lifecycle import RUNNING_STATUSES, Status
from ccdesk.domain.vocabulary import Channel
from ccdesk.services.context import DeskContext
from ccdesk.services.due_blocks import block_merge
from ccdesk.text import fold

SORTS = ("newest", "due", "overdue")
CHANNELS = Channel.values()
MAX_LIMIT = 1000
# Rows of the order index a text query walks before the cost of going on is estimated (the
# bounded probe): a few ms at a million dossiers.
WALK_BUDGET = 2048
VOCAB_TERMS = 300
# In due order, FTS5 hits are sorted only when there are at most this many; more are read
# block by block in due order (ccdesk/services/due_blocks.py) when walking on would pass more
# than BLOCKS_FROM rows.
SORT_HITS = 1024
BLOCKS_FROM = 8192
# The lengths of FTS5's prefix indexes (migration 0002_search): a word of these lengths is one
# term list, however many terms start with it.
FTS_PREFIXES = (1, 2, 3, 4)
# Written exactly as in migration 0002_search so SQLite uses the expression index.
DUE_KEY = "COALESCE(d.due_at, '9999-12-31 23:59:59')"
# dossier_fts_due's rowids (migration 0026_search_prefix): the due second since 2000-01-01,
# clamped to [0, DUE_LAST - 1], or DUE_LAST with no due time, times DUE_IDS, plus the id.
DUE_IDS = 2 ** 31
DUE_LAST = 2 ** 32 - 1
_EPOCH = datetime(2000, 1, 1)
NO_DUE = "9999-12-31 23:59:59"
_RUNNING = ", ".join(f"'{s.value}'" for s in sorted(RUNNING_STATUSES))
_WORD = re.compile(r"\w+")
# Open and past its due time (a dossier without a due time is never overdue: its key is the
# year 9999). Written with the due key so "overdue" walks ix_dossier_open_due (migration
# 0019_search_orders, the open dossiers in due order) as a range, with no sort.
_OVERDUE = f"(d.status IN ({_RUNNING}) AND {DUE_KEY} < {{now}})"

_COLUMNS = ("d.id, d.code, d.applicant_name, d.applicant_id_number, d.applicant_phone, "
            "d.owner_name, "
            "d.procedure_code, COALESCE(p.name, d.procedure_code) AS procedure_name, d.field, "
            "d.status, d.channel, d.received_at, d.due_at, d.returned_at, d.portal_code")


@dataclass(frozen=True)
class RegisterFilter:
    """Narrows the register; every criterion given must hold."""

    status: str | None = None
    procedure_code: str | None = None
    field: str | None = None
    overdue: bool | None = None
    date_from: date | None = None     # received on or after
    date_to: date | None = None       # received on or before
    channel: str | None = None


@dataclass(frozen=True)
class RegisterRow:
    code: str
    applicant_name: str
    applicant_id_number: str
    applicant_phone: str
    procedure_code: str
    procedure_name: str
    field: str
    status: str
    channel: str
    received_at: datetime
    due_at: datetime | None
    returned_at: datetime | None
    id: int = 0
    owner_name: str = ""   # whose dossier it is, when not the applicant's own

    @property
    def who(self) -> str:
        """The register's name cell: the owner, with who handed it in beside them."""
        return (f"{self.owner_name} ({self.applicant_name})" if self.owner_name
                else self.applicant_name)
    portal_code: str = ""             # a dossier filed online: the portal's code

    def as_json(self) -> dict[str, Any]:
        """The row for ``--json`` output (ISO times; the internal id is left out)."""
        return {
            "code": self.code, "applicant_name": self.applicant_name,
            "owner_name": self.owner_name,
            "applicant_id_number": self.applicant_id_number,
            "applicant_phone": self.applicant_phone, "procedure_code": self.procedure_code,
            "procedure_name": self.procedure_name, "field": self.field, "status": self.status,
            "channel": self.channel, "received_at": _iso(self.received_at),
            "due_at": _iso(self.due_at), "returned_at": _iso(self.returned_at)}


@dataclass(frozen=True)
class PageKey:
    """Where the next page starts: opaque to callers, printable as a token for scripts."""

    sort: str
    phase: int          # "overdue" sort: 0 = overdue part, 1 = the rest
    value: str | None   # the sort column of the last row (None for "newest")
    id: int

    def token(self) -> str:
        return orjson.dumps([self.sort, self.phase, self.value, self.id]).decode()

    @classmethod
    def parse(cls, token: str) -> PageKey:
        try:
            sort, phase, value, id_ = orjson.loads(token)
            return cls(str(sort), int(phase), None if value is None else str(value), int(id_))
        except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
            raise ValidationError("reports.err.page_key", field="after") from exc


@dataclass(frozen=True)
class RegisterPage:
    rows: list[RegisterRow]
    next_after: PageKey | None


def words_of(text_: str) -> list[str]:
    """The folded words of ``text_`` as the index splits them (``.`` and ``-`` separate)."""
    return _WORD.findall(fold(text_).replace("_", " "))


def query_words(query: str, common: frozenset[str] = frozenset()) -> list[str]:
    """The words a row must have a word starting with, for every one of them.

    Words in ``common`` (the parts of this office's agency code, which every dossier code
    carries) are left out when the query has others: they select nothing, and at a million
    dossiers walking their lists is what made a pasted full code slow.
    """
    words = words_of(query)
    distinctive = [w for w in words if w not in common]
    return distinctive or words


def match_expression(query: str, common: frozenset[str] = frozenset()) -> str | None:
    """The FTS5 MATCH string for a user's query: each folded word a quoted prefix term.

    Quoting every term means nothing the user types is read as FTS syntax (AND, NEAR, ``*``,
    quotes), so no input can cause a query error.
    """
    words = query_words(query, common)
    return " ".join(f'"{w}"*' for w in words) if words else None


def text_matches(search_text: str | None, words: list[str]) -> bool:
    """What the FTS5 MATCH of ``match_expression`` selects, for one row's ``search_text``:
    every query word is the start of one of the row's words."""
    text_ = search_text or ""
    # Stored search text is folded already: ASCII (all of it, once folded) needs no second fold,
    # which is most of a walked row's cost.
    tokens = _WORD.findall(text_.lower().replace("_", " ")) if text_.isascii() \
        else words_of(text_)
    return all(any(token.startswith(w) for token in tokens) for w in words)


class SearchService:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    def search(self, query: str, limit: int = 20) -> list[RegisterRow]:
        """Dossiers whose code, name, ID number or phone match ``query``, newest first."""
        return self.register_page(query, limit=limit).rows

    def register_page(self, query: str = "", filters: RegisterFilter | None = None,
                      sort: str = "newest", after: PageKey | None = None,
                      limit: int = 100) -> RegisterPage:
        """One page of the register, ``limit`` rows after ``after`` in ``sort`` order."""
        if sort not in SORTS:
            raise ValidationError("reports.err.choice", field="sort", allowed=", ".join(SORTS))
        if not 1 <= limit <= MAX_LIMIT:
            raise ValidationError("reports.err.range", field="limit", low=1, high=MAX_LIMIT)
        if after is not None and after.sort != sort:
            raise ValidationError("reports.err.page_key", field="after")
        filters = filters or RegisterFilter()
        _check_filters(filters)
        now = self.ctx.now()
        where, params = _filter_sql(filters, now)
        words = query_words(query, self._code_words()) if query.strip() else []
        with self.ctx.db.engine.connect() as conn:
            if sort == "overdue":
                rows = self._overdue_first(conn, where, params, after, limit, now, words)
            else:
                rows = self._run(conn, where, params, _Order(sort, 0, sort == "due"), after,
                                 limit, words)
        return RegisterPage(rows=[r for r, _ in rows][:limit],
                            next_after=rows[limit - 1][1] if len(rows) > limit else None)

    def _code_words(self) -> frozenset[str]:
        """The words every dossier code of this office shares (agency code, device prefix)."""
        with self.ctx.db.engine.connect() as conn:
            row = conn.execute(text(
                "SELECT agency_code, device_prefix FROM office WHERE id = 1")).first()
        return frozenset(words_of(" ".join(row))) if row else frozenset()

    # ---- the orders --------------------------------------------------------------------------
    def _overdue_first(self, conn, where, params, after, limit, now,  # noqa: ANN001
                       words: list[str]) -> list[tuple[RegisterRow, PageKey]]:
        overdue_sql = _OVERDUE.format(now=":now")
        params = params | {"now": db_time(now)}
        rows: list[tuple[RegisterRow, PageKey]] = []
        if after is None or after.phase == 0:
            rows = self._run(conn, [*where, overdue_sql], params, _Order("overdue", 0, True),
                             after, limit, words)
            if len(rows) > limit:
                return rows
            after = None
        rest = self._run(conn, [*where, f"NOT {overdue_sql}"], params,
                         _Order("overdue", 1, False), after, limit - len(rows), words)
        return rows + rest

    def _run(self, conn, where: list[str], params: dict[str, Any], order: _Order,  # noqa: ANN001
             after: PageKey | None, limit: int, words: list[str],
             ) -> list[tuple[RegisterRow, PageKey]]:
        """Up to ``limit + 1`` rows after ``after`` in ``order`` (one more tells a next page
        exists), by the cheapest of the three plans in the module's docstring."""
        if not words:
            return self._plain(conn, where, params, order, after, limit)
        if not order.by_due:
            # By id FTS5 streams the hits newest first and stops at the page end.
            return self._fts(conn, where, params, order, after, limit, words,
                             lazy_match(conn, words, once=True))
        if order.sort == "due" and not where:
            # dossier_fts_due streams the hits soonest due first and stops at the page end.
            return self._due_stream(conn, after, limit, words)
        match = lazy_match(conn, words)
        if match is not None and _count_hits(conn, match, SORT_HITS + 1) <= SORT_HITS:
            # A rare query: its few FTS5 hits cost less than any probe (counting stops at
            # SORT_HITS + 1, so a common query pays only that).
            return self._fts(conn, where, params, order, after, limit, words, match)
        found, last = self._walk(conn, where, params, order, after, limit, words, WALK_BUDGET)
        if last is None:
            return _fetch(conn, found)
        # The probe saw len(found) matches in WALK_BUDGET rows: walking on would take about
        # WALK_BUDGET * (limit + 1) / len(found) rows.
        walk_rows = WALK_BUDGET * (limit + 1) / max(len(found), 0.5)
        if match is not None and walk_rows > BLOCKS_FROM:
            return self._blocks(conn, where, params, order, after, limit, words, match)
        # Walk on from the probe's last row, keeping what it found.
        more, _ = self._walk(conn, where, params, order, last, limit - len(found), words, None)
        return _fetch(conn, found + more)

    def _due_stream(self, conn, after: PageKey | None, limit: int,  # noqa: ANN001
                    words: list[str]) -> list[tuple[RegisterRow, PageKey]]:
        """The page in due order from ``dossier_fts_due``, whose rowids are each dossier's
        place in due order to the second (migration 0026_search_prefix): FTS5 yields the hits
        in that order, from the page key's second on, and the stream stops at the page end.

        Dossiers due in the same second come in id order. When they all share one due key
        (most do: a same-day procedure is due at closing time), that is the exact order;
        otherwise (their microseconds differ) the last second's every hit is read before the
        page is cut, in exact order.
        """
        sql = (f"SELECT f.rowid, d.id, {DUE_KEY} AS due_key, d.search_text "
               "FROM dossier_fts_due f CROSS JOIN dossier d ON d.id = f.rowid % :ids "
               "WHERE dossier_fts_due MATCH :match AND f.rowid >= :low AND "
               + _contains(words, "d.search_text") + " ORDER BY f.rowid")
        start = None if after is None else (after.value or NO_DUE, after.id)
        low = 0
        if start is not None:
            second = due_second(start[0])
            # In a second of one due key the stream's order is exact: start right after the key.
            low = second * DUE_IDS + (start[1] + 1 if _one_key(conn, start[0]) else 0)
        found: list[tuple[str, int, int]] = []
        one_key: dict[str, bool] = {}
        rows = conn.execute(text(sql), _word_params(words) | {
            "match": lazy_match(conn, words, once=True), "low": low, "ids": DUE_IDS})
        for rowid, id_, due, search_text in rows:
            second = rowid // DUE_IDS
            last = found[-1] if len(found) > limit else None
            if last is not None and last[0] not in one_key:
                one_key[last[0]] = _one_key(conn, last[0])
            if last is not None and (second > last[2] or one_key[last[0]]):
                break  # the page is full and nothing further can come before its last row
            if start is not None and (due, id_) <= start:
                continue
            if text_matches(search_text, words):
                found.append((due, id_, second))
        rows.close()
        found.sort(key=lambda k: (k[0], k[1]))
        return _fetch(conn, [PageKey("due", 0, due, id_) for due, id_, _ in found[:limit + 1]])

    def _plain(self, conn, where: list[str], params: dict[str, Any],  # noqa: ANN001
               order: _Order, after: PageKey | None, limit: int,
               ) -> list[tuple[RegisterRow, PageKey]]:
        keyset, keyset_params = order.after(after)
        clauses = [*where, *keyset]
        sql = (f"SELECT {_COLUMNS}, {DUE_KEY} AS due_key FROM {order.table()} "
               "LEFT JOIN procedure p ON p.code = d.procedure_code"
               + (" WHERE " + " AND ".join(clauses) if clauses else "")
               + f" ORDER BY {order.sql()} LIMIT :limit")
        result = conn.execute(text(sql), params | keyset_params | {"limit": limit + 1})
        return [(_row(r), order.key_of(r)) for r in result.mappings()]

    def _walk(self, conn, where: list[str], params: dict[str, Any],  # noqa: ANN001
              order: _Order, after: PageKey | None, limit: int, words: list[str],
              budget: int | None) -> tuple[list[PageKey], PageKey | None]:
        """The keys of the matches met walking the order's index (up to ``limit + 1``); and,
        when the first ``budget`` rows did not fill the page and more rows follow, the last
        row looked at (where walking on starts), else ``None``.

        SQLite narrows the rows to those containing every word anywhere (``instr``, a superset
        of "a word starts with it"); Python keeps those where a word starts with it.
        """
        keyset, keyset_params = order.after(after)
        clauses = [*where, *keyset]
        inner = (f"SELECT d.id, {DUE_KEY} AS due_key, d.search_text FROM {order.table()}"
                 + (" WHERE " + " AND ".join(clauses) if clauses else "")
                 + f" ORDER BY {order.sql()}"
                 + (" LIMIT :budget" if budget is not None else ""))
        bind = params | keyset_params | {"budget": budget} | _word_params(words)
        sql = f"SELECT id, due_key, search_text FROM ({inner}) WHERE {_contains(words)}"
        found: list[PageKey] = []
        for r in conn.execute(text(sql), bind).mappings():
            if text_matches(r["search_text"], words):
                found.append(order.key_of(r))
                if len(found) > limit:
                    return found, None
        if budget is not None:
            last = conn.execute(text(f"SELECT id, due_key FROM ({inner}) "
                                     "LIMIT 1 OFFSET :budget - 1"), bind).mappings().first()
            if last is not None:  # the budget ran out before the rows did
                return found, order.key_of(last)
        return found, None

    def _fts(self, conn, where: list[str], params: dict[str, Any],  # noqa: ANN001
             order: _Order, after: PageKey | None, limit: int, words: list[str],
             match: str) -> list[tuple[RegisterRow, PageKey]]:
        """The page from the FTS5 hits of ``match``, every word checked per hit.

        In "due" order ``match`` has at most SORT_HITS hits (see :func:`lazy_match`). CROSS
        JOIN keeps the FTS table the outer loop, so only its hits are sorted.
        """
        keyset, keyset_params = order.after(after, fts=True)
        clauses = ["dossier_fts MATCH :match", *where, *keyset, _contains(words, "d.search_text")]
        sql = (f"SELECT d.id, {DUE_KEY} AS due_key, d.search_text FROM dossier_fts f "
               "CROSS JOIN dossier d ON d.id = f.rowid WHERE " + " AND ".join(clauses)
               + f" ORDER BY {order.sql(fts=True)}")
        bind = params | keyset_params | _word_params(words) | {"match": match}
        found: list[PageKey] = []
        for r in conn.execute(text(sql), bind).mappings():
            if text_matches(r["search_text"], words):
                found.append(order.key_of(r))
                if len(found) > limit:
                    break
        return _fetch(conn, found)


    def _blocks(self, conn, where: list[str], params: dict[str, Any],  # noqa: ANN001
                order: _Order, after: PageKey | None, limit: int, words: list[str],
                match: str) -> list[tuple[RegisterRow, PageKey]]:
        """The page in due order from the blocks of ids that hold FTS5 hits of ``match``
        (``ccdesk/services/due_blocks.py``)."""
        keyset, keyset_params = order.after(after)
        keys = block_merge(conn, DUE_KEY, where, params | keyset_params | _word_params(words),
                           keyset, match, _contains(words, "d.search_text"), limit + 1,
                           lambda search_text: text_matches(search_text, words))
        return _fetch(conn, [PageKey(order.sort, order.phase, due, id_) for due, id_ in keys])


def _contains(words: list[str], column: str = "search_text") -> str:
    return " AND ".join(f"instr({column}, :w{i}) > 0" for i in range(len(words)))


def _word_params(words: list[str]) -> dict[str, str]:
    return {f"w{i}": w for i, w in enumerate(words)}


def lazy_match(conn, words: list[str], once: bool = False) -> str | None:  # noqa: ANN001
    """An FTS5 MATCH for ``words`` that FTS5 reads lazily, seeking by rowid, never merging a
    whole prefix's term lists into memory (which it does for a prefix no prefix index holds,
    on every call): a word of 1 to 4 letters is its prefix index's term. A longer name part is
    cut to its 4-letter prefix ("nguyen" -> "nguy"): name prefixes that long select nearly the
    same rows, and every word is checked per row anyway. A longer number part ("26112", the
    days 20-29 of a month) is the OR of the terms that start with it (exact: the cut would
    triple its rows), read from FTS5's term list when fewer than VOCAB_TERMS; with more (phone
    and ID prefixes, each term one dossier) the prefix itself, whose merged list is small. With
    ``once`` (a single FTS5 call, as the streams make it) a number part is its prefix, merged
    once: reading the term list would cost as much. None when ``words`` is empty."""
    parts = []
    for word in dict.fromkeys(words):
        cut = f'"{word[:max(p for p in FTS_PREFIXES if p <= len(word))]}"*'
        if len(word) in FTS_PREFIXES or word.isalpha():
            parts.append(cut)
            continue
        if once:
            parts.append(f'"{word}"*')
            continue
        terms = _terms(conn, word)
        if terms and len(terms) < VOCAB_TERMS:
            parts.append("(" + " OR ".join(f'"{t}"' for t in terms) + ")")
        elif terms:  # many terms, each rare (phone and ID prefixes): merged once, small
            parts.append(f'"{word}"*')
        else:
            parts.append(f'"{word}"')  # no term starts with it: nothing matches
    return " AND ".join(parts) or None


def _terms(conn, word: str) -> list[str]:  # noqa: ANN001
    """Up to VOCAB_TERMS of the FTS5 terms that start with ``word``."""
    _vocab(conn)
    return [r[0] for r in conn.execute(text(
        "SELECT term FROM temp.dossier_fts_terms WHERE term >= :low AND term < :high "
        "LIMIT :most"), {"low": word, "high": word[:-1] + chr(ord(word[-1]) + 1),
                         "most": VOCAB_TERMS})]


def _count_hits(conn, match: str, most: int) -> int:  # noqa: ANN001
    return conn.execute(text("SELECT COUNT(*) FROM (SELECT 1 FROM dossier_fts "
                             "WHERE dossier_fts MATCH :match LIMIT :most)"),
                        {"match": match, "most": most}).scalar_one()


def _vocab(conn) -> None:  # noqa: ANN001
    conn.execute(text("CREATE VIRTUAL TABLE IF NOT EXISTS temp.dossier_fts_terms "
                      "USING fts5vocab(main, dossier_fts, row)"))


@dataclass(frozen=True)
class _Order:
    """One walk order: by id downwards ("newest") or by the due key upwards ("due")."""

    sort: str
    phase: int
    by_due: bool

    def table(self) -> str:
        """The dossier table as this order walks it. The overdue part names its index: at a
        million dossiers SQLite's statistics otherwise choose ix_dossier_status_due_key, four
        ranges that it then sorts (every open overdue dossier, looked up and sorted)."""
        if self.sort == "overdue" and self.phase == 0:
            return "dossier d INDEXED BY ix_dossier_open_due"
        return "dossier d"

    def sql(self, fts: bool = False) -> str:
        if self.by_due:
            return f"{DUE_KEY}, d.id"
        # With FTS driving, order by its rowid so FTS5 itself yields hits newest first and the
        # walk stops at the page end instead of sorting every hit.
        return "f.rowid DESC" if fts else "d.id DESC"

    def after(self, key: PageKey | None, fts: bool = False) -> tuple[list[str], dict[str, Any]]:
        """The keyset condition "strictly after ``key``" and its parameters."""
        if key is None:
            return [], {}
        if self.by_due:
            return ([f"({DUE_KEY} > :after_value OR ({DUE_KEY} = :after_value "
                     "AND d.id > :after_id))"], {"after_value": key.value, "after_id": key.id})
        return [f"{'f.rowid' if fts else 'd.id'} < :after_id"], {"after_id": key.id}

    def key_of(self, r: Any) -> PageKey:
        return PageKey(self.sort, self.phase, r["due_key"] if self.by_due else None, r["id"])


def _one_key(conn, due_key: str) -> bool:  # noqa: ANN001
    """Whether every dossier due in the second of ``due_key`` has that very due key (two
    seeks of ``ix_dossier_due_key``), so ``dossier_fts_due`` yields them in exact order. Not
    asked for the clamped ends, whose "second" spans more than one."""
    second = due_second(due_key)
    if second in (0, DUE_LAST - 1):
        return False
    if second == DUE_LAST:
        return True  # no due time: one key, in id order
    low = due_key[:19]
    high = (datetime.fromisoformat(low) + timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S")
    ends = [f"(SELECT {DUE_KEY} FROM dossier d WHERE {DUE_KEY} >= :low AND {DUE_KEY} < :high "
            f"ORDER BY {DUE_KEY} {way} LIMIT 1)" for way in ("ASC", "DESC")]
    keys = conn.execute(text(f"SELECT {ends[0]}, {ends[1]}"), {"low": low, "high": high}).one()
    return keys[0] == keys[1] == due_key


def due_second(due_key: str) -> int:
    """The due second of a due key in ``dossier_fts_due``'s rowids, as the migration's
    triggers compute it (Unix seconds, fractions dropped, from 2000-01-01, clamped)."""
    if due_key == NO_DUE:
        return DUE_LAST
    seconds = (datetime.fromisoformat(due_key) - _EPOCH) // timedelta(seconds=1)
    return min(max(seconds, 0), DUE_LAST - 1)


def _fetch(conn, keys: list[PageKey]) -> list[tuple[RegisterRow, PageKey]]:  # noqa: ANN001
    """The register rows of ``keys``, in the order of ``keys``."""
    if not keys:
        return []
    sql = text(f"SELECT {_COLUMNS} FROM dossier d LEFT JOIN procedure p "
               "ON p.code = d.procedure_code WHERE d.id IN :ids"
               ).bindparams(bindparam("ids", expanding=True))
    by_id = {r["id"]: _row(r) for r in conn.execute(sql, {"ids": [k.id for k in keys]})
             .mappings()}
    return [(by_id[k.id], k) for k in keys if k.id in by_id]


def _check_filters(f: RegisterFilter) -> None:
    if f.status is not None and f.status not in {s.value for s in Status}:
        raise ValidationError("reports.err.choice", field="status",
                              allowed=", ".join(s.value for s in Status))
    if f.channel is not None and f.channel not in CHANNELS:
        raise ValidationError("reports.err.choice", field="channel", allowed=", ".join(CHANNELS))
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise ValidationError("reports.err.date_order", field="date_to")


def _filter_sql(f: RegisterFilter, now: datetime) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {}
    for column in ("status", "procedure_code", "field", "channel"):
        value = getattr(f, column)
        if value is not None:
            where.append(f"d.{column} = :{column}")
            params[column] = value
    if f.date_from is not None:
        where.append("d.received_at >= :date_from")
        params["date_from"] = db_time(datetime.combine(f.date_from, time.min))
    if f.date_to is not None:
        where.append("d.received_at < :date_to")
        params["date_to"] = db_time(datetime.combine(f.date_to + timedelta(days=1), time.min))
    if f.overdue is not None:
        overdue = _OVERDUE.format(now=":now_filter")
        where.append(overdue if f.overdue else f"NOT {overdue}")
        params["now_filter"] = db_time(now)
    return where, params


def db_time(value: datetime) -> str:
    """A datetime as SQLAlchemy stores it in SQLite, for comparisons in raw SQL."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _parse_dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _row(r: Any) -> RegisterRow:
    return RegisterRow(code=r["code"], applicant_name=r["applicant_name"],
                       applicant_id_number=r["applicant_id_number"],
                       applicant_phone=r["applicant_phone"], procedure_code=r["procedure_code"],
                       procedure_name=r["procedure_name"], field=r["field"], status=r["status"],
                       channel=r["channel"], received_at=_parse_dt(r["received_at"]),
                       due_at=_parse_dt(r["due_at"]), returned_at=_parse_dt(r["returned_at"]),
                       id=r["id"], owner_name=r["owner_name"], portal_code=r["portal_code"])
