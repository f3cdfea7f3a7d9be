"""Intake step 3: tick the documents received, with their form and quantity."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Checkbox, Input, Label, Select

from ccdesk.domain.catalog import DocForm
from ccdesk.domain.errors import CcdeskError, ValidationError
from ccdesk.i18n import t
from ccdesk.models import ProcedureDocument
from ccdesk.services.intake import ChecklistEntry
from screens.base import DeskScreen
from screens.intake_decision import DecisionStep
from screens.intake_draft import IntakeDraft
from screens.modals.attach import AttachModal, intake_attach_context, mark_rows
from screens.verification import VerifyMark, toggle_verify
from screens.widgets.validators import parse_count
from screens.widgets.wrap_checkbox import WrapCheckbox

if TYPE_CHECKING:
    from ccdesk.services import Services

MAX_QUANTITY = 999


class DocumentRow(Vertical):
    """One required document: received?, in which form, how many; its condition below."""

    DEFAULT_CLASSES = "doc-row"

    def __init__(self, doc: ProcedureDocument, entry: ChecklistEntry | None) -> None:
        super().__init__(id=f"doc-{doc.position}")
        self.doc = doc
        self._entry = entry
        # to confirm in a national database instead of on paper (screens/verification.py)
        self.verify = bool(entry and entry.verify)

    def compose(self) -> ComposeResult:
        doc, entry = self.doc, self._entry
        requirement = t(f"vocab.requirement.{doc.requirement}")
        with Horizontal(classes="doc-line"):
            yield WrapCheckbox(f"{doc.position}. {doc.name} [dim]({requirement})[/dim]",
                           value=bool(entry and entry.received), compact=True,
                           classes="doc-received")
            yield Select([(t(f"vocab.form.{f.value}"), f.value) for f in DocForm],
                         value=(entry.form if entry and entry.form else doc.form),
                         allow_blank=False, compact=True, classes="doc-form")
            yield Input(str(entry.quantity if entry and entry.quantity is not None
                            else doc.quantity), compact=True, classes="doc-quantity",
                        type="integer")
        if doc.condition:
            yield Label(t("tui.intake.condition", condition=doc.condition), classes="doc-cond")
        if doc.national_record:
            yield VerifyMark(doc, self.verify)
        yield Label("", classes="field-error")

    def entry(self) -> ChecklistEntry:
        quantity = parse_count(self.query_one(".doc-quantity", Input).value or "0", "checklist",
                               0, MAX_QUANTITY)
        received = self.query_one(".doc-received", Checkbox).value
        return ChecklistEntry(position=self.doc.position, received=received,
                              form=str(self.query_one(".doc-form", Select).value),
                              quantity=quantity, verify=self.verify and not received)

    def set_verify(self, on: bool) -> None:
        self.verify = on
        if on:
            self.query_one(".doc-received", Checkbox).value = False
        self.query_one(VerifyMark).show(on)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.value and self.verify:  # the paper was handed in after all
            self.set_verify(False)

    def set_error(self, message: str | None) -> None:
        error = self.query_one(".field-error", Label)
        error.update(message or "")
        error.display = bool(message)


class ChecklistStep(DeskScreen):
    """Step 3 of 4."""

    TITLE_KEY = "tui.intake.title_checklist"
    HELP_KEY = "tui.help.intake_checklist"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f8", "next", "tui.key.next", id="next"),
        Binding("f7", "tick_all", "tui.key.tick_all", id="tick_all"),
        Binding("f5", "digitise", "attachments.screen.key", id="digitise"),
        Binding("f6", "toggle_verify", "verification.tui.key_mark", id="verify"),
        Binding("escape", "back", "tui.key.back", id="back"),
        Binding("right", "within_row(1)", "tui.key.next", id="row_right", show=False),
        Binding("left", "within_row(-1)", "tui.key.back", id="row_left", show=False),
    ]

    def __init__(self, services: Services, draft: IntakeDraft) -> None:
        super().__init__(services)
        self.draft = draft

    # ---- one Tab per document; → and ← within its row ------------------------------------
    def _row_of_focus(self) -> DocumentRow | None:
        focused = self.focused
        if focused is None:
            return None
        return next((n for n in focused.ancestors_with_self if isinstance(n, DocumentRow)), None)

    def move_focus(self, forward: bool) -> None:
        """Tab: the next document's box (not the form and quantity of this one)."""
        row, rows = self._row_of_focus(), self.rows
        if row is None:
            super().move_focus(forward)
            return
        index = rows.index(row)
        on_box = self.focused is row.query_one(".doc-received")
        target = index + (1 if forward else (-1 if on_box else 0))
        if 0 <= target < len(rows):
            self.set_focus(rows[target].query_one(".doc-received"))  # at once (key flow)
        else:
            super().move_focus(forward)

    def action_within_row(self, step: int) -> None:
        """→ / ←: the box, the form and the quantity of the same document."""
        row = self._row_of_focus()
        if row is None:
            return
        parts = [row.query_one(".doc-received"), row.query_one(".doc-form"),
                 row.query_one(".doc-quantity")]
        index = next((i for i, p in enumerate(parts) if p is self.focused), 0)
        self.set_focus(parts[max(0, min(len(parts) - 1, index + step))])

    def compose_body(self) -> ComposeResult:
        entries = {e.position: e for e in self.draft.request.checklist}
        with VerticalScroll(id="checklist-form", classes="form step"):
            yield Label(t("tui.intake.step", step=3, total=4,
                          name=t("tui.intake.step_checklist")), classes="step-title")
            yield Label(t("tui.intake.checklist_hint"), classes="hint")
            for doc in self.draft.procedure.documents:
                yield DocumentRow(doc, entries.get(doc.position))

    def on_mount(self) -> None:
        first = self.query(".doc-received")
        if first:
            first.first().focus()
        mark_rows(list(self.rows), self.draft.request.files)

    def action_digitise(self) -> None:
        """F5: scan or pick the paper of the focused item (screens/modals/attach.py)."""
        row = self._row_of_focus() or (self.rows[0] if self.rows else None)
        if row is not None:
            self.app.push_screen(AttachModal(intake_attach_context(
                self.services, self.draft.request.files, row.doc.position, row.doc.name)),
                lambda _count: mark_rows(list(self.rows), self.draft.request.files))

    @property
    def rows(self) -> list[DocumentRow]:
        return list(self.query(DocumentRow))

    def action_tick_all(self) -> None:
        for box in self.query(".doc-received").results(Checkbox):
            box.value = True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_verify":  # offered only where a database holds some paper
            return any(d.national_record for d in self.draft.procedure.documents)
        return super().check_action(action, parameters)

    def action_toggle_verify(self) -> None:
        """F6: the focused document to verify in the national database, or not any more."""
        toggle_verify(self, self._row_of_focus(), self.draft)

    def action_next(self) -> None:
        errors: list[ValidationError] = []
        entries: list[ChecklistEntry] = []
        for row in self.rows:
            try:
                entries.append(row.entry())
                row.set_error(None)
            except ValidationError as err:
                row.set_error(err.message())
                errors.append(err)
        if errors:  # each is shown on its own row
            return
        self.draft.set_checklist(entries)
        self.app.push_screen(DecisionStep(self.services, self.draft))

    def place_error(self, err: CcdeskError) -> bool:
        return err.field == "checklist"  # already shown on its row

    def refresh_language(self) -> None:
        self._keep()
        super().refresh_language()

    def _keep(self) -> None:
        """Keep what was ticked (a language switch recomposes; going back re-enters)."""
        try:
            self.draft.set_checklist([row.entry() for row in self.rows])
        except ValidationError:
            pass

    def action_back(self) -> None:
        self._keep()  # if the officer goes back to fix the applicant
        self.dismiss()
