"""Queue tickets at the desk (home screen: F7 issue a ticket, F8 call the next one), when the
office turned them on (``queue_tickets = true``; docs/tui.md, "Queue tickets")."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from ccdesk.domain.errors import CcdeskError
from ccdesk.i18n import t
from screens.base import DeskModal

if TYPE_CHECKING:
    from screens.base import DeskScreen


class QueueGroupPicker(DeskModal[str | None]):
    """Choose the procedure group the ticket is for."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "tui.key.back", id="back"),
    ]

    def __init__(self, groups: list[str]) -> None:
        super().__init__(classes="modal")
        self._groups = groups

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="modal-box"):
            yield Label(t("queue.desk.pick_group"), classes="modal-title")
            yield OptionList(*[Option(group, id=f"group-{n}")
                               for n, group in enumerate(self._groups)], id="queue-groups")

    def on_mount(self) -> None:
        self.query_one("#queue-groups", OptionList).focus()

    @on(OptionList.OptionSelected, "#queue-groups")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._groups[event.option_index])


async def issue_ticket(screen: DeskScreen) -> None:
    """Pick a group, issue its next number and print the ticket (or save the PDF)."""
    from ccdesk.forms.ticket import print_ticket

    services = screen.services
    groups = await asyncio.to_thread(services.queue.groups)
    group = await screen.app.push_screen_wait(QueueGroupPicker(groups))
    if group is None:
        return
    try:
        ticket = await asyncio.to_thread(services.queue.issue, group)
        outcome = await asyncio.to_thread(print_ticket, services, ticket)
    except CcdeskError as err:
        screen.show_error(err)
        return
    screen.notify(t("queue.ticket.issued_line", number=ticket.label, group=ticket.group))
    screen.notify(t("queue.ticket.printed", printer=outcome.printer, job=outcome.job)
                  if outcome.printed else t("queue.ticket.saved", path=outcome.path))


async def call_next(screen: DeskScreen) -> str:
    """Call the longest-waiting ticket; the line the home screen shows."""
    called = await asyncio.to_thread(screen.services.queue.call_next, screen.actor)
    if called is None:
        screen.notify(t("queue.err.none_waiting"), severity="warning")
        return ""
    line = t("queue.desk.called", number=called.label, group=called.group)
    screen.notify(line)
    return line
