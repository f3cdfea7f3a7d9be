"""Dossier detail: everything about one dossier, its checklist, its history, and its actions."""

from __future__ import annotations

import asyncio
from time import monotonic
from typing import TYPE_CHECKING, ClassVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Label, Static

from ccdesk.domain import paper_qr
from ccdesk.domain.errors import CcdeskError, NotFound
from ccdesk.domain.lifecycle import SUPPLEMENT_WARN_ROUND, Action, Regime, Status
from ccdesk.domain.vocabulary import ApplicantKind, RatingSource, SecondParty
from ccdesk.forms.kinds import FORM_IDS, FormKind, form_id_of
from ccdesk.i18n import fmt_datetime, fmt_money, t
from ccdesk.services.citizen_rating import MAX_WAIT_SECONDS
from ccdesk.services.dossiers import ActionResult, DossierDetail
from screens.base import DeskScreen
from screens.keyflow import SCAN_GAP
from screens.linked_group import member_lines, open_group
from screens.modals.action import ActionContext, ActionInput, ActionModal, ActionPicker
from screens.modals.attach import AttachModal, dossier_attach_context, file_lines
from screens.modals.citizen_rating import CitizenRatingWait
from screens.modals.form_preview import FormPicker, FormPreview
from screens.modals.rating import ASK_CITIZEN, RatingModal
from screens.verification import item_cell
from screens.widgets.columns import (
    ColumnSpec,
    choose_columns,
    in_display_order,
    natural_width,
)

if TYPE_CHECKING:
    from ccdesk.models import ChecklistItem, Dossier
    from ccdesk.services import Services
    from ccdesk.services.verification import ItemState

MAX_CODE = 64  # longer than any dossier code
NEAR_DAYS = 1  # colour the due time as "close" at this many working days left or fewer
# The paper an action produces, previewed (and printed with p) right after it is recorded.
ACTION_FORMS = {Action.REQUEST_SUPPLEMENT: FormKind.SUPPLEMENT, Action.EXTEND: FormKind.EXTENSION,
                Action.STOP: FormKind.STOP, Action.HAND_OFF: FormKind.CONTROL}
# The checklist's columns as shown, and as kept when the table is narrow (docs/tui.md, "Text
# that fits"): whether a paper was received and which paper it is come before its form and its
# number; a long document name wraps onto more lines (down to MIN_DOC_NAME cells wide) before any
# column is dropped, so no word of it is cut.
CHECKLIST_COLUMNS = ("position", "name", "form", "received")
CHECKLIST_PRIORITY = ("received", "name", "form", "position")
CHECKLIST_REQUIRED = 2  # received and name, at any width
MIN_DOC_NAME = 16
SCROLLBAR = 2  # room kept for the table's own scroll bar (more papers than its height)


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
        self._checklist_layout: dict[str, int] = {}
        self._digitised: set[int] = set()  # positions with a digitised paper
        # keys a scanner is still typing: the screen may open in the middle of a scan
        self._last_key, self._in_burst = monotonic(), True
        self._verifications: dict[int, ItemState] = {}  # national-database checks by position

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="dossier"):
            with Vertical(id="dossier-main"):
                yield Static("", id="dossier-info")
                yield Static("", id="dossier-due")
                yield Label(t("vocab.field.checklist"), classes="section")
                yield DataTable(id="dossier-checklist", cursor_type="row", zebra_stripes=True)
                yield Label(t("attachments.screen.section"), classes="section")
                yield Static("", id="dossier-files")
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
        self.query_one("#dossier-files", Static).update(
            "\n".join(file_lines(files.files)) or t("attachments.screen.none"))

    def _show(self, detail: DossierDetail) -> None:
        d = detail.dossier
        procedure = self.services.dossiers.procedure_of(d)
        lines = [
            f"[b]{d.code}[/b]  ·  [reverse] {t('vocab.status.' + d.status)} [/reverse]",
            f"{procedure.code} · {procedure.name}",
            *([t("tui.dossier.portal", code=d.portal_code)] if d.portal_code else []),
            t("tui.dossier.applicant", name=d.applicant_name, id_number=d.applicant_id_number),
            t("tui.dossier.contact", phone=d.applicant_phone or "—",
              address=d.applicant_address or "—"),
            t("tui.dossier.intake", channel=t(f"vocab.channel.{d.channel}"), sets=d.sets,
              received=fmt_datetime(d.received_at), fee=fmt_money(d.fee_amount)),
        ]
        lines.extend(_party_lines(d, procedure.second_party))
        if d.handling_body and d.handling_body != "desk":
            lines.append(t("tui.dossier.body", body=d.handling_body))
        lines.extend(member_lines(self.services, d.code))   # a linked group's member (G opens it)
        if detail.rating is not None:
            lines.append(t("tui.dossier.rating", level=t(f"vocab.rating.{detail.rating.level}"))
                         + f" · {t(f'rating.report.source_{detail.rating.source}')}")
        self.query_one("#dossier-info", Static).update("\n".join(lines))
        self._show_due(detail)
        self._show_checklist(detail)
        self._show_events(detail)

    def action_linked_group(self) -> None:
        open_group(self, self.code)

    def _show_due(self, detail: DossierDetail) -> None:
        d, due = detail.dossier, self.query_one("#dossier-due", Static)
        due.remove_class("-late", "-near", "-ok")
        if d.due_at is None:
            due.update(t("tui.dossier.no_due"))
            return
        if Status(d.status).is_final:
            due.update(t("tui.dossier.due_closed", due=fmt_datetime(d.due_at)))
            return
        left = self.services.ctx.calendar.working_days_left(self.host.now(), d.due_at)
        late = self.host.now() > d.due_at
        key = "tui.dossier.due_late" if late else "tui.dossier.due_left"
        due.update(t(key, due=fmt_datetime(d.due_at), days=abs(left)))
        due.add_class("-late" if late else "-near" if left <= NEAR_DAYS else "-ok")

    def _show_checklist(self, detail: DossierDetail) -> None:
        self._checklist_layout = {}  # rebuilt whatever the width: the rows changed
        self._fit_checklist(detail)
        self.call_after_refresh(self._refit_checklist)  # the table's own width, once laid out

    def on_resize(self) -> None:
        self.call_after_refresh(self._refit_checklist)  # after the new layout (two columns?)

    def _refit_checklist(self) -> None:
        if self.detail is not None:
            self._fit_checklist(self.detail)

    def _fit_checklist(self, detail: DossierDetail) -> None:
        """Choose the checklist's columns for the table's width (``CHECKLIST_PRIORITY``), and
        rebuild it when the choice changed: never wider than the screen, no sideways scroll."""
        found = self.query("#dossier-checklist")
        if not found:
            return
        table = found.first(DataTable)
        room = (table.size.width or self.app.size.width - 2) - SCROLLBAR
        headers = {"position": "#", "name": t("tui.dossier.doc_name"),
                   "form": t("tui.dossier.doc_form"), "received": t("tui.dossier.doc_received")}
        rows = [_checklist_cells(item, item.position in self._digitised,
                                 self._verifications.get(item.position))
                for item in detail.checklist]
        specs = [ColumnSpec(key, natural_width(headers[key], [row[key] for row in rows]),
                            MIN_DOC_NAME if key == "name" else None)
                 for key in CHECKLIST_PRIORITY]
        layout = choose_columns(room, specs, CHECKLIST_REQUIRED)
        if layout == self._checklist_layout:
            return
        self._checklist_layout = layout
        shown = in_display_order(layout, CHECKLIST_COLUMNS)
        table.clear(columns=True)
        for key in shown:
            table.add_column(headers[key], width=layout[key], key=key)
        for row in rows:  # height=None: as many lines as the wrapped name needs
            table.add_row(*(row[key] for key in shown), height=None)

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
        self.run_action(allowed)

    @work(exclusive=True, group="dossier-action")
    async def run_action(self, allowed: list[Action]) -> None:
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
        detail = ""
        if (action == Action.REQUEST_SUPPLEMENT
                and dossier.supplement_rounds + 1 >= SUPPLEMENT_WARN_ROUND):
            detail = t("core.warn.supplement_round")  # Decree 63/2010 art. 20, before, not after

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

    def on_key(self, event: events.Key) -> None:
        """Note keys that come faster than a person types: what a scanner that opened this
        dossier (a slip's QR code read at home) still sends must not open the scan dialog."""
        now = monotonic()
        self._in_burst = now - self._last_key < SCAN_GAP
        self._last_key = now

    def action_digitise(self) -> None:
        if self._in_burst and monotonic() - self._last_key < SCAN_GAP:
            return
        """s: digitise the checklist item under the cursor (screens/modals/attach.py)."""
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


def _checklist_cells(item: ChecklistItem, digitised: bool = False,
                     check: ItemState | None = None) -> dict[str, str]:
    received = (f"✓ {item.received_quantity}" if item.received
                else item_cell(check) if check is not None  # screens/verification.py
                else "✗" if item.requirement == "required" else "–")
    if digitised:
        received += " " + t("attachments.mark")
    return {"position": str(item.position), "name": item.name,
            "form": t(f"vocab.form.{item.received_form or item.form}"), "received": received}


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


def _party_lines(d: Dossier, second_party: SecondParty | None) -> list[str]:
    """Whose dossier it is when not the applicant's own, and a two-party dossier's other party."""
    lines = []
    if d.applicant_kind == ApplicantKind.ORGANISATION:
        lines.append(t("tui.dossier.organisation", name=d.owner_name,
                       tax_code=d.owner_tax_code or "—", address=d.owner_address or "—"))
    elif d.owner_name:
        lines.append(t("tui.dossier.owner", name=d.owner_name,
                       id_number=d.owner_id_number or "—", address=d.owner_address or "—"))
    if d.authorisation:
        lines.append(t("tui.dossier.authorisation", text=d.authorisation))
    if d.party2_name:
        role = second_party.label() if second_party else t("vocab.field.party2_name")
        lines.append(t("tui.dossier.party2", role=role, name=d.party2_name,
                       id_number=d.party2_id_number or "—"))
    return lines
