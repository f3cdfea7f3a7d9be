"""``ccdesk serve``: the desk app in a browser through textual-serve (trainers demo this way).

Each browser tab starts its own ``ccdesk`` process, so with ``--training`` every trainee gets a
fresh sandbox of their own. The server listens on 127.0.0.1 unless told otherwise: the desk
holds personal data and is not meant to face a network.
"""

from __future__ import annotations

import ipaddress
import shlex
import sys
from typing import Annotated

import typer

from ccdesk.commands.common import STATE, check_extra, fail

LOOPBACK = "127.0.0.1"

app = typer.Typer(help="Phục vụ ứng dụng qua trình duyệt / serve the app to a browser.",
                  invoke_without_command=True)


def app_command(*, training: bool, lang: str | None, db: str | None) -> str:
    """The shell command textual-serve runs for each browser session."""
    argv = [sys.executable, "-m", "ccdesk.cli"]
    if training:
        argv.append("--training")
    elif db:
        argv += ["--db", db]
    if lang:
        argv += ["--lang", lang]
    return shlex.join(argv)


@app.callback()
def serve(
    training: Annotated[bool, typer.Option("--training", help="mỗi phiên một hộp cát đào tạo "
                                                              "/ a sandbox per session")] = False,
    host: Annotated[str, typer.Option("--host", help="địa chỉ lắng nghe / listen address")]
    = LOOPBACK,
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    rating: Annotated[bool, typer.Option("--rating", help="trang công dân đánh giá / the "
                                                          "citizen's rating page")] = False,
    board: Annotated[bool, typer.Option("--board", help="bảng số đang phục vụ / the now "
                                                        "serving board")] = False,
) -> None:
    """Serve the desk to a browser (127.0.0.1:8000 by default); with --rating / --board, the
    citizen's pages instead (an office LAN address only, docs/operations.md)."""
    check_extra("serve")  # before anything is printed
    if rating or board:
        if training or STATE.training:  # a sandbox lives in the desk's own session only
            from ccdesk.i18n import t

            fail(t("rating.serve.no_training"))
        serve_kiosk(host=host, port=port, rating=rating, board=board)
        return
    from ccdesk.app import serve_in_browser  # the app's wiring lives in the composition root
    from ccdesk.i18n import t

    training = training or STATE.training
    if host != LOOPBACK:
        sys.stderr.write(t("tui.serve.not_loopback", host=host) + "\n")
    command = app_command(training=training, lang=STATE.lang, db=STATE.db)
    title = t("tui.serve.title_training" if training else "tui.serve.title")
    sys.stderr.write(t("tui.serve.listening", url=f"http://{host}:{port}") + "\n")
    serve_in_browser(command, host=host, port=port, title=title)


def lan_host_error(host: str) -> str | None:
    """Why the citizen's pages may not listen on ``host`` (None: they may). Only an IP address
    of this machine on loopback or a private office network: never every interface (0.0.0.0,
    ::) and never a public address, so nobody beyond the office LAN the officer chose can reach
    them; a name is refused too, since it could resolve to anything."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "rating.serve.host_not_ip"
    if address.is_unspecified:
        return "rating.serve.host_wildcard"
    if not (address.is_loopback or address.is_private or address.is_link_local):
        return "rating.serve.host_public"
    return None


def serve_kiosk(*, host: str, port: int, rating: bool, board: bool) -> None:
    """``--rating`` / ``--board``: the tablet pages of ccdesk.web.kiosk on the desk's data."""
    from aiohttp import web

    from ccdesk.i18n import t
    from ccdesk.web.kiosk import make_app

    error = lan_host_error(host)
    if error is not None:
        fail(t(error, host=host))
    services = STATE.services()
    if board and not STATE.config().queue_tickets:
        fail(t("queue.err.off"))
    app = make_app(rating=services.citizen_rating if rating else None,
                   queue=services.queue if board else None)
    for path, shown in (("/", rating), ("/board", board)):
        if shown:
            sys.stderr.write(t("tui.serve.listening", url=f"http://{host}:{port}{path}") + "\n")
    web.run_app(app, host=host, port=port, print=None, access_log=None)
