"""Applicants who are not a single citizen: whose dossier it is, and the second party.

The person at the counter (the *applicant*, checked by ``services.intake.validate_applicant``)
is not always the dossier's owner (docs/design/domain-rules.md, "Applicants"):

* a **representative** hands in for another person, under an authorisation (giấy ủy quyền): the
  owner's name and ID number go on the dossier and upstream as its owner (``ChuHoSo``);
* an **organisation's** representative hands in for a business or organisation: its name, tax
  code (mã số thuế) and address are the owner;
* a **two-party** procedure (marriage, parent-child recognition: the catalogue's
  ``second_party``) names the other party beside the applicant.

Pure rules: no database, no screens.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from stdnum import exceptions as stdnum_errors
from stdnum.vn import mst

from ccdesk.domain.errors import InvalidInput, ValidationError
from ccdesk.domain.validation import (
    clean_text,
    validate_birth_date,
    validate_citizen_id,
    validate_full_name,
)
from ccdesk.domain.vocabulary import ApplicantKind

AUTHORISATION_LIMIT = 200   # "Giấy ủy quyền số 12/UQ ngày 03/12/2026 ..." fits with room
ORGANISATION_LIMIT = 255    # a business's registered name can be long


@dataclass(frozen=True)
class Owner:
    """Whose dossier it is when not the applicant's own (``kind`` says which case)."""

    kind: ApplicantKind = ApplicantKind.CITIZEN
    name: str = ""            # the represented person, or the organisation
    address: str = ""
    id_type: str = "cccd"     # the represented person's ID paper
    id_number: str = ""
    tax_code: str = ""        # the organisation's tax code, "" when it has none
    authorisation: str = ""   # the paper the applicant acts under (number, date, who signed)


@dataclass(frozen=True)
class Party:
    """The second party of a two-party dossier."""

    name: str = ""
    id_type: str = "cccd"
    id_number: str = ""
    date_of_birth: date | None = None


def validate_tax_code(value: str | None, field: str = "owner_tax_code") -> str:
    """A business's tax code: 10 digits with its check digit, or 13 for a branch, written
    ``0123456789-001``; ``""`` when none is given."""
    raw = clean_text(value, field, limit=20).replace(" ", "")
    if not raw:
        return ""
    try:
        digits = mst.validate(raw)
    except stdnum_errors.ValidationError as err:
        raise ValidationError("core.err.tax_code", field=field) from err
    return digits if len(digits) == 10 else f"{digits[:10]}-{digits[10:]}"


def validate_owner(owner: Owner, *, today: date | None = None) -> Owner:
    """Normalise and check the owner for its kind; raise ``InvalidInput`` naming each bad field.

    A citizen's own dossier keeps no owner fields; what was typed for another kind is dropped
    rather than stored half-meant."""
    try:
        kind = ApplicantKind(owner.kind)
    except ValueError:
        raise ValidationError("core.err.choice", field="applicant_kind",
                              allowed=", ".join(ApplicantKind.values())) from None
    if kind == ApplicantKind.CITIZEN:
        return Owner()
    errors: list[ValidationError] = []
    values: dict[str, object] = {"kind": kind}

    def check(attr: str, fn) -> None:  # noqa: ANN001 - a check returning the clean value
        try:
            values[attr] = fn()
        except ValidationError as err:
            errors.append(err)

    if kind == ApplicantKind.REPRESENTATIVE:
        check("name", lambda: validate_full_name(owner.name, "owner_name"))
        check("id_number", lambda: validate_citizen_id(
            owner.id_number, owner.id_type, today=today, field="owner_id_number").number)
    else:
        check("name", lambda: clean_text(owner.name, "owner_name", required=True,
                                         limit=ORGANISATION_LIMIT))
        check("tax_code", lambda: validate_tax_code(owner.tax_code))
    # The person at the counter acts under an authorisation; an organisation's own legal
    # representative needs none, so it is optional there.
    check("authorisation", lambda: clean_text(
        owner.authorisation, "authorisation", required=kind == ApplicantKind.REPRESENTATIVE,
        limit=AUTHORISATION_LIMIT))
    check("address", lambda: clean_text(owner.address, "owner_address"))
    if errors:
        raise InvalidInput(errors)
    if kind == ApplicantKind.ORGANISATION:
        values.update(id_number="", id_type="cccd")
    else:
        values["tax_code"] = ""
    return replace(owner, **values)  # type: ignore[arg-type]


def validate_party(party: Party, *, today: date | None = None) -> Party:
    """The second party: a name, an ID paper (a newborn's parent-child recognition may have
    none yet, so the number may be left blank) and a date of birth if known."""
    errors: list[ValidationError] = []
    values: dict[str, object] = {}
    try:
        values["name"] = validate_full_name(party.name, "party2_name")
    except ValidationError as err:
        errors.append(err)
    citizen = None
    if (party.id_number or "").strip():
        try:
            citizen = validate_citizen_id(party.id_number, party.id_type, today=today,
                                          field="party2_id_number")
            values["id_number"] = citizen.number
        except ValidationError as err:
            errors.append(err)
    else:
        values["id_number"] = ""
    try:
        values["date_of_birth"] = validate_birth_date(party.date_of_birth, citizen, today=today,
                                                      field="party2_dob")
    except ValidationError as err:
        errors.append(err)
    if errors:
        raise InvalidInput(errors)
    return replace(party, **values)  # type: ignore[arg-type]

