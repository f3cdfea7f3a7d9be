"""Where ccdesk keeps its data and configuration.

Defaults come from platformdirs. ``CCDESK_HOME`` moves both config and data under one folder
(handy for tests, trainers and portable installs); ``CCDESK_DB`` or ``--db`` picks the database
file itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "ccdesk"
DB_FILENAME = "ccdesk.sqlite3"


@dataclass(frozen=True)
class Paths:
    """The folders and files one ccdesk installation uses."""

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
    """Create ``path`` (and parents) readable by the owner only: it holds personal data."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        path.chmod(0o700)
    except PermissionError:
        pass  # a folder we do not own (e.g. /tmp): leave its mode alone
    return path
