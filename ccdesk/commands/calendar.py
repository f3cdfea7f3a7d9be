"""``ccdesk calendar list|due|import``: the working-day calendar for IT staff and scripts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ccdesk.commands.common import STATE, fail, print_json
from ccdesk.commands.identity import AsOption, acting_officer
from ccdesk.domain.errors import CcdeskError

if TYPE_CHECKING:
    from ccdesk.domain.calendar import DayStatus, WorkCalendar

app = typer.Typer(help="Lịch làm việc / working-day calendar.", no_args_is_help=True)


def _calendar() -> WorkCalendar:
    """The calendar in force: the official edition stored in the database when there is one
    (a query never creates a database), else the bundled one, then ``calendar.toml``."""
    from ccdesk.domain.calendar import load_calendar
    from ccdesk.domain.official_calendar import bundled_schedule
    from ccdesk.i18n import get_language

    config = STATE.config()
    official = bundled_schedule()
    if STATE.db_path.exists():
        from ccdesk.services.official_calendar import schedule_in_force

        official = schedule_in_force(STATE.services().db)
    return load_calendar(STATE.paths.calendar_file, config.hours(), get_language(), official)


def _day_json(status: DayStatus) -> dict[str, object]:
    data: dict[str, object] = {"date": status.day.isoformat(), "name": status.name,
                               "source": status.source.value,
                               "provisional": status.provisional}
    if status.provisional:
        data["reason"] = status.reason
    if status.document:
        data["document"] = status.document
    if status.issued:
        data["issued"] = status.issued.isoformat()
    return data


@app.command("list")
def list_days(year: Annotated[int, typer.Option("--year", help="YYYY", min=1900, max=2200)],
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Non-working weekdays and make-up working days of a year, with names and sources;
    days no official text confirms yet are marked provisional."""
    from ccdesk.i18n import fmt_date, t

    try:
        cal = _calendar()
        days = cal.special_days(year, default_name=t("vocab.calendar.makeup_day"))
    except CcdeskError as err:
        fail(err)
    if as_json:
        edition = cal.official.version.isoformat() if cal.official else None
        print_json({"year": year, "official_edition": edition,
                    "days_off": [_day_json(d) for d in days if not d.working],
                    "working_days": [_day_json(d) for d in days if d.working]})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=t("cli.calendar.title", year=year))
    for column in ("cli.calendar.date", "cli.calendar.kind", "cli.calendar.name",
                   "cli.calendar_source.column"):
        table.add_column(t(column))
    for d in days:
        source = t("cli.calendar_source.provisional") if d.provisional else d.document or \
            t(f"cli.calendar_source.{d.source.value}")
        table.add_row(fmt_date(d.day), t("cli.calendar.work" if d.working else "cli.calendar.off"),
                      d.name, source)
    Console().print(table)


@app.command("due")
def due(received: Annotated[str, typer.Option("--received", help='"YYYY-MM-DD HH:MM"')],
        days: Annotated[int | None, typer.Option("--days", min=1, max=365)] = None,
        same_day: Annotated[bool, typer.Option("--same-day")] = False,
        as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The due date-time for a receipt time; the last line is ISO 8601."""
    from ccdesk.domain.calendar import TimeKind, TimeRule
    from ccdesk.i18n import fmt_date, fmt_datetime, t

    if (days is None) == (not same_day):
        fail(t("cli.calendar.days_or_same_day"))
    try:
        at = datetime.fromisoformat(received.strip())
    except ValueError:
        fail(t("cli.calendar.bad_received", value=received))
    rule = TimeRule(TimeKind.SAME_DAY) if same_day else TimeRule(TimeKind.WORKING_DAYS, days)
    try:
        result = _calendar().due(at.replace(second=0, microsecond=0), rule)
    except CcdeskError as err:
        fail(err)
    if as_json:
        data: dict[str, object] = {"due_at": result.at.isoformat(timespec="minutes")}
        if result.provisional:
            data["provisional"] = [_day_json(d) for d in result.provisional]
        print_json(data)
        return
    typer.echo(t("cli.calendar.due_human", due=fmt_datetime(result.at)))
    if result.provisional:
        typer.echo(t("core.official_calendar.provisional_days",
                     days=", ".join(fmt_date(d.day) for d in result.provisional)))
    typer.echo(result.at.isoformat(timespec="minutes"))


@app.command("import")
def import_(file: Annotated[Path, typer.Argument(help="official_calendar.toml")],
            as_user: AsOption = None) -> None:
    """Import a newer edition of the official schedule of days off (docs/calendar.md): checked
    whole, all or nothing, audited; needs a lead or IT officer (--as) once IT is enrolled."""
    from ccdesk.i18n import t
    from ccdesk.services.official_calendar import Outcome, import_schedule_file

    services = STATE.services()
    actor = acting_officer(services, as_user, "calendar", bootstrap=True)
    try:
        result = import_schedule_file(services, file, actor)
    except CcdeskError as err:
        fail(err)
    key = "cli.calendar_import.applied" if result.outcome == Outcome.APPLIED \
        else "cli.calendar_import.unchanged"
    typer.echo(t(key, file=str(file), version=result.version.isoformat()))
