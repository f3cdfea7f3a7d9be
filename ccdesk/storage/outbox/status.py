"""``sync status``: read straight from the desk database file with ``sqlite3``.

No network, no SQLAlchemy: cron and monitoring call it often, and it must answer offline in
well under a second even on a slow machine. The same function backs
``sync.service.status`` for the desk, so both always agree.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ccdesk.storage.outbox.sql import (
    ACKED_COUNT_SQL,
    FILES_PENDING_SQL,
    HELD_COUNTS_SQL,
    IN_FLIGHT_COUNT_SQL,
    OLDEST_UNSYNCED_SQL,
    PRUNED_COUNTS_SQL,
    PRUNED_LOST_SQL,
    UNSYNCED_COUNT_SQL,
)
from ccdesk.storage.readonly import read_only

CLOCK_WARN_SECONDS = 300


@dataclass(frozen=True)
class SyncStatus:
    commune: str
    device_id: str
    upstream: str
    enrolled: bool
    revoked: bool
    training: bool
    demo: bool
    pending: int
    in_flight: int
    acked: int
    quarantined: int
    conflicts: int
    oldest_pending_age_s: int | None
    last_success_at: str | None
    last_error: str
    last_error_at: str | None
    epoch: str
    pull_cursor: int
    clock_offset_s: float | None
    clock_warning: bool
    # Acknowledged rows dropped after the retention window; of those, the ones the upstream
    # lost afterwards (restored from an older backup) as [first, last] seq ranges: they can no
    # longer be sent from this desk.
    pruned: int = 0
    pruned_lost: int = 0
    pruned_lost_seqs: list[list[int]] = field(default_factory=list)
    # Scans of this desk's dossiers the relay does not have whole yet, and their bytes still
    # to send (docs/sync.md, "Files").
    files_pending: int = 0
    file_bytes_pending: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: str | None) -> str | None:
    parsed = _parse(value)
    return parsed.isoformat() + "Z" if parsed else None


def read_status_file(db_path: Path, now: datetime | None = None) -> SyncStatus | None:
    """The status from one read transaction, or None when the file or the sync tables do not
    exist yet (a new or not yet migrated database: open it through the services instead)."""
    if not Path(db_path).exists():
        return None
    now = now or datetime.now(UTC).replace(tzinfo=None)
    try:
        con = read_only(db_path, timeout=15)
    except sqlite3.Error:
        return None
    try:
        con.execute("BEGIN")
        office = con.execute("SELECT commune_code, device_id, is_training, is_demo FROM office "
                             "WHERE id = 1").fetchone() or ("", "", 0, 0)
        state = con.execute(
            "SELECT commune_code, device_id, upstream_url, enrolled_at, revoked, "
            "last_success_at, last_error, last_error_at, server_epoch, pull_cursor, "
            "clock_offset_s FROM sync_state WHERE id = 1").fetchone() \
            or ("", "", "", None, 0, None, "", None, "", 0, None)
        # Acknowledged rows are seq ranges (.states): count by range.
        counts = dict(con.execute(HELD_COUNTS_SQL))
        unsynced = con.execute(UNSYNCED_COUNT_SQL).fetchone()[0] or 0
        counts["in_flight"] = con.execute(IN_FLIGHT_COUNT_SQL).fetchone()[0] or 0
        counts["pending"] = unsynced - counts["in_flight"]
        counts["acked"] = con.execute(ACKED_COUNT_SQL).fetchone()[0] or 0
        oldest = con.execute(OLDEST_UNSYNCED_SQL).fetchone()[0]
        conflicts = con.execute("SELECT COUNT(*) FROM sync_conflict "
                                "WHERE resolved_at IS NULL").fetchone()[0]
        pruned, pruned_lost = con.execute(PRUNED_COUNTS_SQL).fetchone()
        lost_seqs = [[a, b] for a, b in con.execute(PRUNED_LOST_SQL)]
        files_pending, file_bytes_pending = con.execute(FILES_PENDING_SQL).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        con.close()
    oldest_at = _parse(oldest)
    offset = state[10]
    return SyncStatus(
        commune=state[0] or office[0], device_id=state[1] or office[1], upstream=state[2],
        enrolled=state[3] is not None, revoked=bool(state[4]), training=bool(office[2]),
        demo=bool(office[3]), pending=counts.get("pending", 0),
        in_flight=counts.get("in_flight", 0), acked=counts.get("acked", 0),
        quarantined=counts.get("quarantined", 0), conflicts=int(conflicts),
        oldest_pending_age_s=max(0, int((now - oldest_at).total_seconds()))
        if oldest_at else None,
        last_success_at=_iso(state[5]), last_error=state[6] or "", last_error_at=_iso(state[7]),
        epoch=state[8] or "", pull_cursor=int(state[9] or 0), clock_offset_s=offset,
        clock_warning=offset is not None and abs(offset) > CLOCK_WARN_SECONDS,
        pruned=int(pruned), pruned_lost=int(pruned_lost), pruned_lost_seqs=lost_seqs,
        files_pending=int(files_pending), file_bytes_pending=int(file_bytes_pending))
