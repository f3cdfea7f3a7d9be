"""applicant card: the rest of what the chip ID card says about the applicant

The QR code on the back of a chip citizen ID card (CCCD gắn chip) carries seven fields
(``ccdesk.domain.cccd_qr``): the dossier already kept the number, name, date of birth and
address; it now keeps the other three, so a scanned card is stored whole and an officer typing
by hand can record them too (docs/tui.md, "Scanner input"):

* ``applicant_old_id``: the old identity card number (CMND), ``''`` when none;
* ``applicant_sex``: ``male`` | ``female`` (``ccdesk.domain.vocabulary.Sex``), ``''`` unknown;
* ``applicant_id_issued``: the day the card was issued, NULL unknown.

Existing dossiers get the "unknown" values; nothing is guessed from the ID number.

Revision ID: 0012_applicant_card
Revises: 0011_book_numbers
"""

from __future__ import annotations

from alembic import op

revision = "0012_applicant_card"
down_revision = "0011_book_numbers"
branch_labels = None
depends_on = None

# Plain ALTER TABLE (as 0010): adding a column with a constant default rewrites nothing, where a
# batch rebuild would copy every dossier row.
_COLUMNS = (("applicant_old_id", "VARCHAR NOT NULL DEFAULT ''"),
            ("applicant_sex", "VARCHAR NOT NULL DEFAULT ''"),
            ("applicant_id_issued", "DATE"))


def upgrade() -> None:
    for name, kind in _COLUMNS:
        op.execute(f"ALTER TABLE dossier ADD COLUMN {name} {kind}")


def downgrade() -> None:
    for name, _ in reversed(_COLUMNS):
        op.execute(f"ALTER TABLE dossier DROP COLUMN {name}")
