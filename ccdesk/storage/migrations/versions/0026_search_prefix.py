"""search prefix: every short prefix one FTS5 term list, and the FTS hits in due order too

``dossier_fts`` (migration ``0002_search``) kept prefix indexes of 2 and 4 letters only. A query
word of 1 or 3 letters ("n", "ngu", "261", "091") was then either left to a per-row check (a
walk that, for a rare letter, passed most of the table) or made FTS5 merge the lists of every
term starting with it into memory on each keystroke (the 3-letter keystrokes took 55–76 ms at a
million dossiers). With ``prefix='1 2 3 4'`` every word of up to four letters is one term list
that FTS5 reads lazily, in rowid order, stopping at the page end (ccdesk/services/search.py;
docs/reports.md "Search and the register").

``dossier_fts_due`` indexes the same text with each dossier's place in due order as its rowid:
``(due second) * 2**31 + id``, the due second counted from 2000-01-01 (clamped to 0 and
``2**32 - 2``; no due time is ``2**32 - 1``, last). FTS5 yields hits in rowid order, so a query
in "due" order streams its hits soonest due first and stops at the page end, as "newest" does
by id: no walk past earlier dossiers, no sort of the matches. Dossiers due in the same second
come in id order; the search puts such a tie in exact due-key order (its microseconds) itself.
It is contentless (the text is in ``dossier``) and keeps no positions (``detail=none``: every
query term is one word's prefix), so it costs less than the main index. Triggers keep it in
step on insert, delete and any change of the due time or the text. Ids stay below ``2**31``.

An FTS5 table's prefix option cannot be altered: the table is created again with the same
triggers and rebuilt from ``dossier.search_text`` (the external content), in the migration's
transaction. At a million dossiers the main index grows from 103 to 150 MiB and the due-ordered
one takes 126 MiB; the migration took 164 s at load 7-8 (docs/reports.md).

Revision ID: 0026_search_prefix
Revises: 0024_linked_groups
"""

from __future__ import annotations

from alembic import op

revision = "0026_search_prefix"
down_revision = "0024_linked_groups"
branch_labels = None
depends_on = None


def _create(prefix: str) -> None:
    """``dossier_fts`` and its triggers exactly as 0002_search made them, with ``prefix``."""
    op.execute(
        "CREATE VIRTUAL TABLE dossier_fts USING fts5(search_text, content='dossier', "
        f"content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='{prefix}')"
    )
    op.execute(
        "CREATE TRIGGER dossier_fts_insert AFTER INSERT ON dossier BEGIN "
        "INSERT INTO dossier_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER dossier_fts_delete AFTER DELETE ON dossier BEGIN "
        "INSERT INTO dossier_fts(dossier_fts, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER dossier_fts_update AFTER UPDATE OF search_text ON dossier BEGIN "
        "INSERT INTO dossier_fts(dossier_fts, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); "
        "INSERT INTO dossier_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute("INSERT INTO dossier_fts(dossier_fts) VALUES ('rebuild')")


def _drop() -> None:
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS dossier_fts_{name}")
    op.execute("DROP TABLE IF EXISTS dossier_fts")


# The due order's rowid for the row ``row`` ("new" or "old"), as ccdesk/services/search.py
# computes it for a page key (due_rowid): the due second since 2000-01-01 (946684800 in Unix
# time), clamped, times 2**31, plus the id. A migration must not import code that changes
# after it is written.
DUE_SECOND = ("(CASE WHEN {row}.due_at IS NULL THEN 4294967295 ELSE MIN(MAX(COALESCE("
              "CAST(strftime('%s', {row}.due_at) AS INTEGER), 253402300799) - 946684800, 0), "
              "4294967294) END)")
DUE_ROWID = DUE_SECOND + " * 2147483648 + {row}.id"


def _create_due() -> None:
    old, new = DUE_ROWID.format(row="old"), DUE_ROWID.format(row="new")
    op.execute(
        "CREATE VIRTUAL TABLE dossier_fts_due USING fts5(search_text, content='', "
        "tokenize='unicode61 remove_diacritics 2', prefix='1 2 3 4', detail='none', "
        "columnsize=0)"
    )
    op.execute(
        "CREATE TRIGGER dossier_fts_due_insert AFTER INSERT ON dossier BEGIN "
        f"INSERT INTO dossier_fts_due(rowid, search_text) VALUES ({new}, new.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER dossier_fts_due_delete AFTER DELETE ON dossier BEGIN "
        "INSERT INTO dossier_fts_due(dossier_fts_due, rowid, search_text) "
        f"VALUES ('delete', {old}, old.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER dossier_fts_due_update AFTER UPDATE OF id, due_at, search_text "
        f"ON dossier WHEN ({old}) IS NOT ({new}) OR old.search_text IS NOT new.search_text "
        "BEGIN INSERT INTO dossier_fts_due(dossier_fts_due, rowid, search_text) "
        f"VALUES ('delete', {old}, old.search_text); "
        f"INSERT INTO dossier_fts_due(rowid, search_text) VALUES ({new}, new.search_text); END"
    )
    op.execute(f"INSERT INTO dossier_fts_due(rowid, search_text) "
               f"SELECT {DUE_ROWID.format(row='dossier')}, search_text FROM dossier")


def upgrade() -> None:
    _drop()
    _create("1 2 3 4")
    _create_due()


def downgrade() -> None:
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS dossier_fts_due_{name}")
    op.execute("DROP TABLE IF EXISTS dossier_fts_due")
    _drop()
    _create("2 4")
