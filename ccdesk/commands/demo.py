"""``ccdesk demo seed``: fill the current database with realistic sample data."""

from __future__ import annotations

from typing import Annotated

import typer

from ccdesk.commands.common import STATE, fail, print_json
from ccdesk.commands.identity import AsOption, acting_officer
from ccdesk.domain.errors import CcdeskError

app = typer.Typer(help="Dữ liệu mẫu / demo data.", no_args_is_help=True)


@app.command("seed")
def seed(
    dossiers: Annotated[int, typer.Option("--dossiers", help="số hồ sơ / how many")],
    days: Annotated[int, typer.Option("--days", help="trải trong D ngày / spread over D days")]
    = 90,
    seed_value: Annotated[int | None, typer.Option("--seed", help="lặp lại được / repeatable")]
    = None,
    force: Annotated[bool, typer.Option("--force", help="kể cả khi CSDL có hồ sơ thật / even "
                                                       "over real dossiers")] = False,
    no_outbox: Annotated[bool, typer.Option("--no-outbox", help="không tạo bản ghi đồng bộ / "
                                                               "write no outbox rows")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    as_user: AsOption = None,
) -> None:
    """Vietnamese names by real family-name frequency, valid-looking ID numbers and phones,
    the bundled catalogue, and a plausible spread of channels, statuses, late and early
    returns, supplements and ratings. Refuses a database with real dossiers unless --force,
    which needs an IT officer (--as)."""
    from ccdesk.demo import seed_demo
    from ccdesk.i18n import fmt_date, t

    services = STATE.services()
    if force:  # demo data over real dossiers: an IT officer decides, with --as (audited)
        acting_officer(services, as_user, "settings")
    try:
        report = seed_demo(services, dossiers, days=days, seed=seed_value, force=force,
                           outbox=False if no_outbox else None)
    except CcdeskError as err:
        fail(err)
    if as_json:
        print_json({"dossiers": report.dossiers, "events": report.events,
                    "checklist_items": report.checklist_items, "ratings": report.ratings,
                    "extensions": report.extensions,
                    "supplement_rounds": report.supplement_rounds,
                    "outbox_rows": report.outbox_rows, "first_day": report.first_day.isoformat(),
                    "last_day": report.last_day.isoformat(), "seconds": report.seconds,
                    "by_status": report.by_status})
        return
    typer.echo(t("reports.demo.seeded", dossiers=report.dossiers,
                 first=fmt_date(report.first_day), last=fmt_date(report.last_day),
                 seconds=report.seconds, events=report.events, ratings=report.ratings,
                 outbox=report.outbox_rows))
