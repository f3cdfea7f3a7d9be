"""The transactional outbox: the one home of everything about outbox rows (docs/sync.md,
"Client storage").

* :mod:`.write` — writing rows: :func:`record_change` in the caller's transaction (services),
  :func:`row_values` for bulk writers (the demo generator), canonical JSON, UTC clocks.
* :mod:`.states` — the state transitions sync drives (in flight, acknowledged, held, resent).
* :mod:`.sql` — the statements that count rows by state, shared by the desk and ``sync status``.
* :mod:`.retention` — dropping acknowledged rows after the retention window.
* :mod:`.status` — ``sync status`` read straight from the file with ``sqlite3``.

Nothing here imports the sync engine or httpx, so services write rows without loading either.
The writing names are re-exported from :mod:`.write` on first use rather than at import
(PEP 562): ``sync status`` imports :mod:`.sql` and :mod:`.status` through this package and
must not pay for SQLAlchemy on its way.
"""

from __future__ import annotations

from typing import Any

_WRITE_NAMES = frozenset({"PRIVATE_COLUMNS", "canonical_json", "local_to_utc", "record_change",
                          "row_values", "utcnow"})

__all__ = sorted(_WRITE_NAMES)


def __getattr__(name: str) -> Any:
    if name in _WRITE_NAMES:
        from ccdesk.storage.outbox import write

        return getattr(write, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
