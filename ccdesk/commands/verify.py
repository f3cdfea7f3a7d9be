"""``ccdesk verify run|pending|double``: checklist items confirmed in a national database
instead of on paper (Resolution 66.7/2025/NQ-CP; docs/verification.md).

Exit codes of ``run`` (a contract, cron friendly): 0 every due item answered (or nothing to do)
· 10 partial · 20 the database unreachable, nothing answered · 50 internal error · 2 bad input
or settings.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from ccdesk.commands.common import STATE, fail, print_json
from ccdesk.domain.errors import CcdeskError
from ccdesk.i18n import t

app = typer.Typer(help="Xác minh trên CSDL quốc gia / national database checks.",
                  no_args_is_help=True)
log = logging.getLogger(__name__)

JsonOpt = Annotated[bool, typer.Option("--json", help="JSON output for scripts")]
EXIT_INTERNAL = 50


@app.command()
def run(once: Annotated[bool, typer.Option("--once", help="one pass over what is due")] = False,
        max_time: Annotated[float | None, typer.Option(
            "--max-time", min=0, help="seconds; wait for retries due within them")] = None,
        as_json: JsonOpt = False) -> None:
    """Kiểm tra các mục chờ xác minh (dùng cho cron) / check what is due (for cron)."""
    from ccdesk.services.national_client import HttpChecker, settings_from
    from ccdesk.services.verification_run import run_checks

    services = STATE.services()
    try:
        checker = HttpChecker(settings_from(services.config.national_db))
    except CcdeskError as err:
        fail(err)
    try:
        result = run_checks(services.verification, checker, once=once, max_time=max_time)
    except CcdeskError as err:
        fail(err)
    except Exception as exc:  # noqa: BLE001 - exit 50 with one line, never a traceback
        log.error("verify run failed", extra={"error": type(exc).__name__})
        fail(t("verification.cli.internal", error=type(exc).__name__), EXIT_INTERNAL)
    finally:
        checker.close()
    if as_json:
        print_json(result.to_json())
    else:
        _say(result)
    raise typer.Exit(result.exit_code)


def _say(result) -> None:  # noqa: ANN001 - verification_run.RunResult
    typer.echo(t("verification.cli.checked", checked=result.checked,
                 verified=result.answered["verified"], not_found=result.answered["not_found"],
                 mismatch=result.answered["mismatch"]))
    if result.supplements:
        typer.echo(t("verification.cli.supplements", count=len(result.supplements),
                     codes=", ".join(result.supplements)))
    if result.unanswered:
        typer.echo(t("verification.cli.unanswered", count=result.unanswered,
                     error=result.last_error or "—"), err=True)
    typer.echo(t("verification.cli.pending_left", count=result.pending))


@app.command()
def pending(as_json: JsonOpt = False) -> None:
    """Các mục đang chờ xác minh (không cần mạng) / what waits, offline."""
    from ccdesk.services.verification import age_text

    rows = STATE.services().verification.pending()
    if as_json:
        print_json({"pending": [row.to_json() for row in rows]})
        return
    if not rows:
        typer.echo(t("verification.cli.none"))
        return
    for row in rows:
        state = (t("verification.tui.owed") if row.owes_supplement
                 else t(f"vocab.verification.{row.state}"))
        error = f" · {row.last_error}" if row.last_error else ""
        typer.echo(f"{row.dossier_code}  #{row.position}  {row.document}  — {state} · "
                   f"{age_text(row.age_minutes)} · "
                   f"{t('verification.cli.attempts', count=row.attempts)}{error}")


@app.command()
def double(
    data: Annotated[Path, typer.Option("--data", help="JSON file of made-up people")],
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8720,
    faults: Annotated[str | None, typer.Option(
        "--faults", help="e.g. timeout=0.2,http500=0.1,fail_first=2,hang=5,seed=7")] = None,
    username: Annotated[str, typer.Option("--username")] = "",
    password_file: Annotated[Path | None, typer.Option(
        "--password-file", help="a file whose first line is the password")] = None,
) -> None:
    """Giả lập CSDL quốc gia để diễn tập / run the national database double."""
    from ccdesk.commands.secrets import read_secret_file
    from ccdesk.web.national_double import (
        DoubleDataError,
        DoubleState,
        load_people,
        make_server,
        parse_faults,
    )

    if username and password_file is None:
        fail(t("verification.double.no_password"))
    try:
        state = DoubleState(load_people(data), parse_faults(faults), username,
                            read_secret_file(password_file) if password_file else "")
    except DoubleDataError as exc:
        fail(t("verification.double.bad_input", detail=str(exc)))
    except CcdeskError as err:
        fail(err)
    try:
        server = make_server(state, host, port)
    except OSError as exc:
        fail(t("verification.double.cannot_listen", host=host, port=port,
               reason=exc.strerror or type(exc).__name__))
    bound = server.server_address[1]
    typer.echo(t("verification.double.serving", host=host, port=bound,
                 people=len(state.people)))
    if not _loopback(host):
        typer.echo(t("verification.double.exposed", host=host), err=True)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
