"""register search and report indexes: FTS5 over the folded search text, sort keys

``dossier_fts`` is an external-content FTS5 table over ``dossier.search_text`` (already folded by
``ccdesk.text.fold``: NFD, marks dropped, đ→d, casefolded). ``remove_diacritics 2`` is kept as a
second line of defence for text folded elsewhere (with ``1``, "nguyen" misses "Nguyễn": ễ carries
two marks); đ/Đ has no Unicode decomposition, which is why the text is folded before indexing.
Triggers keep the index in the same transaction as every dossier write.

Revision ID: 0002_search
Revises: 0001_initial
"""

from __future__ import annotations

from alembic import op

revision = "0002_search"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

# Open dossiers sort "due soonest" with no-due-yet (never accepted) last; the expression must be
# written exactly like this in queries for SQLite to use the index.
DUE_KEY = "COALESCE(due_at, '9999-12-31 23:59:59')"


def upgrade() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE dossier_fts USING fts5(search_text, content='dossier', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 4')"
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
    op.execute(f"CREATE INDEX ix_dossier_due_key ON dossier({DUE_KEY}, id)")
    op.execute("CREATE INDEX ix_dossier_closed ON dossier(closed_at)")
    op.execute("CREATE INDEX ix_rating_at ON rating(at)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_rating_at")
    op.execute("DROP INDEX IF EXISTS ix_dossier_closed")
    op.execute("DROP INDEX IF EXISTS ix_dossier_due_key")
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS dossier_fts_{name}")
    op.execute("DROP TABLE IF EXISTS dossier_fts")
