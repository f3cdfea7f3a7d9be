"""The relay's log: uvicorn's console logging with the desk's redaction on every handler.

The relay holds every commune's citizens; its log may be read by whoever runs the machine. So the
desk's :class:`ccdesk.logs.RedactingFilter` sits on each handler (names, ID numbers, phones and
SQL parameter blocks masked), the engine hides SQL parameters from its exceptions
(``hide_parameters=True`` in :mod:`sync.server.store`), and unexpected errors are logged as one
line without a traceback (:mod:`sync.server.app`). ``CCDESK_LOG_LEVEL=DEBUG`` logs SQL statements,
never their parameters (docs/relay-security.md, "Logs").
"""

from __future__ import annotations

import copy
import logging
import os
from typing import Any


def uvicorn_log_config(level: str | None = None) -> dict[str, Any]:
    """uvicorn's logging config plus a redacting filter on every handler, and the relay's own
    loggers (``ccdesk``, ``sqlalchemy``) sent to the same console."""
    from uvicorn.config import LOGGING_CONFIG

    chosen = (level or os.environ.get("CCDESK_LOG_LEVEL") or "WARNING").upper()
    if not isinstance(logging.getLevelName(chosen), int):
        chosen = "WARNING"
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": "ccdesk.logs.RedactingFilter"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["loggers"]["ccdesk"] = {"handlers": ["default"], "level": chosen,
                                   "propagate": False}
    config["loggers"]["sqlalchemy.engine"] = {
        "handlers": ["default"], "propagate": False,
        "level": "INFO" if chosen == "DEBUG" else "WARNING"}
    return config
