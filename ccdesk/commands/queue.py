"""``ccdesk queue groups|ticket|call|status``: queue tickets for the waiting room (off unless
``queue_tickets = true`` in config.toml; docs/tui.md, "Queue tickets")."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ccdesk.commands.common import STATE, fail, print_json
from ccdesk.domain.errors import CcdeskError

app = typer.Typer(help="Phiếu số thứ tự / queue tickets.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json")]


def _queue():  # noqa: ANN202 - QueueService
    from ccdesk.i18n import t

    if not STATE.config().queue_tickets:
        fail(t("queue.err.off"))
    return STATE.services().queue


def _ticket_json(ticket: Any) -> dict[str, Any]:
    return {"number": ticket.number, "label": ticket.label, "group": ticket.group,
            "day": ticket.day.isoformat(), "issued_at": ticket.issued_at.isoformat(),
            "called_at": ticket.called_at.isoformat() if ticket.called_at else None}


@app.command("groups")
def groups(as_json: JsonOption = False) -> None:
    """The procedure groups a ticket can be issued for."""
    names = _queue().groups()
    if as_json:
        print_json({"groups": names})
        return
    for name in names:
        typer.echo(name)


@app.command("ticket")
def ticket(
    group: Annotated[str, typer.Argument(help="Nhóm thủ tục / procedure group")],
    as_json: JsonOption = False,
) -> None:
    """Issue the next number of GROUP and print it (receipt printer, else an 80 mm PDF)."""
    from ccdesk.forms.ticket import print_ticket
    from ccdesk.i18n import t

    queue = _queue()
    try:
        issued = queue.issue(group)
        outcome = print_ticket(STATE.services(), issued)
    except CcdeskError as err:
        fail(err)
    if as_json:
        print_json(_ticket_json(issued) | {
            "printed": outcome.printed, "printer": outcome.printer or None,
            "path": str(outcome.path) if outcome.path else None})
        return
    typer.echo(t("queue.ticket.issued_line", number=issued.label, group=issued.group))
    typer.echo(t("queue.ticket.printed", printer=outcome.printer, job=outcome.job)
               if outcome.printed else t("queue.ticket.saved", path=outcome.path))


@app.command("call")
def call(
    group: Annotated[str | None, typer.Option("--group", help="Chỉ nhóm này / this group "
                                                               "only")] = None,
    as_json: JsonOption = False,
) -> None:
    """Call the longest-waiting ticket of today (exit 1 when nobody waits)."""
    from ccdesk.i18n import t
    from ccdesk.services import SYSTEM

    called = _queue().call_next(SYSTEM, group)
    if as_json:
        print_json({"called": _ticket_json(called) if called else None})
    elif called is None:
        typer.echo(t("queue.err.none_waiting"))
    else:
        typer.echo(t("queue.desk.called", number=called.label, group=called.group))
    if called is None:
        raise typer.Exit(1)


@app.command("status")
def status(as_json: JsonOption = False) -> None:
    """Today's board: the last number called and how many wait, per group."""
    lines = _queue().board()
    if as_json:
        print_json({"groups": [{"group": s.group, "serving": s.number, "waiting": s.waiting}
                               for s in lines]})
        return
    for line in lines:
        typer.echo(f"{line.group}\t{line.label}\t{line.waiting}")
