"""applicants: dossiers handed in for someone else, for an organisation, or naming two parties

A dossier records who hands it in (the applicant) and, when that is not the owner, whose dossier
it is (docs/design/domain-rules.md, "Applicants"):

* ``applicant_kind``: ``citizen`` | ``representative`` | ``organisation``
  (``ccdesk.domain.vocabulary.ApplicantKind``);
* ``owner_id_type``, ``owner_id_number``: the represented person's ID paper;
* ``owner_tax_code``: the organisation's tax code; ``authorisation``: the paper the applicant
  acts under;
* ``party2_*``: the other party of a two-party procedure (marriage, parent-child recognition),
  which the catalogue marks with ``procedureversion.second_party``.

Dossiers already kept with an owner's name were handed in for that owner: they become
``representative`` (their authorisation was not recorded and stays blank).

Revision ID: 0013_applicants
Revises: 0012_applicant_card
"""

from __future__ import annotations

from alembic import op

revision = "0013_applicants"
down_revision = "0012_applicant_card"
branch_labels = None
depends_on = None

# Plain ALTER TABLE (as 0012): a constant default rewrites no dossier row.
_DOSSIER = (("applicant_kind", "VARCHAR NOT NULL DEFAULT 'citizen'"),
            ("owner_id_type", "VARCHAR NOT NULL DEFAULT 'cccd'"),
            ("owner_id_number", "VARCHAR NOT NULL DEFAULT ''"),
            ("owner_tax_code", "VARCHAR NOT NULL DEFAULT ''"),
            ("authorisation", "VARCHAR NOT NULL DEFAULT ''"),
            ("party2_name", "VARCHAR NOT NULL DEFAULT ''"),
            ("party2_id_type", "VARCHAR NOT NULL DEFAULT 'cccd'"),
            ("party2_id_number", "VARCHAR NOT NULL DEFAULT ''"),
            ("party2_dob", "DATE"))


def upgrade() -> None:
    for name, kind in _DOSSIER:
        op.execute(f"ALTER TABLE dossier ADD COLUMN {name} {kind}")
    op.execute("ALTER TABLE procedureversion ADD COLUMN second_party VARCHAR NOT NULL DEFAULT ''")
    op.execute("UPDATE dossier SET applicant_kind = 'representative' WHERE owner_name != ''")


def downgrade() -> None:
    op.execute("ALTER TABLE procedureversion DROP COLUMN second_party")
    for name, _ in reversed(_DOSSIER):
        op.execute(f"ALTER TABLE dossier DROP COLUMN {name}")
