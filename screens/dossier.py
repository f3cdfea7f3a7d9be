"""Dossier detail: everything about one dossier, its checklist, its history, and its actions.

Its sections live beside it: the head (screens/dossier_info.py), the checklist
(screens/dossier_checklist.py) and the digitised papers (screens/dossier_files.py).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Label, Static

from ccdesk.domain import paper_qr
from ccdesk.domain.errors import CcdeskError, NotFound
from ccdesk.domain.lifecycle import Action, Regime
from ccdesk.domain.vocabulary import RatingSource
from ccdesk.forms.kinds import FORM_IDS, FormKind, form_id_of
from ccdesk.i18n import fmt_datetime, t
from ccdesk.services.citizen_rating import MAX_WAIT_SECONDS
from ccdesk.services.dossiers import ActionResult, DossierDetail, action_warnings
from screens.base import DeskScreen
from screens.dossier_checklist import ChecklistTable
from screens.dossier_files import FilesSection
from screens.dossier_info import info_lines, show_due
from screens.keyflow import carrying_burst
from screens.linked_group import open_group
from screens.modals.action import ActionContext, ActionInput, ActionModal, ActionPicker
from screens.modals.attach import AttachModal
from screens.modals.attach_sources import dossier_attach_context
from screens.modals.citizen_rating import CitizenRatingWait
from screens.modals.form_preview import FormPicker, FormPreview
from screens.modals.rating import ASK_CITIZEN, RatingModal

if TYPE_CHECKING:
    from ccdesk.services import Services
    from ccdesk.services.verification import ItemState

MAX_CODE = 64  # longer than any dossier code
# The paper an action produces, previewed (and printed with p) right after it is recorded.
ACTION_FORMS = {Action.REQUEST_SUPPLEMENT: FormKind.SUPPLEMENT, Action.EXTEND: FormKind.EXTENSION,
                Action.STOP: FormKind.STOP, Action.HAND_OFF: FormKind.CONTROL}


class DossierScreen(DeskScreen):
    """Pushed from intake (and the register) for one dossier code."""

    TITLE_KEY = "tui.dossier.title"
    HELP_KEY = "tui.help.dossier"
    HORIZONTAL_BREAKPOINTS: ClassVar = [(0, "-narrow"), (120, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "actions", "tui.key.actions", id="actions"),
        Binding("p", "reprint", "vocab.action.reprint", id="reprint"),
        Binding("s", "digitise", "attachments.screen.key", id="digitise"),
        Binding("r", "reload", "tui.key.refresh", id="reload"),
        Binding("g", "linked_group", "linked.tui.key_group", id="linked_group", show=False),
        Binding("escape", "back", "tui.key.back", id="back"),
    ]

    def __init__(self, services: Services, code: str) -> None:
        super().__init__(services)
        self.code = code
        self.detail: DossierDetail | None = None
        self._digitised: set[int] = set()  # positions with a digitised paper
        self._verifications: dict[int, ItemState] = {}  # national-database checks by position

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="dossier"):
            with Vertical(id="dossier-main"):
                yield Static("", id="dossier-info")
                yield Static("", id="dossier-due")
                yield Label(t("vocab.field.checklist"), classes="section")
                yield ChecklistTable(id="dossier-checklist")
                yield Label(t("attachments.screen.section"), classes="section")
                yield FilesSection("", id="dossier-files")
            with Vertical(id="dossier-side"):
                yield Label(t("tui.dossier.history"), classes="section")
                yield DataTable(id="dossier-events", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.action_reload()

    # ---- showing --------------------------------------------------------------------------
    def action_reload(self) -> None:
        try:
            self.detail = self.services.dossiers.detail(self.code)
            files = self.services.attachments.files(self.code)
            self._verifications = self.services.verification.for_dossier(self.code)
        except CcdeskError as err:
            self.show_error(err)
            return
        self._digitised = {i.position for i in files.items if i.files}
        self._show(self.detail)
        self.query_one("#dossier-files", FilesSection).show(files.files)

    def _show(self, detail: DossierDetail) -> None:
        self.query_one("#dossier-info", Static).update("\n".join(info_lines(self.services,
                                                                            detail)))
        show_due(self.query_one("#dossier-due", Static), detail.dossier, self.host.now(),
                 self.services.ctx.calendar)
        self._show_checklist(detail)
        self._show_events(detail)

    def action_linked_group(self) -> None:
        open_group(self, self.code)

    def _show_checklist(self, detail: DossierDetail) -> None:
        found = self.query("#dossier-checklist")
        if not found:
            return  # being recomposed (language switch): on_mount shows it again
        found.first(ChecklistTable).show(detail.checklist, self._digitised, self._verifications)
        self.call_after_refresh(self._refit_checklist)  # the table's own width, once laid out

    def on_resize(self) -> None:
        self.call_after_refresh(self._refit_checklist)  # after the new layout (two columns?)

    def _refit_checklist(self) -> None:
        found = self.query("#dossier-checklist")
        if found and self.detail is not None:
            found.first(ChecklistTable).refit()

    def _show_events(self, detail: DossierDetail) -> None:
        names = {o.id: o.username for o in self.services.officers.list(include_inactive=True)}
        table = self.query_one("#dossier-events", DataTable)
        table.clear(columns=True)
        table.add_columns(t("vocab.field.event_at"), t("vocab.field.event"),
                          t("tui.dossier.officer"), t("vocab.field.reason"))
        for event in reversed(detail.events):
            table.add_row(fmt_datetime(event.at), t(f"vocab.action.{event.action}"),
                          names.get(event.officer_id, "—"), event.reason or "")

    # ---- actions --------------------------------------------------------------------------
    def action_actions(self) -> None:
        if self.detail is None:
            return
        allowed = self.services.dossiers.allowed_actions(self.detail.dossier, self.actor,
                                                         training=self.host.training)
        if not allowed:
            self.notify(t("tui.dossier.no_actions"), severity="warning")
            return
        self.record_action(allowed)

    @work(exclusive=True, group="dossier-action")
    async def record_action(self, allowed: list[Action]) -> None:
        """Pick, fill in, confirm (y/n) and record one action; each writes an event. The form
        stays open until the service has recorded it (its errors are shown in the form)."""
        assert self.detail is not None
        action = await self.app.push_screen_wait(ActionPicker(allowed))
        if action is None:
            return
        result: ActionResult | None = await self.app.push_screen_wait(
            ActionModal(action, self._action_context(action)))
        if result is None:
            return
        for warning in result.warnings:
            self.notify(t(warning), severity="warning", timeout=10)
        self.notify(t(f"tui.action_done.{action.value}",
                      status=t(f"vocab.status.{result.dossier.status}")))
        if action == Action.RETURN_RESULT:
            await self._ask_rating()
        self.action_reload()
        if action in ACTION_FORMS:
            form_id = form_id_of(ACTION_FORMS[action], Regime(result.dossier.regime))
            await self.app.push_screen_wait(FormPreview(self.services, self.actor, self.code,
                                                        form_id))

    def _action_context(self, action: Action) -> ActionContext:
        assert self.detail is not None
        dossier = self.detail.dossier
        # warned before, not after (ccdesk.services.dossiers.action_warnings)
        detail = " ".join(t(key) for key in action_warnings(dossier, action))

        def apply(entered: ActionInput) -> ActionResult:
            return self.services.dossiers.act(
                self.actor, self.code, action, reason=entered.reason, body=entered.body,
                new_due=entered.new_due, late_body=entered.late_body, items=entered.items,
                received_positions=entered.received_positions)

        return ActionContext(
            checklist=self.detail.checklist, handling_body=dossier.handling_body,
            due_at=dossier.due_at, now=self.host.now, apply=apply,
            question=t("tui.dossier.confirm", action=t(f"vocab.action.{action.value}"),
                       code=self.code), detail=detail)

    async def _ask_rating(self) -> None:
        """The citizen's rating: asked on their tablet or keypad when the officer chooses so
        (c), else or after the wait the officer's own 1/2/3, marked as theirs in reports."""
        seconds = min(self.services.config.citizen_rating_seconds, MAX_WAIT_SECONDS)
        level = await self.app.push_screen_wait(RatingModal(can_ask_citizen=seconds > 0))
        if level == ASK_CITIZEN:
            given = await self.app.push_screen_wait(
                CitizenRatingWait(self.services, self.actor, self.code, seconds))
            if given is not None:
                return  # recorded by the rating service as the citizen's own
            level = await self.app.push_screen_wait(RatingModal())
        if level is None:
            return
        try:
            await asyncio.to_thread(self.services.dossiers.rate, self.actor, self.code, level,
                                    RatingSource.OFFICER)
        except CcdeskError as err:
            self.show_error(err)

    def action_digitise(self) -> None:
        """s: digitise the checklist item under the cursor (screens/modals/attach.py). Not for
        an s in a scanner's burst: the screen may have opened in the middle of a scan (a slip's
        QR code read at home), and its letters come after (screens/keyflow.py)."""
        if carrying_burst(self.app):
            return
        if self.detail is None or not self.detail.checklist:
            return
        row = self.query_one("#dossier-checklist", DataTable).cursor_row
        item = self.detail.checklist[max(0, min(row, len(self.detail.checklist) - 1))]
        self.app.push_screen(AttachModal(dossier_attach_context(
            self.services, self.actor, self.code, item.position, item.name)),
            lambda _count: self.action_reload())

    def action_reprint(self) -> None:
        if self.detail is None:
            return
        regime = Regime(self.detail.dossier.regime)
        forms = [(form_id, t(f"tui.forms.kind_{kind.value}"))
                 for form_id, kind in FORM_IDS[regime].items() if kind != FormKind.REGISTER]
        self.app.push_screen(FormPicker(forms), self._reprint)

    def _reprint(self, form_id: str | None) -> None:
        if form_id is not None:
            self.app.push_screen(FormPreview(self.services, self.actor, self.code, form_id,
                                             reprint=True), lambda _: self.action_reload())

    def action_back(self) -> None:
        self.dismiss()


def open_scanned_code(screen: DeskScreen, text: str, *, quiet: bool = False) -> bool:
    """A printed paper's QR code (``ccdesk.domain.paper_qr``, docs/forms.md) read by a
    keyboard-mode scanner, or a dossier code typed whole: open that dossier. ``quiet``: say
    nothing when it is not one (the register also searches what was typed)."""
    scanned = paper_qr.decode(text)
    code = scanned.dossier_code if scanned else text.strip()
    if not code or len(code) > MAX_CODE or any(ch.isspace() for ch in code):
        return False
    try:
        screen.services.dossiers.detail(code)
    except NotFound as err:
        if not quiet:
            screen.notify(err.message(), severity="warning")
        return False
    screen.app.push_screen(DossierScreen(screen.services, code))
    return True
