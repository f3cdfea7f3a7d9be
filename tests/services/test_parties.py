"""Applicants who are not a single citizen: a representative under an authorisation, an
organisation with its tax code, and the other party of a two-party procedure."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from ccdesk.domain.catalog import parse_catalog
from ccdesk.domain.errors import InvalidInput, ValidationError
from ccdesk.domain.parties import (
    Owner,
    Party,
    validate_owner,
    validate_party,
    validate_tax_code,
)
from ccdesk.domain.vocabulary import ApplicantKind, SecondParty
from ccdesk.services import Actor, Services
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest

REPRESENTATIVE = Applicant("Trần Văn Bình", "001085012345", phone="0912345678")
ORGANISATION = Owner(kind=ApplicantKind.ORGANISATION, name="Công ty TNHH Xây dựng An Phú",
                     tax_code=" 0314409058 - 002 ", address="Thôn 3, xã An Phú",
                     authorisation="Giấy giới thiệu số 15/GGT")
PRINCIPAL = Owner(kind=ApplicantKind.REPRESENTATIVE, name="Nguyễn Thị Mai",
                  id_number="001185054321", address="Thôn 1, xã An Phú",
                  authorisation="Giấy ủy quyền số 12/UQ ngày 01/12/2026")
BRIDE = Party(name="Lê Thị Hồng", id_number="001195006789", date_of_birth=date(1995, 3, 2))


def fields_of(err: InvalidInput) -> list[str]:
    return [e.field for e in err.errors]


# ---- the rules -----------------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "stored"), [
    ("0314409058", "0314409058"),
    ("0314409058-002", "0314409058-002"),
    ("0314409058002", "0314409058-002"),
    ("", ""),
])
def test_a_tax_code_is_kept_in_its_written_form(typed: str, stored: str) -> None:
    assert validate_tax_code(typed) == stored


@pytest.mark.parametrize("typed", ["0314409059", "031440905", "03144090581", "MST0314409"])
def test_a_tax_code_with_a_wrong_check_digit_or_length_is_refused(typed: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate_tax_code(typed)
    assert err.value.field == "owner_tax_code"
    assert "mã số thuế" in err.value.message("vi")


def test_a_representative_needs_the_owner_and_the_authorisation() -> None:
    with pytest.raises(InvalidInput) as err:
        validate_owner(Owner(kind=ApplicantKind.REPRESENTATIVE, id_number="12"))
    assert fields_of(err.value) == ["owner_name", "owner_id_number", "authorisation"]


def test_a_representative_keeps_the_owner_id_and_no_tax_code() -> None:
    owner = validate_owner(Owner(**{**PRINCIPAL.__dict__, "tax_code": "0314409058"}))
    assert (owner.name, owner.id_number, owner.tax_code) == (
        "Nguyễn Thị Mai", "001185054321", "")


def test_an_organisation_needs_a_name_and_a_valid_tax_code_not_an_authorisation() -> None:
    with pytest.raises(InvalidInput) as err:
        validate_owner(Owner(kind=ApplicantKind.ORGANISATION, tax_code="0314409059"))
    assert fields_of(err.value) == ["owner_name", "owner_tax_code"]
    owner = validate_owner(Owner(kind=ApplicantKind.ORGANISATION, name="HTX Nông nghiệp Đông"))
    assert owner.tax_code == "" and owner.authorisation == ""


def test_a_citizens_own_dossier_keeps_no_owner_fields() -> None:
    assert validate_owner(Owner(name="typed then left", tax_code="x")) == Owner()


def test_an_unknown_kind_names_the_allowed_ones() -> None:
    with pytest.raises(ValidationError) as err:
        validate_owner(Owner(kind="company"))  # type: ignore[arg-type]
    assert err.value.field == "applicant_kind" and "organisation" in err.value.message("en")


def test_the_second_party_may_have_no_id_yet_but_not_a_bad_one() -> None:
    assert validate_party(Party(name="Nguyễn Văn An")).id_number == ""
    with pytest.raises(InvalidInput) as err:
        validate_party(Party(name="", id_number="0011", date_of_birth=date(2999, 1, 1)))
    assert fields_of(err.value) == ["party2_name", "party2_id_number", "party2_dob"]


def test_the_catalogue_names_two_party_procedures_and_checks_the_role() -> None:
    from ccdesk.services.catalog import BUNDLED_CATALOG

    catalog = parse_catalog(BUNDLED_CATALOG.read_text(encoding="utf-8"))
    roles = {p.code: p.second_party for p in catalog.procedures if p.second_party}
    assert roles == {"1.000894": SecondParty.SPOUSE, "1.004746": SecondParty.SPOUSE,
                     "1.001022": SecondParty.PARENT_CHILD}
    text = BUNDLED_CATALOG.read_text(encoding="utf-8").replace(
        'second_party = "spouse"', 'second_party = "witness"', 1)
    from ccdesk.domain.catalog import CatalogInvalid

    with pytest.raises(CatalogInvalid) as err:
        parse_catalog(text)
    assert any("second_party" in e.message("en") or e.params.get("value") == "witness"
               for e in err.value.errors)


# ---- at the desk -----------------------------------------------------------------------------
def _submit(desk: Services, officer: Actor, code: str, **kw: object) -> str:
    procedure = desk.catalog.procedure(code)
    every_paper = [ChecklistEntry(doc.position, True) for doc in procedure.documents]
    request = IntakeRequest(code, REPRESENTATIVE, every_paper, **kw)
    return desk.intake.submit(officer, request, Decision.ACCEPT).dossier.code


def test_an_organisations_dossier_is_stored_found_and_shown(desk: Services,
                                                            officer: Actor) -> None:
    code = _submit(desk, officer, "2.000884", owner=ORGANISATION)
    d = desk.dossiers.detail(code).dossier
    assert (d.applicant_kind, d.owner_name, d.owner_tax_code, d.owner_id_number) == (
        "organisation", "Công ty TNHH Xây dựng An Phú", "0314409058-002", "")
    assert d.applicant_name == "Trần Văn Bình"   # who handed it in
    for query in ("an phu", "0314409058", "xay dung"):
        assert code in [r.code for r in desk.search.search(query)], query


def test_a_represented_owner_is_found_by_their_id_number(desk: Services,
                                                          officer: Actor) -> None:
    code = _submit(desk, officer, "2.000884", owner=PRINCIPAL)
    assert [r.code for r in desk.search.search("001185054321")] == [code]
    d = desk.dossiers.detail(code).dossier
    assert (d.applicant_kind, d.authorisation) == ("representative",
                                                   "Giấy ủy quyền số 12/UQ ngày 01/12/2026")


def test_a_marriage_names_the_other_spouse_and_no_other_procedure_takes_one(
        desk: Services, officer: Actor) -> None:
    with pytest.raises(ValidationError) as err:
        _submit(desk, officer, "1.000894")
    assert err.value.field == "party2_name"
    code = _submit(desk, officer, "1.000894", party2=BRIDE)
    d = desk.dossiers.detail(code).dossier
    assert (d.party2_name, d.party2_id_number, d.party2_dob) == (
        "Lê Thị Hồng", "001195006789", date(1995, 3, 2))
    assert [r.code for r in desk.search.search("le thi hong")] == [code]
    with pytest.raises(ValidationError) as err:
        _submit(desk, officer, "2.000884", party2=BRIDE)
    assert err.value.field == "party2_name" and "2.000884" in err.value.message("vi")


def test_the_owner_travels_in_the_outbox_with_the_dossier(desk: Services,
                                                          officer: Actor) -> None:
    import orjson

    code = _submit(desk, officer, "2.000884", owner=ORGANISATION)
    with sqlite3.connect(desk.db.path) as con:
        [(payload,)] = con.execute("SELECT payload FROM outbox WHERE entity_id = ?",
                                   (code,)).fetchall()
    dossier = orjson.loads(payload)["dossier"]
    assert (dossier["applicant_kind"], dossier["owner_tax_code"]) == (
        "organisation", "0314409058-002")


def test_dossiers_kept_with_an_owner_before_0013_become_representatives(
        desk: Services, officer: Actor) -> None:
    from alembic import command

    from ccdesk.storage.migrate import alembic_config

    represented = _submit(desk, officer, "2.000884", owner=PRINCIPAL)
    own = _submit(desk, officer, "2.000884")
    cfg = alembic_config(str(desk.db.engine.url))
    with desk.db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0012_applicant_card")
        command.upgrade(cfg, "0013_applicants")
    with sqlite3.connect(desk.db.path) as con:
        kinds = dict(con.execute("SELECT code, applicant_kind FROM dossier").fetchall())
        owner_ids = {r[0] for r in con.execute("SELECT owner_id_number FROM dossier")}
    assert kinds == {represented: "representative", own: "citizen"}
    assert owner_ids == {""}   # not recorded before 0013: nothing is guessed
