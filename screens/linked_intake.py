"""Linked intake (liên thông): the applicant and the child or deceased once, the members to
include, the combined checklist (a shared paper once), one decision: F5, as at the decision
step (docs/linked.md)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Checkbox, Input, Label

from ccdesk.domain.errors import CcdeskError
from ccdesk.i18n import fmt_date, get_language, t
from ccdesk.services.intake import Applicant
from ccdesk.services.linked import LinkedRequest
from screens.base import DeskScreen, field_label
from screens.linked_group import LinkedGroupScreen
from screens.widgets.field import FormField
from screens.widgets.validators import parse_day

APPLICANT_FIELDS = ("id_number", "full_name", "phone", "address")


class LinkedIntakeScreen(DeskScreen):
    """One intake for a linked group; F5 accepts it when every required paper is ticked."""

    TITLE_KEY = "linked.tui.title"
    HELP_KEY = "linked.tui.help"
    ENTER_MOVES_FOCUS = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "accept", "vocab.action.accept", id="accept"),
        Binding("f7", "tick_all", "tui.key.tick_all", id="tick_all"),
        Binding("escape", "back", "tui.key.back", id="back"),
    ]

    def __init__(self, services, group_code: str) -> None:  # noqa: ANN001
        super().__init__(services)
        self.group = self.services.linked.group(group_code)
        self.items = self.services.linked.checklist(group_code)

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="linked-intake", classes="form step"):
            yield Label(self.group.title(get_language()),
                        classes="step-title")
            yield Label(t("linked.tui.applicant"), classes="section")
            for name in APPLICANT_FIELDS:
                yield FormField(field_label(name), Input(id=name, compact=True), name=name)
            kind = self.group.kind.value
            yield FormField(t(f"linked.tui.subject.{kind}"),
                            Input(id="subject_name", compact=True),
                            name="subject_name")
            yield FormField(t(f"linked.date.{kind}"), Input(placeholder="dd/mm/yyyy",
                                                             id="subject_date", compact=True),
                            name="subject_date")
            yield Label(t("linked.tui.members"), classes="section")
            for member in self.group.members:
                name = self.services.catalog.procedure(member.procedure).name
                yield Checkbox(f"{name} · {member.agency.label()}", True, compact=True,
                               disabled=not member.optional, classes="member",
                               id=f"member-{member.procedure.replace('.', '-')}")
            yield Label(t("linked.tui.checklist"), classes="section")
            yield Vertical(id="linked-docs")
            yield Label("", id="linked-due", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#id_number", Input).focus()
        self._show_checklist()
        due = self.services.linked.preview_due(self.group.code)
        self.query_one("#linked-due", Label).update(
            t("linked.tui.due", at=f"{due:%H:%M} {fmt_date(due)}"))

    def _skipped(self) -> list[str]:
        return [m.procedure for m in self.group.members
                if not self.query_one(f"#member-{m.procedure.replace('.', '-')}",
                                      Checkbox).value]

    @on(Checkbox.Changed, ".member")
    def _members_changed(self) -> None:
        self.items = self.services.linked.checklist(self.group.code, self._skipped())
        self._show_checklist()

    def _show_checklist(self) -> None:
        box = self.query_one("#linked-docs", Vertical)
        box.remove_children()
        box.mount_all(Checkbox(item.name + (f" ({t('linked.tui.required_tag')})"
                                            if item.required else ""), False,
                               compact=True, classes="doc-received")
                      for item in self.items)

    def action_tick_all(self) -> None:
        """Every paper received, as F7 does on the ordinary checklist."""
        for box in self.query(".doc-received").results(Checkbox):
            box.value = True

    def action_accept(self) -> None:
        self.clear_errors()
        try:
            request = self._request()
            view = self.services.linked.accept(self.actor, request)
        except CcdeskError as err:
            self.show_error(err)
            return
        self.notify(t("linked.tui.accepted", code=view.code, count=len(view.members)))
        self.app.switch_screen(LinkedGroupScreen(self.services, view.code))

    def _request(self) -> LinkedRequest:
        value = {name: self.query_one(f"#{name}", Input).value for name in APPLICANT_FIELDS}
        boxes = list(self.query(".doc-received").results(Checkbox))
        return LinkedRequest(
            group_code=self.group.code,
            applicant=Applicant(full_name=value["full_name"], id_number=value["id_number"],
                                phone=value["phone"], address=value["address"]),
            subject_name=self.query_one("#subject_name", Input).value,
            subject_date=parse_day(self.query_one("#subject_date", Input).value,
                                   "subject_date"),
            received=[n for n, box in enumerate(boxes) if box.value],
            skipped=self._skipped())

    def action_back(self) -> None:
        self.app.pop_screen()
