"""What every part of the relay shares: its refusal, a device as the store knows it, the
relay's clock and row locking (one home, so :mod:`sync.server.store` and
:mod:`sync.server.files` need not import each other both ways)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection


class DistrictError(Exception):
    """A refusal with an HTTP status and a stable code (the client maps codes to exit codes)."""

    def __init__(self, status: int, code: str, message: str = "",
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message or code
        self.extra = extra or {}


@dataclass(frozen=True)
class Device:
    device_id: str
    commune_code: str
    public_key: str
    status: str
    demo: bool


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def locked(conn: Connection, statement: Any) -> Any:
    """``statement … FOR UPDATE`` on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises."""
    return statement.with_for_update() if conn.dialect.name == "postgresql" else statement
