"""The ``ccdesk`` console entry point: opening the desk skips the command-line machinery.

``ccdesk`` with no sub-command (only ``--db``, ``--lang``, ``--training``) goes straight to the
app, without importing Typer and every command module; that is most of a second saved on a
slow desk PC. Anything else (a sub-command, ``--help``, ``--version``, an unknown option) is
handed to :mod:`ccdesk.cli` unchanged, so the command-line contract stays exactly the same.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ccdesk.services.startup import EarlyLook

SWITCH_INTERVAL = 0.001  # seconds a thread may hold the interpreter while another waits

# Root options that open the desk, and whether each takes a value.
DESK_OPTIONS = {"--db": True, "--lang": True, "--training": False}


def desk_options(argv: list[str]) -> dict[str, str | bool] | None:
    """The options when ``argv`` only opens the desk, else ``None`` (the CLI handles it)."""
    found: dict[str, str | bool] = {}
    args = iter(argv)
    for arg in args:
        name, eq, value = arg.partition("=")
        if name not in DESK_OPTIONS:
            return None
        if DESK_OPTIONS[name]:
            if not eq:
                value = next(args, None)
                if value is None:
                    return None  # let the CLI say that the option needs a value
            found[name] = value
        elif eq:
            return None
        else:
            found[name] = True
    return found


def main() -> None:
    """Console entry point (``ccdesk``)."""
    options = desk_options(sys.argv[1:])
    if options is None:
        from ccdesk.cli import main as cli_main

        cli_main()
        return
    sys.exit(open_desk(options))


def open_desk(options: dict[str, str | bool]) -> int:
    """What the CLI's root callback does when no sub-command is given.

    Python's cycle collector is off until the login screen is painted (``DeskApp`` turns it
    back on then, or before a one-step opening): importing Textual and building the first
    screen allocate hundreds of thousands of objects that live as long as the app, and
    collecting among them while the officer waits for the login screen finds nothing to free
    (docs/tui.md, "Start-up").

    Every frame reaches the terminal through Textual's output thread, which must take the
    interpreter from the UI thread for each write: with Python's default switch interval it
    waits up to 5 ms a write while the UI thread is busy, a dozen milliseconds on the first
    frame and again on each screen switched to. The desk waits at most 1 ms.
    """
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.disable()
    try:
        return _open_desk(options)
    finally:
        gc.enable()  # whichever way the desk opened or failed


def _open_desk(options: dict[str, str | bool]) -> int:
    from ccdesk.commands.common import EXIT_USER_ERROR, STATE
    from ccdesk.domain.errors import CcdeskError
    from ccdesk.i18n import LANGUAGES, set_language

    STATE.db = str(options.get("--db") or os.environ.get("CCDESK_DB") or "") or None
    STATE.training = bool(options.get("--training"))
    early = None if STATE.training else _early_look(STATE.db_path)
    try:
        config = STATE.config()
    except CcdeskError as err:
        sys.stderr.write(err.message() + "\n")
        return EXIT_USER_ERROR
    chosen = str(options.get("--lang") or os.environ.get("CCDESK_LANG") or config.language)
    if chosen not in LANGUAGES:
        sys.stderr.write(f"--lang: {chosen!r} ∉ {', '.join(LANGUAGES)}\n")
        return EXIT_USER_ERROR
    set_language(chosen)
    STATE.lang = chosen
    from ccdesk.app import run_app

    return run_app(STATE, early, config)


def _early_look(db_path: Path) -> EarlyLook:
    """The login screen's reads of the file, started now: they overlap importing Textual."""
    from ccdesk.services.startup import EarlyLook

    return EarlyLook(db_path)


if __name__ == "__main__":
    main()
