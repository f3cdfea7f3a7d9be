"""Where ccdesk keeps its data and configuration.

Defaults come from platformdirs. ``CCDESK_HOME`` moves both config and data under one folder
(handy for tests, trainers and portable installs); ``CCDESK_DB`` or ``--db`` picks the database
file itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

APP_NAME = "ccdesk"
DB_FILENAME = "ccdesk.sqlite3"


class Paths(NamedTuple):
    """The folders and files one ccdesk installation uses. (A named tuple, not a frozen
    dataclass: it is defined before the login screen is painted, in a seventh of the time;
    docs/tui.md, "Start-up and memory".)"""

    data_dir: Path
    config_dir: Path

    @property
    def default_db(self) -> Path:
        return self.data_dir / DB_FILENAME

    @property
    def backups_dir(self) -> Path:
        return self.data_dir / "backups"

    @property
    def forms_dir(self) -> Path:
        return self.data_dir / "forms"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def calendar_file(self) -> Path:
        return self.config_dir / "calendar.toml"

    @property
    def key_file(self) -> Path:
        """The desk's secret key (PIN pepper, audit chain), outside the database and its
        backups; ``CCDESK_KEY_FILE`` moves it (a removable key, or tests sharing one)."""
        chosen = os.environ.get("CCDESK_KEY_FILE")
        return Path(chosen).expanduser() if chosen else self.config_dir / "desk.key"


def resolve_paths(env: dict[str, str] | None = None) -> Paths:
    """Work out the folders from the environment (``CCDESK_HOME``) or platformdirs."""
    env = dict(os.environ) if env is None else env
    home = env.get("CCDESK_HOME")
    if home:
        root = Path(home).expanduser()
        return Paths(data_dir=root / "data", config_dir=root / "config")
    import platformdirs

    return Paths(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
    )


def resolve_db_path(cli_value: str | os.PathLike[str] | None, paths: Paths,
                    env: dict[str, str] | None = None) -> Path:
    """The database file: ``--db`` first, then ``CCDESK_DB``, then the data dir default."""
    env = dict(os.environ) if env is None else env
    chosen = cli_value or env.get("CCDESK_DB")
    return Path(chosen).expanduser() if chosen else paths.default_db


def ensure_private_dir(path: Path) -> Path:
    """Make sure ``path`` exists; the folders ccdesk creates are owner-only (0700).

    A folder that exists already is never chmodded, whoever owns it: ``--db /dev/full`` run as
    root once turned ``/dev`` into 0700 and broke the machine, and ``--db /srv/shared/desk.db``
    would lock other users out of a shared folder. An existing folder that others can read is
    reported in the log instead (docs/operations.md, "Files and folders").
    """
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue  # made meanwhile by another process: not ours to chmod
        folder.chmod(0o700)  # mkdir's mode is filtered by the umask
    if not missing:
        warn_if_shared(path)
    return path


def warn_if_shared(path: Path) -> None:
    """Log (never fix) a folder that holds the desk's data and that others may read."""
    import logging
    import stat

    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        logging.getLogger(__name__).warning(
            "folder readable by others", extra={"folder": str(path), "mode": oct(mode)})
