"""Intake step 2: the applicant, checked as typed; a known ID number fills in the rest."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Checkbox, Input, Label, Select

from ccdesk.domain.catalog import FeeKind
from ccdesk.domain.cccd_qr import (
    looks_like_card_scan,
)
from ccdesk.domain.errors import CcdeskError, InvalidInput, ValidationError
from ccdesk.domain.parties import Party, validate_owner, validate_party
from ccdesk.domain.validation import (
    clean_text,
    normalise_phone,
    validate_citizen_id,
    validate_email,
    validate_full_name,
    validate_old_id,
)
from ccdesk.domain.vocabulary import ApplicantKind, Channel, Delivery, Sex
from ccdesk.i18n import fmt_date, t
from ccdesk.services.intake import (
    MAX_SETS,
    Applicant,
    validate_applicant,
)
from screens.base import DeskScreen, field_label
from screens.intake_checklist import ChecklistStep
from screens.intake_draft import IntakeDraft
from screens.intake_parties import OwnerFields, chosen, id_types
from screens.intake_scan import HISTORY, CardScanning
from screens.widgets.field import FormField, field_of
from screens.widgets.validators import CoreValidator, parse_count, parse_day, parse_money

if TYPE_CHECKING:
    from ccdesk.services import Services


class ApplicantStep(OwnerFields, CardScanning, DeskScreen):
    """Who hands the dossier in, how, and for whom."""

    TITLE_KEY = "tui.intake.title_applicant"
    HELP_KEY = "tui.help.intake_applicant"
    ENTER_MOVES_FOCUS = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f8", "next", "tui.key.next", id="next"),
        Binding("escape", "back", "tui.key.back", id="back"),
    ]

    def __init__(self, services: Services, draft: IntakeDraft) -> None:
        super().__init__(services)
        self.draft = draft
        # Kept across a language switch (recompose); an online filing's answers to begin with.
        self._typed: dict[str, str] = dict(draft.prefill)
        # Each field's recent values: what a field held before a scan is found in them.
        self._history: dict[str, deque[str]] = {}

    def compose_body(self) -> ComposeResult:
        procedure = self.draft.procedure
        with VerticalScroll(id="applicant-form", classes="form step"):
            yield Label(t("tui.intake.step", step=2, total=4,
                          name=t("tui.intake.step_applicant")), classes="step-title")
            yield Label(f"{procedure.code} · {procedure.name}", classes="procedure-line")
            if self.draft.portal_code:
                yield Label(t("tui.intake.portal_line", code=self.draft.portal_code),
                            id="portal-line", classes="procedure-line")
            yield Label("", id="scan-status", classes="scan-status")
            yield self._select("id_type", id_types(), "cccd")
            yield self._input("id_number", CoreValidator(self._check_id))
            yield self._input("full_name", CoreValidator(validate_full_name))
            yield self._input("date_of_birth",
                              CoreValidator(lambda v: parse_day(v, "date_of_birth")),
                              placeholder="dd/mm/yyyy")
            yield self._input("phone", CoreValidator(normalise_phone))
            yield self._input("email", CoreValidator(validate_email))
            yield self._input("address", CoreValidator(lambda v: clean_text(v, "address")))
            # The rest of the chip ID card, on one line (80×24): filled by a scan, optional.
            with Horizontal(id="card-fields"):
                yield self._input("old_id_number", CoreValidator(validate_old_id))
                yield self._select("sex", [(s.label(), s.value) for s in Sex], "",
                                   blank=True)
                yield self._input("id_issued_on",
                                  CoreValidator(lambda v: parse_day(v, "id_issued_on")),
                                  placeholder="dd/mm/yyyy")
            yield self._select("channel", [(c.label(), c.value) for c in Channel],
                               Channel.DIRECT.value)
            yield self._input("sets", CoreValidator(lambda v: parse_count(v, "sets", 1,
                                                                           MAX_SETS)), "1")
            yield self._select("delivery", [(d.label(), d.value) for d in Delivery],
                               Delivery.DESK.value)
            yield self._select("applicant_kind", [(k.label(), k.value) for k in ApplicantKind],
                               ApplicantKind.CITIZEN.value)
            with Vertical(id="owner-fields") as owner:
                owner.display = bool(self._owner_fields_shown())
                yield from self._owner_fields()
            if procedure.second_party is not None:
                with Vertical(id="party2-fields"):
                    yield from self._party_fields(procedure.second_party)
            if procedure.fee.kind == FeeKind.PROVINCIAL:
                yield self._input("fee_amount",
                                  CoreValidator(lambda v: parse_money(v, "fee_amount")),
                                  placeholder=t("tui.intake.fee_hint"))
            if procedure.fee.kind == FeeKind.FREE_ON_TIME:  # late registration: entered
                yield self._input("fee_amount",
                                  CoreValidator(lambda v: parse_money(v, "fee_amount")),
                                  placeholder=t("core.catalog_fee.late_hint"))
            if procedure.fee.kind == FeeKind.PER_PAGE:
                yield self._input("pages", CoreValidator(lambda v: parse_count(v, "pages", 1,
                                                                                9999)), "1")
            if procedure.fee.kind in (FeeKind.PER_PAGE, FeeKind.PER_COPY):
                yield self._input("copies", CoreValidator(lambda v: parse_count(v, "copies", 1,
                                                                                 999)), "1")
            if procedure.time.verification_days:
                yield Checkbox(t("tui.intake.needs_verification",
                                 days=procedure.time.verification_days),
                               id="needs_verification", compact=True)
            yield Label(t("tui.intake.applicant_hint"), classes="hint")

    def _input(self, name: str, validator: CoreValidator | None = None, value: str = "",
               placeholder: str = "") -> FormField:
        control = Input(value=self._typed.get(name, value), id=name, compact=True,
                        placeholder=placeholder,
                        validators=[validator] if validator else [],
                        validate_on=["changed", "blur"])
        return FormField(field_label(name), control, name=name)

    def _select(self, name: str, options: list[tuple[str, str]], value: str, *,
                blank: bool = False) -> FormField:
        """A choice; ``blank``: it may be left unset (``""`` while recomposing)."""
        chosen = self._typed.get(name, value) or Select.NULL
        return FormField(t(f"vocab.field.{name}"),
                         Select(options, value=chosen, allow_blank=blank, id=name, compact=True,
                                prompt="—"),
                         name=name)

    def on_mount(self) -> None:
        self.query_one("#id_number", Input).focus()

    @on(Select.Changed, "#applicant_kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        self._show_owner_fields(self._chosen_kind())

    def refresh_language(self) -> None:
        self._typed = {str(w.id): w.value for w in self.query(Input)}
        self._typed.update({str(w.id): chosen(w) for w in self.query(Select)})
        super().refresh_language()

    # ---- as the officer types -------------------------------------------------------------
    def _check_id(self, value: str, prefix: str = "") -> object:
        found = self.query(f"#{prefix}id_type")  # absent for a moment while recomposing
        kind = (str(found.first(Select).value) if found
                else self._typed.get(f"{prefix}id_type", "cccd"))
        return validate_citizen_id(value, kind, today=self.host.now().date(),
                                   field=f"{prefix}id_number")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        history = self._history.setdefault(str(event.input.id), deque(maxlen=HISTORY))
        history.append(event.value)
        if event.input.id == "full_name":
            self.draft.typed_name = event.value
        field = field_of(event.input)
        if field is None:
            return
        failures = (event.validation_result.failure_descriptions
                    if event.validation_result is not None else [])
        # An empty field is only an error when saving; don't shout while the form is new. A
        # field fixed after F8 loses its error at once.
        field.set_error(failures[0] if failures and event.value else None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if looks_like_card_scan(event.value):
            self._card_scanned(event.input)
        elif event.input.id == "id_number":
            self._lookup(event.value)

    @on(Input.Blurred, "#id_number")
    def _id_left(self, event: Input.Blurred) -> None:
        self._lookup(event.value)

    @work(exclusive=True, thread=True, group="citizen-lookup")
    def _lookup(self, id_number: str) -> None:
        known = self.services.intake.lookup_citizen(id_number)
        if known is not None:
            self.app.call_from_thread(self._fill, known)

    def _fill(self, known: Applicant) -> None:
        """A returning citizen: fill only what the officer has not typed yet."""
        filled = False
        values = {"full_name": known.full_name, "phone": known.phone, "email": known.email,
                  "address": known.address,
                  "date_of_birth": fmt_date(known.date_of_birth) if known.date_of_birth else "",
                  "old_id_number": known.old_id_number,
                  "id_issued_on": fmt_date(known.id_issued_on) if known.id_issued_on else ""}
        for name, value in values.items():
            control = self.query_one(f"#{name}", Input)
            if value and not control.value:
                control.value = value
                filled = True
        sex = self.query_one("#sex", Select)
        if known.sex and sex.is_blank():
            sex.value = known.sex
            filled = True
        if filled and not self.draft.returning_citizen:
            self.draft.returning_citizen = True
            self.notify(t("tui.intake.returning_citizen"))

    # ---- next -----------------------------------------------------------------------------
    def action_next(self) -> None:
        self.clear_errors()
        try:
            self._store()
        except CcdeskError as err:
            self.show_error(err)
            return
        self.app.push_screen(ChecklistStep(self.services, self.draft))

    def _value(self, name: str) -> str:
        found = self.query(f"#{name}")
        return found.first(Input).value if found else ""

    def _store(self) -> None:
        """Check everything (the core's rules) and keep it in the draft."""
        errors: list[ValidationError] = []

        def parsed(fn, *args):  # noqa: ANN001, ANN202 - a parser and its arguments
            try:
                return fn(*args)
            except ValidationError as err:
                errors.append(err)
                return None

        request = self.draft.request
        applicant = Applicant(
            full_name=self._value("full_name"), id_number=self._value("id_number"),
            id_type=str(self.query_one("#id_type", Select).value),
            date_of_birth=parsed(parse_day, self._value("date_of_birth"), "date_of_birth"),
            phone=self._value("phone"), email=self._value("email"),
            address=self._value("address"), old_id_number=self._value("old_id_number"),
            sex=chosen(self.query_one("#sex", Select)),
            id_issued_on=parsed(parse_day, self._value("id_issued_on"), "id_issued_on"))
        try:
            request.applicant = validate_applicant(applicant, today=self.host.now().date())
        except InvalidInput as err:
            errors.extend(e for e in err.errors if not any(x.field == e.field for x in errors))
        request.channel = str(self.query_one("#channel", Select).value)
        request.delivery = str(self.query_one("#delivery", Select).value)
        request.sets = parsed(parse_count, self._value("sets"), "sets", 1, MAX_SETS) or 1
        try:
            request.owner = validate_owner(self._owner(), today=self.host.now().date())
        except (InvalidInput, ValidationError) as err:
            errors.extend(getattr(err, "errors", [err]))
        if self.draft.procedure.second_party is not None:
            party = Party(name=self._value("party2_name"),
                          id_type=chosen(self.query_one("#party2_id_type", Select)) or "cccd",
                          id_number=self._value("party2_id_number"),
                          date_of_birth=parsed(parse_day, self._value("party2_dob"),
                                               "party2_dob"))
            try:
                request.party2 = validate_party(party, today=self.host.now().date())
            except InvalidInput as err:
                errors.extend(e for e in err.errors if not any(x.field == e.field for x in errors))
        if self.query("#fee_amount"):
            request.fee_amount = parsed(parse_money, self._value("fee_amount"), "fee_amount")
            if request.fee_amount is None and self.draft.procedure.fee.kind == FeeKind.PROVINCIAL \
                    and not any(e.field == "fee_amount" for e in errors):
                errors.append(ValidationError("core.err.fee_required", field="fee_amount"))
        if self.query("#pages"):
            request.pages = parsed(parse_count, self._value("pages"), "pages", 1, 9999) or 1
        if self.query("#copies"):
            request.copies = parsed(parse_count, self._value("copies"), "copies", 1, 999) or 1
        checkbox = self.query("#needs_verification")
        request.needs_verification = bool(checkbox and checkbox.first(Checkbox).value)
        if errors:
            raise InvalidInput(errors)

    def action_back(self) -> None:
        self.dismiss()
