"""What every CLI command shares: the chosen database, language, output and error handling."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from ccdesk.domain.errors import CcdeskError
from ccdesk.paths import Paths, resolve_db_path, resolve_paths

if TYPE_CHECKING:
    from ccdesk.config import Config
    from ccdesk.forms.service import FormService
    from ccdesk.services import Services

EXIT_USER_ERROR = 2

# The optional parts of ccdesk (pyproject.toml [project.optional-dependencies]) and the modules
# each brings: the desk installs without them.
EXTRAS: dict[str, tuple[str, ...]] = {
    "server": ("fastapi", "starlette", "uvicorn", "psycopg", "psycopg_binary"),
    "serve": ("textual_serve", "aiohttp"),
}


@dataclass
class CliState:
    """Set by the root callback from ``--db``, ``--lang``, ``--training``."""

    db: str | None = None
    lang: str | None = None
    training: bool = False
    paths: Paths = field(default_factory=resolve_paths)
    _services: Services | None = None
    # Warnings from start-up (e.g. the day's backup failed) for the desk app to show on screen:
    # stderr is hidden once Textual takes the terminal.
    startup_warnings: list[str] = field(default_factory=list)

    @property
    def db_path(self) -> Path:
        return resolve_db_path(self.db, self.paths)

    def config(self) -> Config:
        from ccdesk.config import Config

        return Config.load(self.paths.config_file)

    def services(self) -> Services:
        if self._services is None:
            from ccdesk.logs import setup_logging
            from ccdesk.services import Services
            from ccdesk.services.startup import on_start

            setup_logging(self.paths)
            self._services = Services.open(self.db_path, self.paths)
            report = on_start(self._services)  # integrity check + the day's first backup
            if report.backup_error is not None:  # a warning: the command itself can still run
                self.startup_warnings.append(report.backup_error.message())
                sys.stderr.write(report.backup_error.message() + "\n")
            if report.audit_warning is not None:
                self.startup_warnings.append(report.audit_warning)
                sys.stderr.write(report.audit_warning + "\n")
        return self._services

    def forms(self) -> FormService:
        """The printed forms over :meth:`services` (imported here: only form commands pay)."""
        from ccdesk.forms.service import FormService

        return FormService(self.services())


STATE = CliState()


def print_json(data: object) -> None:
    import orjson  # only commands that print JSON pay for it (and the desk's start does not)

    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


@contextmanager
def requires_extra(extra: str) -> Iterator[None]:
    """Run the part of a command that needs ``ccdesk[extra]``: when that part is not installed,
    say so and how to install it (exit 2) instead of an ImportError traceback."""
    try:
        yield
    except ImportError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in EXTRAS[extra]:
            raise
        _extra_missing(extra, missing)


def check_extra(extra: str) -> None:
    """Before a command that needs ``ccdesk[extra]`` prints anything: say which module is missing
    and how to install it (exit 2). The modules are looked for, not imported."""
    from importlib.util import find_spec

    for module in EXTRAS[extra]:
        if find_spec(module) is None:
            _extra_missing(extra, module)


def _extra_missing(extra: str, module: str) -> NoReturn:
    from ccdesk.i18n import t

    fail(t("core.extras.missing", extra=extra, module=module))


def fail(error: CcdeskError | str, code: int = EXIT_USER_ERROR) -> NoReturn:
    """Print a user-facing error (in the user's language) and exit without a traceback."""
    import typer

    message = error.message() if isinstance(error, CcdeskError) else error
    sys.stderr.write(message + "\n")
    raise typer.Exit(code)
