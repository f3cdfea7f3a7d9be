"""Running the double under uvicorn, with the desk's redacting log filter on every handler and
no access log (request lines are harmless, but nothing of a body is ever logged)."""

from __future__ import annotations

import copy
import os
from typing import Any


def log_config(level: str | None = None) -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    chosen = (level or os.environ.get("CCDESK_LOG_LEVEL") or "INFO").upper()
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": "ccdesk.logs.RedactingFilter"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["loggers"]["ccdesk"] = {"handlers": ["default"], "level": chosen, "propagate": False}
    return config


def run(app: Any, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_config=log_config(), log_level="warning",
                access_log=False)
