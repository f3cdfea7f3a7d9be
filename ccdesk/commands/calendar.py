"""``ccdesk calendar list|due``: the working-day calendar for IT staff and scripts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from ccdesk.commands.common import STATE, fail, print_json
from ccdesk.domain.errors import CcdeskError

app = typer.Typer(help="Lịch làm việc / working-day calendar.", no_args_is_help=True)


def _calendar():  # noqa: ANN202 - WorkCalendar
    from ccdesk.domain.calendar import load_calendar
    from ccdesk.i18n import get_language

    config = STATE.config()
    return load_calendar(STATE.paths.calendar_file, config.hours(), get_language())


@app.command("list")
def list_days(year: Annotated[int, typer.Option("--year", help="YYYY", min=1900, max=2200)],
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Non-working days and make-up working days of a year, with names."""
    from ccdesk.i18n import fmt_date, t

    try:
        cal = _calendar()
        off = cal.days_off(year)
        work = cal.make_up_days(year, default_name=t("core.calendar.makeup_day"))
    except CcdeskError as err:
        fail(err)
    if as_json:
        print_json({"year": year,
                    "days_off": [{"date": d.day.isoformat(), "name": d.name} for d in off],
                    "working_days": [{"date": d.day.isoformat(), "name": d.name}
                                     for d in work]})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=t("cli.calendar.title", year=year))
    table.add_column(t("cli.calendar.date"))
    table.add_column(t("cli.calendar.kind"))
    table.add_column(t("cli.calendar.name"))
    rows = [(d.day, t("cli.calendar.off"), d.name) for d in off]
    rows += [(d.day, t("cli.calendar.work"), d.name) for d in work]
    for day, kind, name in sorted(rows):
        table.add_row(fmt_date(day), kind, name)
    Console().print(table)


@app.command("due")
def due(received: Annotated[str, typer.Option("--received", help='"YYYY-MM-DD HH:MM"')],
        days: Annotated[int | None, typer.Option("--days", min=1, max=365)] = None,
        same_day: Annotated[bool, typer.Option("--same-day")] = False,
        as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The due date-time for a receipt time; the last line is ISO 8601."""
    from ccdesk.domain.calendar import TimeKind, TimeRule
    from ccdesk.i18n import fmt_datetime, t

    if (days is None) == (not same_day):
        fail(t("cli.calendar.days_or_same_day"))
    try:
        at = datetime.fromisoformat(received.strip())
    except ValueError:
        fail(t("cli.calendar.bad_received", value=received))
    rule = TimeRule(TimeKind.SAME_DAY) if same_day else TimeRule(TimeKind.WORKING_DAYS, days)
    try:
        due_at = _calendar().due_at(at.replace(second=0, microsecond=0), rule)
    except CcdeskError as err:
        fail(err)
    if as_json:
        print_json({"due_at": due_at.isoformat(timespec="minutes")})
        return
    typer.echo(t("cli.calendar.due_human", due=fmt_datetime(due_at)))
    typer.echo(due_at.isoformat(timespec="minutes"))
