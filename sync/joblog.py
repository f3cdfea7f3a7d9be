"""The sync log file: one JSON object per line (batch id, seq range, bytes, status, outcome),
for ``journalctl``-less machines and log shippers. Never personal data: no names, ID numbers
or phones are ever passed here, only ids, counts and stable codes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from ccdesk.storage.files import open_private_append
from ccdesk.storage.outbox.write import utcnow


class JsonLineLog:
    def __init__(self, path: Path | None) -> None:
        self.path = path

    def write(self, event: str, **fields: Any) -> None:
        """Append one line; a log that cannot be written never stops a sync."""
        if self.path is None:
            return
        line = orjson.dumps({"at": utcnow().isoformat() + "Z", "event": event, "pid": os.getpid(),
                             **fields}) + b"\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open_private_append(self.path) as fh:  # owner-only, like every desk log
                fh.write(line)
        except OSError:
            pass
