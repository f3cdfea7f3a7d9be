"""Secrets given to a command (an enrolment code, a database URL with its password) without
putting them on the command line, where every user of the machine sees them in ``ps``: from a
file (``--code-file``, ``--db-file``) or the environment. The old flags still work, with a
warning (docs/relay-security.md)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ccdesk.commands.common import fail
from ccdesk.i18n import t

MAX_SECRET_BYTES = 4096


def read_secret_file(path: Path) -> str:
    """The first line of ``path`` (at most 4 KiB read), or a clear error naming the file."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        fail(t("sync.relay.bad_secret_file", file=path, reason=exc.strerror or type(exc).__name__))
    if len(raw) > MAX_SECRET_BYTES:
        fail(t("sync.relay.bad_secret_file", file=path, reason=f"> {MAX_SECRET_BYTES} bytes"))
    try:
        lines = raw.decode("utf-8").strip().splitlines()
    except UnicodeDecodeError:
        fail(t("sync.relay.bad_secret_file", file=path, reason="not UTF-8 text"))
    if not lines or not lines[0].strip():
        fail(t("sync.relay.bad_secret_file", file=path, reason="empty"))
    return lines[0].strip()


def warn_on_command_line(option: str, alternative: str) -> None:
    """Say that a secret given as ``option`` is visible in ``ps`` and what to use instead."""
    sys.stderr.write(t("sync.relay.secret_in_args", option=option, alternative=alternative)
                     + "\n")


def from_environment(value: str | None, name: str) -> bool:
    """True when ``value`` came from the environment variable ``name`` (typer's ``envvar``)
    rather than the command line."""
    return value is not None and os.environ.get(name) == value
