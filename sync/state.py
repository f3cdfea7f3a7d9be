"""Client-side sync tables (migration ``0003_sync``): state, attempts, conflicts, inbox.

They live in the desk database next to the outbox so that acknowledging rows, moving the pull
cursor and applying an upstream change each happen in one SQLite transaction with the data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Text
from sqlmodel import Field, SQLModel


class SyncState(SQLModel, table=True):
    """One row (id = 1): enrolment, server epoch, cursors, clock offset, last outcome."""

    __tablename__ = "sync_state"

    id: int = Field(default=1, primary_key=True)
    upstream_url: str = ""
    device_id: str = ""
    commune_code: str = ""
    private_key: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # An enrolment in progress (migration 0007): its key and address, kept apart from the
    # working ones until the upstream confirms it, so a failed attempt loses nothing.
    pending_private_key: str = Field(default="", sa_column=Column(Text, nullable=False,
                                                                  default=""))
    pending_url: str = ""
    server_public_key: str = ""
    server_epoch: str = ""
    pull_cursor: int = 0
    acked_through_seq: int = 0
    clock_offset_s: float | None = None
    batch_bytes: int = 0                       # adaptive raw bytes per batch (0 = default)
    enrolled_at: datetime | None = Field(default=None, sa_type=DateTime)
    revoked: bool = False
    last_attempt_at: datetime | None = Field(default=None, sa_type=DateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=DateTime)
    last_error: str = ""                       # a stable code, never personal data
    last_error_at: datetime | None = Field(default=None, sa_type=DateTime)


class SyncAttempt(SQLModel, table=True):
    """One HTTP exchange (or bundle step), for ``sync log`` and ``sync status``."""

    __tablename__ = "sync_attempt"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=DateTime, index=True)          # UTC
    kind: str                                                  # hello | batch | changes | …
    batch_id: str = ""
    first_seq: int = 0
    last_seq: int = 0
    records: int = 0
    bytes_raw: int = 0
    bytes_wire: int = 0
    http_status: int = 0
    outcome: str = ""                                          # ok | a stable error code
    rtt_ms: int = 0


class SyncConflict(SQLModel, table=True):
    """A disagreement kept for a person to settle (SF-LOST-CONFLICT): never silently overwritten."""

    __tablename__ = "sync_conflict"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=DateTime)                     # UTC
    side: str                                                  # push | pull
    dossier_code: str = Field(index=True)
    mutation_id: str = ""                                      # push: the refused outbox row
    change_id: str = ""                                        # pull: the upstream change
    local_status: str = ""
    upstream_status: str = ""
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    resolved_at: datetime | None = Field(default=None, sa_type=DateTime)
    resolution: str = ""                                       # upstream | local


class SyncInbox(SQLModel, table=True):
    """Upstream changes already handled, so a re-delivered change is never applied twice."""

    __tablename__ = "sync_inbox"

    change_id: str = Field(primary_key=True)
    seq: int
    dossier_code: str
    outcome: str                                               # applied | conflict | unknown
    at: datetime = Field(sa_type=DateTime)
