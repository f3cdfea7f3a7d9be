"""``ccdesk serve``: the desk app in a browser through textual-serve (trainers demo this way).

Each browser tab starts its own ``ccdesk`` process, so with ``--training`` every trainee gets a
fresh sandbox of their own. The server listens on 127.0.0.1 unless told otherwise: the desk
holds personal data and is not meant to face a network.
"""

from __future__ import annotations

import shlex
import sys
from typing import Annotated

import typer

from ccdesk.commands.common import STATE, requires_extra

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
) -> None:
    """Serve the desk to a browser (127.0.0.1:8000 by default)."""
    with requires_extra("serve"):  # before anything is printed
        import textual_serve.server  # noqa: F401
    from ccdesk.app import serve_in_browser  # the app's wiring lives in the composition root
    from ccdesk.i18n import t

    training = training or STATE.training
    if host != LOOPBACK:
        sys.stderr.write(t("tui.serve.not_loopback", host=host) + "\n")
    command = app_command(training=training, lang=STATE.lang, db=STATE.db)
    title = t("tui.serve.title_training" if training else "tui.serve.title")
    sys.stderr.write(t("tui.serve.listening", url=f"http://{host}:{port}") + "\n")
    serve_in_browser(command, host=host, port=port, title=title)
