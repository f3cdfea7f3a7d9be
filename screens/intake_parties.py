"""Intake step 2's fields for whose dossier it is and a two-party dossier's other party:
which the kind of applicant shows, and reading them back (the rules are the core's,
``ccdesk.domain.parties``)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Label, Select

from ccdesk.domain.parties import Owner, validate_tax_code
from ccdesk.domain.validation import ID_TYPES, clean_text, validate_full_name
from ccdesk.domain.vocabulary import ApplicantKind, SecondParty
from ccdesk.i18n import t
from screens.widgets.field import FormField
from screens.widgets.validators import CoreValidator, parse_day

# The owner's fields each kind of applicant shows (the rest are hidden and not stored).
OWNER_FIELDS: dict[ApplicantKind, frozenset[str]] = {
    ApplicantKind.CITIZEN: frozenset(),
    ApplicantKind.REPRESENTATIVE: frozenset({"owner_name", "owner_id_type", "owner_id_number",
                                             "owner_address", "authorisation"}),
    ApplicantKind.ORGANISATION: frozenset({"owner_name", "owner_tax_code", "owner_address",
                                           "authorisation"}),
}


class OwnerFields:
    """Mixed into the applicant step, which provides ``_input``, ``_select``, ``_value``,
    ``_check_id`` and ``_typed``."""

    def _owner_fields(self) -> ComposeResult:
        """Whose dossier it is, shown for a representative or an organisation (by kind)."""
        shown = self._owner_fields_shown()
        for field in (
                self._input("owner_name", placeholder=t("tui.intake.owner_hint")),
                self._select("owner_id_type", id_types(), "cccd"),
                self._input("owner_id_number", CoreValidator(self._check_owner_id)),
                self._input("owner_tax_code", CoreValidator(validate_tax_code),
                            placeholder="0123456789"),
                self._input("owner_address", CoreValidator(
                    lambda v: clean_text(v, "owner_address"))),
                self._input("authorisation", placeholder=t("tui.intake.authorisation_hint"))):
            field.display = field.field_name in shown
            yield field

    def _owner_fields_shown(self) -> frozenset[str]:
        """The owner's fields the kind chosen so far shows (kept across a language switch)."""
        return OWNER_FIELDS[ApplicantKind(self._typed.get("applicant_kind")
                                          or ApplicantKind.CITIZEN)]

    def _party_fields(self, role: SecondParty) -> ComposeResult:
        """The other party of a two-party procedure (the spouse; the parent or child)."""
        yield Label(role.label(), classes="group-title")
        yield self._input("party2_name", CoreValidator(
            lambda v: validate_full_name(v, "party2_name")))
        yield self._select("party2_id_type", id_types(), "cccd")
        yield self._input("party2_id_number", CoreValidator(self._check_party_id))
        yield self._input("party2_dob", CoreValidator(lambda v: parse_day(v, "party2_dob")),
                          placeholder="dd/mm/yyyy")

    def _chosen_kind(self) -> ApplicantKind:
        found = self.query("#applicant_kind")
        value = chosen(found.first(Select)) if found else ""
        return ApplicantKind(value or ApplicantKind.CITIZEN)

    def _show_owner_fields(self, kind: ApplicantKind) -> None:
        """Only the owner's fields the kind asks for (docs/tui.md, "Who hands it in")."""
        shown = OWNER_FIELDS[kind]
        self.query_one("#owner-fields").display = bool(shown)
        for field in self.query_one("#owner-fields").query(FormField):
            field.display = field.field_name in shown

    def _check_owner_id(self, value: str) -> object:
        return self._check_id(value, "owner_")

    def _check_party_id(self, value: str) -> object:
        return self._check_id(value, "party2_") if value.strip() else None

    def _owner(self) -> Owner:
        """The owner as typed, for the chosen kind (validated by the core's rules)."""
        return Owner(kind=self._chosen_kind(), name=self._value("owner_name"),
                     address=self._value("owner_address"),
                     id_type=chosen(self.query_one("#owner_id_type", Select)) or "cccd",
                     id_number=self._value("owner_id_number"),
                     tax_code=self._value("owner_tax_code"),
                     authorisation=self._value("authorisation"))


def chosen(select: Select) -> str:
    """A select's value as stored: ``""`` when nothing is chosen."""
    return "" if select.is_blank() else str(select.value)


def id_types() -> list[tuple[str, str]]:
    return [(t(f"tui.id_type.{k}"), k) for k in ID_TYPES]
