"""The ``ccdesk`` command line: opens the desk app, and the sub-commands IT staff script.

Sub-commands live in ``ccdesk/commands/`` (one module per area); this file only mounts them and
handles the global options. Heavy imports stay inside the commands so ``ccdesk --version`` and
the app start fast.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ccdesk import __version__
from ccdesk.commands import attach as attach_cmd
from ccdesk.commands import audit as audit_cmd
from ccdesk.commands import backup as backup_cmd
from ccdesk.commands import calendar as calendar_cmd
from ccdesk.commands import catalog as catalog_cmd
from ccdesk.commands import demo as demo_cmd
from ccdesk.commands import desk_upstream as desk_upstream_cmd
from ccdesk.commands import district as district_cmd
from ccdesk.commands import dossier as dossier_cmd
from ccdesk.commands import filings as filings_cmd
from ccdesk.commands import forms as forms_cmd
from ccdesk.commands import officer as officer_cmd
from ccdesk.commands import queue as queue_cmd
from ccdesk.commands import report as report_cmd
from ccdesk.commands import serve as serve_cmd
from ccdesk.commands import sync as sync_cmd
from ccdesk.commands import upstream as upstream_cmd
from ccdesk.commands import verify as verify_cmd
from ccdesk.commands.common import STATE, fail
from ccdesk.domain.errors import CcdeskError

app = typer.Typer(
    name="ccdesk",
    help="ccdesk — Bộ phận một cửa cấp xã / the commune one-stop desk.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(catalog_cmd.app, name="catalog")
app.add_typer(calendar_cmd.app, name="calendar")
app.add_typer(report_cmd.app, name="report")
app.add_typer(dossier_cmd.app, name="dossier")
app.add_typer(demo_cmd.app, name="demo")
app.add_typer(sync_cmd.app, name="sync")
app.add_typer(district_cmd.app, name="district")
# The relay's forwarder to the province's upstream (docs/upstream.md).
district_cmd.app.add_typer(upstream_cmd.app, name="upstream")
district_cmd.app.command("forward")(upstream_cmd.forward)
# Online filings from the portal down to the communes' desks (docs/upstream.md).
district_cmd.app.add_typer(filings_cmd.app, name="filings")
# The same forwarder over the desk's own database, for a commune without a relay.
sync_cmd.app.add_typer(desk_upstream_cmd.app, name="upstream")
sync_cmd.app.command("forward")(desk_upstream_cmd.forward)
app.add_typer(forms_cmd.app, name="forms")
app.add_typer(officer_cmd.app, name="officer")
app.add_typer(serve_cmd.app, name="serve")
app.add_typer(queue_cmd.app, name="queue")
app.add_typer(attach_cmd.app, name="attach")
# Checks in the national population database instead of papers (docs/verification.md).
app.add_typer(verify_cmd.app, name="verify")
app.command("audit")(audit_cmd.audit)
app.command("backup")(backup_cmd.backup)
app.command("restore")(backup_cmd.restore)
# Sub-commands that honour the global --training (they open training sandboxes).
TRAINING_COMMANDS = ("serve",)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ccdesk {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option("--db", help="Tệp CSDL / database file",
                                           envvar="CCDESK_DB")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="vi | en",
                                             envvar="CCDESK_LANG")] = None,
    training: Annotated[bool, typer.Option("--training",
                                           help="Hộp cát đào tạo / training sandbox")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version,
                                          is_eager=True)] = False,
) -> None:
    """Không có lệnh con: mở ứng dụng quầy. / No sub-command: open the desk app."""
    from ccdesk.i18n import LANGUAGES, set_language

    STATE.db, STATE.training = db, training
    chosen = lang or STATE.config().language
    if chosen not in LANGUAGES:
        fail(f"--lang: {chosen!r} ∉ {', '.join(LANGUAGES)}")
    set_language(chosen)
    STATE.lang = chosen
    if training and ctx.invoked_subcommand not in (None, *TRAINING_COMMANDS):
        # Sub-commands work on the real database: a --training that silently did not apply
        # once let `ccdesk --training demo seed --force` write demo data into real data.
        from ccdesk.i18n import t

        fail(t("reliability.security.training_not_here", command=ctx.invoked_subcommand))
    if ctx.invoked_subcommand is None:
        from ccdesk.app import run_app

        raise typer.Exit(run_app(STATE))


def main() -> None:
    """Console entry point."""
    try:
        app()
    except CcdeskError as err:
        sys.stderr.write(err.message() + "\n")
        sys.exit(2)
    except Exception as exc:
        # A damaged database read directly by a command (``sync status`` reads the file
        # without the services) gives the same message as at start, never a traceback.
        damaged = as_damage(exc)
        if damaged is None:
            raise
        sys.stderr.write(damaged.message() + "\n")
        sys.exit(2)


def as_damage(exc: BaseException) -> CcdeskError | None:
    """The "database damaged, newest good backup" error for an SQLite damage ``exc``."""
    import sqlite3

    from sqlalchemy.exc import DatabaseError as SQLAlchemyDatabaseError

    if not isinstance(exc, (sqlite3.DatabaseError, SQLAlchemyDatabaseError)):
        return None
    from ccdesk.storage.soundness import damaged_error, is_damage

    if not is_damage(exc):
        return None
    return damaged_error(STATE.db_path, STATE.paths.backups_dir)


if __name__ == "__main__":
    main()
