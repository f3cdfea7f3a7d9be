"""``ccdesk district serve --workers N``: the relay's app built inside each uvicorn worker.

uvicorn starts N worker processes (``spawn``: each imports this module and calls
:func:`create_worker_app`) over one listening socket and restarts one that dies. The parent has
already migrated the database and created the epoch and the signing key, so workers only read
them. Everything a worker must share with the others lives in the database: nonces (replay
protection), enrolment codes, devices, the epoch (read on each reply), the admin token. Nothing
is cached per process but the engine's connection pool (docs/operations.md, "Worker processes").

The settings reach the workers through one environment variable (inherited by the spawned
processes, readable only by their owner), never through the command line: a PostgreSQL URL may
hold a password.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

import orjson

from sync.server.body import Limits

WORKER_ENV = "CCDESK_RELAY_WORKER"
APP_FACTORY = "sync.server.worker:create_worker_app"


def worker_settings(url: str, options: dict[str, Any], *, docs: bool, limits: Limits) -> str:
    """The JSON a worker builds its app from (:func:`create_worker_app`)."""
    return orjson.dumps({"url": url, "options": options, "docs": docs,
                         "limits": asdict(limits)}).decode()


def create_worker_app() -> Any:
    """The relay's ASGI app over the store named in :data:`WORKER_ENV` (uvicorn's factory)."""
    from sync.server.app import create_app
    from sync.server.store import DistrictStore

    settings = orjson.loads(os.environ[WORKER_ENV])
    store = DistrictStore.open(settings["url"], **settings["options"])
    return create_app(store, docs=settings["docs"], limits=Limits(**settings["limits"]))
