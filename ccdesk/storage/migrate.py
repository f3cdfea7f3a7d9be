"""Bring a database file to the current schema, backing it up first.

Start-up cost matters (the desk should paint in well under a second), so the common case, a
database already at head, is answered by one ``SELECT`` against ``alembic_version`` without
importing Alembic. ``HEAD_REVISION`` must name the newest migration; a test checks it against
Alembic's own view of the scripts.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

HEAD_REVISION = "0028_igate_codes"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def current_revision(path: Path) -> str | None:
    if not path.exists() or path.stat().st_size == 0:
        return None
    con = sqlite3.connect(path)
    try:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None
    except sqlite3.OperationalError:
        return None
    finally:
        con.close()


def backup_copy(path: Path, backups_dir: Path, label: str) -> Path:
    """A consistent, verified, owner-only copy through SQLite's online backup API."""
    from ccdesk.storage.backup import take_backup

    return take_backup(path, backups_dir, kind=label)


def alembic_config(url: str):  # noqa: ANN201 - alembic.config.Config, imported lazily
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def script_head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def has_tables(path: Path) -> bool:
    """Whether the SQLite file ``path`` holds any table at all."""
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1"
                           ).fetchone() is not None
    finally:
        con.close()


def migrate(path: Path, backups_dir: Path, engine,  # noqa: ANN001
            desk_key: bytes | None = None) -> Path | None:
    """Upgrade ``path`` to head; returns the backup taken, if any.

    An SQLite file with tables but no ``alembic_version`` is someone else's database: it is
    refused, never filled with the desk's tables."""
    current = current_revision(path)
    if current == HEAD_REVISION:
        return None
    if current is None and path.exists() and path.stat().st_size and has_tables(path):
        from ccdesk.domain.errors import StorageError

        raise StorageError("reliability.security.not_ccdesk_db", path=str(path))
    backup = backup_copy(path, backups_dir, f"pre-{HEAD_REVISION}") if current else None
    from alembic import command

    cfg = alembic_config(str(engine.url))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        cfg.attributes["desk_key"] = desk_key  # 0008 chains the existing audit lines with it
        command.upgrade(cfg, "head")
    return backup
