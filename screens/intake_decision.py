"""Intake step 4: accept (with the computed due time), request a supplement, or refuse."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from ccdesk.domain.errors import CcdeskError
from ccdesk.domain.lifecycle import Regime, Status
from ccdesk.forms.kinds import FormKind, form_id_of
from ccdesk.i18n import fmt_date, fmt_datetime, t
from ccdesk.services.intake import Decision, IntakeResult, MissingItem, check_decision
from screens.base import DeskScreen
from screens.intake_draft import IntakeDraft
from screens.modals.confirm import ConfirmModal
from screens.modals.form_preview import FormPreview
from screens.widgets.field import FormField

if TYPE_CHECKING:
    from ccdesk.services import Services


class DecisionStep(DeskScreen):
    """Step 4 of 4. After saving, the intake area starts over and the dossier opens."""

    TITLE_KEY = "tui.intake.title_decision"
    HELP_KEY = "tui.help.intake_decision"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "decide('accept')", "vocab.action.accept", id="accept"),
        Binding("f6", "decide('supplement')", "vocab.action.request_supplement",
                id="supplement"),
        Binding("f7", "decide('refuse')", "vocab.action.refuse", id="refuse"),
        Binding("escape", "back", "tui.key.back", id="back"),
    ]

    def __init__(self, services: Services, draft: IntakeDraft) -> None:
        super().__init__(services)
        self.draft = draft

    def compose_body(self) -> ComposeResult:
        draft, request = self.draft, self.draft.request
        received = sum(1 for e in request.checklist if e.received)
        missing = draft.missing_required()
        with VerticalScroll(id="decision", classes="form step"):
            yield Label(t("tui.intake.step", step=4, total=4,
                          name=t("tui.intake.step_decision")), classes="step-title")
            yield Static(t("tui.intake.summary", code=draft.procedure.code,
                           procedure=draft.procedure.name, name=request.applicant.full_name,
                           id_number=request.applicant.id_number, received=received,
                           total=len(draft.procedure.documents)), id="decision-summary")
            if draft.portal_code:   # the forms print it under ours
                yield Label(t("tui.intake.portal_line", code=draft.portal_code),
                            id="decision-portal")
            if missing:
                yield Static(t("tui.intake.missing", names="; ".join(missing)),
                             id="decision-missing", classes="warning")
                yield Label("", id="checklist-error", classes="field-error")
            else:
                yield Static(t("tui.intake.due_preview", due=fmt_datetime(self._due())),
                             id="decision-due", classes="success")
                if provisional := self.services.intake.preview_due_time(
                        draft.procedure, needs_verification=request.needs_verification
                        ).provisional:
                    yield Static(t("core.official_calendar.provisional_days", days=", ".join(
                        fmt_date(s.day) for s in provisional)), id="decision-provisional",
                        classes="warning")
            yield FormField(t("tui.intake.extra_item"),
                            Input(id="extra_item", compact=True), name="extra_item")
            yield FormField(t("vocab.field.reason"),
                            Input(id="reason", compact=True,
                                  placeholder=t("tui.decision.reason_when")), name="reason")
            with Horizontal(classes="buttons"):
                if not missing:  # not offered at all when a required document is missing
                    yield Button(f"F5 {t('vocab.action.accept')}", id="accept",
                                 variant="success", compact=True)
                yield Button(f"F6 {t('vocab.action.request_supplement')}", id="supplement",
                             variant="warning", compact=True)
                yield Button(f"F7 {t('vocab.action.refuse')}", id="refuse", variant="error",
                             compact=True)

    def _due(self) -> datetime:
        return self.services.intake.preview_due(
            self.draft.procedure, needs_verification=self.draft.request.needs_verification)

    def on_mount(self) -> None:
        self.query_one("#accept" if not self.draft.missing_required() else "#supplement",
                       Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_decide(str(event.button.id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "decide" and parameters == ("accept",):
            # Disabled (not handed on to the app's F5) and left out of the key bar.
            return None if self.draft.missing_required() else True
        return True

    def place_error(self, err: CcdeskError) -> bool:
        found = self.query("#checklist-error") if err.field == "checklist" else None
        if not found:
            return super().place_error(err)
        label = found.first(Label)
        label.update(err.message())
        label.display = True
        return True

    @on(Input.Changed, "#reason")
    def _reason_changed(self) -> None:
        self.query_one("#field-reason", FormField).set_error(None)

    def action_decide(self, choice: str) -> None:
        self.clear_errors()
        decision = Decision(choice)
        try:  # before the y/n question: a refusal without its reason, say, is refused here
            check_decision(decision, reason=self.query_one("#reason", Input).value,
                           missing_required=self.draft.missing_required())
        except CcdeskError as err:
            self.show_error(err)
            if err.field == "reason":
                self.query_one("#reason", Input).focus()
            return
        if decision == Decision.ACCEPT:
            question = t("tui.intake.confirm_accept", due=fmt_datetime(self._due()))
        elif decision == Decision.SUPPLEMENT:
            names = self.draft.missing_required() + self._extra()
            question = t("tui.intake.confirm_supplement", names="; ".join(names) or "—")
        else:
            question = t("tui.intake.confirm_refuse")
        reason, extra = self.query_one("#reason", Input).value, self._extra()
        self.app.push_screen(ConfirmModal(question),
                             lambda yes: self._submit(decision, reason, extra) if yes else None)

    def _extra(self) -> list[str]:
        text = self.query_one("#extra_item", Input).value.strip()
        return [text] if text else []

    @work(exclusive=True, thread=True, group="intake-submit")
    def _submit(self, decision: Decision, reason: str, extra: list[str]) -> None:
        try:
            result = self.services.intake.submit(
                self.actor, self.draft.request, decision, reason=reason,
                missing=[MissingItem(name) for name in extra])
        except CcdeskError as err:
            self.app.call_from_thread(self.show_error, err)
            return
        self.app.call_from_thread(self._done, result)

    def _done(self, result: IntakeResult) -> None:
        from screens.dossier import DossierScreen

        for warning in result.warnings:
            self.notify(t(warning), severity="warning", timeout=10)
        self.notify(t("tui.intake.saved", code=result.dossier.code,
                      status=t(f"vocab.status.{result.dossier.status}")))
        # Start the area over (the next citizen) and show the new dossier on top of it.
        while len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        base = self.app.screen
        if hasattr(base, "reset"):
            base.reset()
        dossier = result.dossier
        self.app.push_screen(DossierScreen(self.services, dossier.code))
        # The slip (or the supplement request / refusal) to hand to the citizen.
        kind = {Status.RECEIVED: FormKind.SLIP, Status.WAITING_SUPPLEMENT: FormKind.SUPPLEMENT,
                Status.REFUSED: FormKind.REFUSAL}[dossier.status]
        self.app.push_screen(FormPreview(self.services, self.actor, dossier.code,
                                         form_id_of(kind, Regime(dossier.regime))))

    def action_back(self) -> None:
        self.dismiss()
