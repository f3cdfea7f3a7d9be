"""``ccdesk district filings fetch``: bring the dossiers citizens filed on the portal (status 1)
down to the relay and into their commune's change feed (docs/upstream.md, "Online filings").

Exit codes (as ``forward``'s): 0 done, 20 upstream unreachable, 30 auth refused, 50 internal,
2 this upstream's profile cannot list filings (the façade) or bad input.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ccdesk.commands.common import print_json
from ccdesk.commands.district import DbFileOpt, DbOpt
from ccdesk.commands.upstream import EXIT_INTERNAL, _config, _engine
from ccdesk.i18n import t

app = typer.Typer(help="Hồ sơ nộp trực tuyến / online filings from the portal.",
                  no_args_is_help=True)


@app.command("fetch")
def fetch_cmd(as_json: Annotated[bool, typer.Option("--json")] = False,
              db: DbOpt = None, db_file: DbFileOpt = None) -> None:
    """Lấy hồ sơ nộp trực tuyến / fetch the portal's waiting filings and send them down.

    Exit: 0 done, 20 unreachable, 30 auth refused, 50 internal, 2 not supported."""
    from sync.upstream import filings
    from sync.upstream.transport import AuthRefused, Down
    from sync.upstream.transports import make_transport

    engine = _engine(db, db_file)
    config = _config(engine)
    transport = make_transport(config.profile, config.creds)
    try:
        result = filings.fetch(engine, config.profile, transport)
    except Down as exc:
        result = filings.FetchResult(exit_code=filings.EXIT_NETWORK,
                                     error=f"upstream_unreachable: {exc}")
    except AuthRefused as exc:
        result = filings.FetchResult(exit_code=filings.EXIT_AUTH, error=f"auth_refused: {exc}")
    except filings.FilingsRefused as exc:
        result = filings.FetchResult(exit_code=filings.EXIT_NETWORK,
                                     error=f"refused: {str(exc)[:200]}")
    except Exception as exc:  # noqa: BLE001 - exit 50 with the class only (no personal data)
        sys.stderr.write(t("sync.upstream.internal", error=type(exc).__name__) + "\n")
        raise typer.Exit(EXIT_INTERNAL) from None
    finally:
        transport.close()
    if as_json:
        print_json(result.to_json())
    else:
        typer.echo(t("sync.filings.fetched", listed=result.listed, new=result.new,
                     sent=result.sent_down, known=result.known, unrouted=result.unrouted,
                     rejected=result.rejected, checked=result.checked,
                     closed=result.closed))
        if result.error:
            typer.echo(t("sync.upstream.stopped", error=result.error), err=True)
    raise typer.Exit(result.exit_code)



