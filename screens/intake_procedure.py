"""Intake step 1: find the procedure by code or name, accents ignored ("khai sinh", "dang ky")."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from ccdesk.domain.errors import CcdeskError
from ccdesk.i18n import get_language, t
from ccdesk.models import Procedure
from screens.base import DeskScreen
from screens.intake_applicant import ApplicantStep
from screens.intake_draft import IntakeDraft

LINKED = "linked:"   # the option id of a linked group (screens/linked_intake.py)


class ProcedureStep(DeskScreen):
    """The base screen of the intake area (F2)."""

    _shown_for: str | None = None  # the query the listed results answer
    TITLE_KEY = "tui.intake.title_procedure"
    HELP_KEY = "tui.help.intake_procedure"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "results", "tui.key.results", id="results", show=False),
        Binding("enter", "choose", "tui.key.choose", id="choose"),
        Binding("escape", "back", "tui.key.back", id="back"),
    ]

    def compose_body(self) -> ComposeResult:
        with Vertical(id="procedure-step", classes="step"):
            yield Label(t("tui.intake.step", step=1, total=4,
                          name=t("tui.intake.step_procedure")), classes="step-title")
            yield Input(placeholder=t("tui.intake.search_placeholder"), id="procedure-query")
            yield OptionList(id="procedure-results")
            yield Label("", id="procedure-count", classes="hint")

    @property
    def query_input(self) -> Input:
        return self.query_one("#procedure-query", Input)

    @property
    def results(self) -> OptionList:
        return self.query_one("#procedure-results", OptionList)

    def on_mount(self) -> None:
        self.query_input.focus()
        self._search("")

    def on_resumed(self) -> None:
        if self.query_input.value == "":
            self.query_input.focus()

    @on(Input.Changed, "#procedure-query")
    def _changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    @work(exclusive=True, thread=True, group="procedure-search")
    def _search(self, query: str) -> None:
        hits = self.services.catalog.search(query)
        self.app.call_from_thread(self._show, hits, query)

    def _show(self, hits: list[Procedure], query: str | None = None) -> None:
        self._shown_for = query
        only = self.services.linked.group_only()   # another agency's: inside a group only
        hits = [p for p in hits if p.code not in only]
        self.results.clear_options()
        self.results.add_options(
            Option(f"{p.code}  {p.name}  [dim]· {p.field}[/dim]", id=p.code) for p in hits)
        # Linked groups (liên thông) after the procedures, so Enter still takes the first one
        self.results.add_options(
            Option(f"{g.code}  {g.title(get_language())}",
                   id=f"{LINKED}{g.code}") for g in self.services.linked.search(query or ""))
        if self.results.option_count:
            self.results.highlighted = 0
        self.query_one("#procedure-count", Label).update(
            t("tui.intake.found", count=len(hits)))

    def action_results(self) -> None:
        self.results.focus()

    async def enter_in(self, field: Input) -> None:
        self.action_choose()  # at once: the applicant step must take the keys that follow

    def action_choose(self) -> None:
        query = self.query_input.value
        if self._shown_for != query:
            # Typed faster than the search worker answers (a scanner): search now.
            self._show(self.services.catalog.search(query), query)
        index = self.results.highlighted
        if index is None:
            self.notify(t("tui.intake.pick_procedure"), severity="warning")
            return
        self._open(str(self.results.get_option_at_index(index).id))

    @on(Input.Submitted, "#procedure-query")
    def _submitted(self) -> None:
        self.action_choose()

    @on(OptionList.OptionSelected, "#procedure-results")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._open(str(event.option.id))

    def _open(self, code: str) -> None:
        if code.startswith(LINKED):
            self._open_linked(code.removeprefix(LINKED))
            return
        try:
            procedure = self.services.catalog.procedure(code)
        except CcdeskError as err:
            self.show_error(err)
            return
        self.app.push_screen(ApplicantStep(self.services, IntakeDraft(procedure)))

    def _open_linked(self, group: str) -> None:
        from screens.linked_intake import LinkedIntakeScreen

        try:
            self.app.push_screen(LinkedIntakeScreen(self.services, group))
        except CcdeskError as err:   # a catalogue without the group's member procedures
            self.show_error(err)

    async def action_back(self) -> None:
        """Esc on the first step: back home (nothing typed here is worth keeping)."""
        await self.app.run_action("area('home')")

    def reset(self) -> None:
        """Ready for the next citizen."""
        self.query_input.value = ""
        self.query_input.focus()
