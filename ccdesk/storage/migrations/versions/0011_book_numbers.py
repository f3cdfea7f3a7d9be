"""book numbers: the register's row for each accepted dossier and outgoing letters' numbers

Mẫu 01 cites the register (Sổ theo dõi hồ sơ, Mẫu 07) by volume and row, and the letters the
unit sends out (Mẫu 04, 05) carry a number from its yearly book of outgoing documents
(docs/forms.md, "Numbers on paper"). Numbers restart each year. Existing data is numbered in
the order it happened: accepted dossiers by acceptance time, the unit's own apology letters and
stop notices by the time they were recorded. The counters continue from there.

Revision ID: 0011_book_numbers
Revises: 0010_report_facts
"""

from __future__ import annotations

from alembic import op

revision = "0011_book_numbers"
down_revision = "0010_report_facts"
branch_labels = None
depends_on = None

# Under the 2025 regime an apology from another body (the one that caused the delay) is numbered
# in that body's book, not ours: only the unit's own letters are backfilled.
_OWN_BODY = ("(trim(e.late_body) = '' OR lower(trim(e.late_body)) = 'desk' "
             "OR e.dossier_id IN (SELECT id FROM dossier WHERE regime = '2018'))")


def upgrade() -> None:
    op.execute("""
        CREATE TABLE book_number (
            id INTEGER PRIMARY KEY,
            book VARCHAR NOT NULL,
            year INTEGER NOT NULL,
            number INTEGER NOT NULL,
            dossier_id INTEGER NOT NULL REFERENCES dossier(id),
            ref VARCHAR NOT NULL DEFAULT '',
            issued_at DATETIME NOT NULL,
            CONSTRAINT uq_book_number UNIQUE (book, year, number),
            CONSTRAINT uq_book_number_ref UNIQUE (book, dossier_id, ref)
        )""")
    op.execute("CREATE INDEX ix_book_number_dossier_id ON book_number(dossier_id)")
    op.execute("""
        INSERT INTO book_number (book, year, number, dossier_id, ref, issued_at)
        SELECT 'register', y, ROW_NUMBER() OVER (PARTITION BY y ORDER BY accepted_at, id),
               id, 'accept', accepted_at
        FROM (SELECT id, accepted_at, CAST(strftime('%Y', accepted_at) AS INTEGER) AS y
              FROM dossier WHERE accepted_at IS NOT NULL)""")
    op.execute(f"""
        INSERT INTO book_number (book, year, number, dossier_id, ref, issued_at)
        SELECT 'letter', y, ROW_NUMBER() OVER (PARTITION BY y ORDER BY at, kind, id),
               dossier_id, ref, at
        FROM (SELECT e.id, e.dossier_id, e.at, 0 AS kind, 'extension:' || e.seq AS ref,
                     CAST(strftime('%Y', e.at) AS INTEGER) AS y
              FROM extension e WHERE {_OWN_BODY}
              UNION ALL
              SELECT v.id, v.dossier_id, v.at, 1, v.action,
                     CAST(strftime('%Y', v.at) AS INTEGER)
              FROM dossierevent v WHERE v.action IN ('stop', 'withdraw'))""")
    op.execute("""
        INSERT OR REPLACE INTO codecounter (key, last_seq)
        SELECT 'book:' || book || ':' || year, MAX(number) FROM book_number GROUP BY book, year""")


def downgrade() -> None:
    op.execute("DELETE FROM codecounter WHERE key LIKE 'book:%'")
    op.execute("DROP TABLE IF EXISTS book_number")
