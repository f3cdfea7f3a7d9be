"""The register's due order, block by block: a text query whose matches sit late in due order.

Typing the date part of codes ("2611": every dossier received in November) in "due" order
selects tens of thousands of dossiers that all fall due after every other one. Walking the due
index passes every earlier dossier; taking FTS5's hits sorts all of them. Neither is bounded.

``ix_dossier_block_due`` (migration ``0019_search_orders``) keeps the due order within each
block of ``2 ** BLOCK_BITS`` consecutive ids. The page is the ``n`` smallest (due key, id) of the
matches, found block after block:

1. one statement reads the smallest due key of every block (one index seek each);
2. FTS5's hits stream in id order, so blocks without a hit cost nothing; a block whose smallest
   due key is past the page's current ``n``-th key is skipped (nothing in it can make the
   page: the stream starts again at the next block that can);
3. a block's few hits (``< DENSE_HITS``) are read by id; more filter the block's index entries,
   read in due order (no row is read before its id is a hit), stopping at the page's current
   ``n``-th key.

Every step reads an index in order and stops early; only the few hits of a sparse block are
read unordered. Every row is checked against every query word, as the other plans do.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import Any

BLOCK_BITS = 13  # as in migration 0019_search_orders
# A block with this many hits or more is walked in due order (at worst BLOCK / DENSE_HITS rows
# per match); fewer are read by id.
DENSE_HITS = 256

Key = tuple[str, int]


def block_merge(conn: Any, due_key: str, where: list[str], params: dict[str, Any],  # noqa: PLR0913
                keyset: list[str], match: str, contains: str, n: int,
                matches: Callable[[str | None], bool]) -> list[Key]:
    """The ``n`` smallest (due key, id) of the rows that satisfy ``where`` and ``keyset``,
    hit FTS5's ``match`` and pass ``matches`` (their ``search_text``), in order.

    ``contains`` is an SQL pre-filter (a superset of ``matches``) with its parameters in
    ``params``.
    """
    page = _Page(n)
    minimums = dict(_block_minimums(conn, due_key, keyset, params))
    blocks = sorted(b for b, first in minimums.items() if first is not None)

    def live(block: int) -> bool:
        first = minimums.get(block)
        return first is not None and not page.beyond(first)

    def next_live(after: int) -> int | None:
        return next((b for b in blocks if b > after and live(b)), None)

    def read_sparse(hits: list[int]) -> None:
        rows = conn.exec_driver_sql(
            f"SELECT d.id, {due_key}, d.search_text FROM dossier d "
            f"WHERE d.id IN ({', '.join(str(int(h)) for h in hits)}) AND "
            + " AND ".join([*where, *keyset, contains]), params)
        page.add_unordered((r[1], r[0]) for r in rows if matches(r[2]))

    def walk_dense(block: int) -> None:
        # The hits filter the block's index entries before any row is read ("+" keeps SQLite
        # from looking the hits up by id and sorting them).
        lo, hi = block << BLOCK_BITS, (block + 1) << BLOCK_BITS
        rows = conn.exec_driver_sql(
            f"SELECT d.id, {due_key}, d.search_text FROM dossier d INDEXED BY "
            "ix_dossier_block_due WHERE " + " AND ".join([
                f"(d.id >> {BLOCK_BITS}) = :block", "+d.id IN (SELECT rowid FROM dossier_fts "
                "WHERE dossier_fts MATCH :match AND rowid >= :lo AND rowid < :hi)",
                *where, *keyset]) + f" ORDER BY {due_key}, d.id",
            params | {"block": block, "match": match, "lo": lo, "hi": hi})
        for r in rows:
            if page.beyond(r[1], r[0]):
                break
            if matches(r[2]):
                page.add((r[1], r[0]))
        rows.close()

    # One stream of hits in id order, read until a block proves dense or a block that cannot
    # make the page comes up; then it starts again at the next block that can.
    start = next_live(-1)
    while start is not None:
        stream = conn.exec_driver_sql(
            "SELECT rowid FROM dossier_fts WHERE dossier_fts MATCH :match AND rowid >= :lo "
            "ORDER BY rowid", {"match": match, "lo": start << BLOCK_BITS})
        current, hits, start = -1, [], None
        for (rowid,) in stream:
            block = rowid >> BLOCK_BITS
            if block != current:
                if hits:
                    read_sparse(hits)
                if not live(block):
                    start = next_live(block)
                    break
                current, hits = block, []
            hits.append(rowid)
            if len(hits) >= DENSE_HITS:
                walk_dense(current)
                start, hits = next_live(current), []
                break
        else:
            if hits:
                read_sparse(hits)
        stream.close()
    return page.keys


def _block_minimums(conn: Any, due_key: str, keyset: list[str], params: dict[str, Any],
                    ) -> list[tuple[int, str | None]]:
    """Each block's number and its smallest due key after the page key (None when empty)."""
    bounds = conn.exec_driver_sql(  # two statements: MIN and MAX together scan the table
        "SELECT (SELECT MIN(id) FROM dossier), (SELECT MAX(id) FROM dossier)").one()
    if bounds[0] is None:
        return []
    after = "".join(f" AND {k}" for k in keyset)
    sql = (f"WITH RECURSIVE b(n) AS (SELECT :first UNION ALL SELECT n + 1 FROM b "
           f"WHERE n < :last) SELECT n, (SELECT {due_key} FROM dossier d "
           f"WHERE (d.id >> {BLOCK_BITS}) = b.n{after} ORDER BY {due_key}, d.id LIMIT 1) FROM b")
    return [tuple(r) for r in conn.exec_driver_sql(  # type: ignore[misc]
        sql, params | {"first": bounds[0] >> BLOCK_BITS, "last": bounds[1] >> BLOCK_BITS})]


class _Page:
    """The ``n`` smallest keys seen so far, in order."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.keys: list[Key] = []

    def beyond(self, due: str, id_: int = -1) -> bool:
        """Whether a row of this due key (and id) can no longer make the page."""
        return len(self.keys) >= self.n and (due, id_) > self.keys[-1]

    def add(self, key: Key) -> None:
        bisect.insort(self.keys, key)
        del self.keys[self.n:]

    def add_unordered(self, keys: Iterable[Key]) -> None:
        for key in keys:
            if not self.beyond(*key):
                self.add(key)
