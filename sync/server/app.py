"""The relay's ASGI application: routes (:mod:`sync.server.routes`), their dependencies
(:mod:`sync.server.auth`, :mod:`sync.server.body`) and error answers in the protocol's form.

Every refusal is a JSON ``{"service", "error", "message"}`` with a 4xx; an unexpected error is a
500 in the same form, logged as its class and a redacted message only (no traceback: an
exception's text may quote a batch's values; docs/relay-security.md, "Logs").
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from sync import protocol
from sync.server.body import Limits
from sync.server.routes import DISTRICT_PREFIX, district_router, sync_router
from sync.server.store import DistrictError, DistrictStore

__all__ = ["DISTRICT_PREFIX", "create_app"]
log = logging.getLogger("ccdesk.relay")


def _error(err: DistrictError) -> JSONResponse:
    return JSONResponse({"service": protocol.SERVICE_NAME, "error": err.code,
                         "message": err.message, **err.extra}, status_code=err.status)


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # Everything loaded at start-up (FastAPI, pydantic, SQLAlchemy: ~150k objects) lives as long
    # as the server: move it out of the cyclic collector's reach. Otherwise every full
    # collection walks it again while a batch of thousands of records is parsed and applied,
    # which doubled the time spent in orjson.loads (the Python docs suggest gc.freeze() for
    # exactly this, after a server's start-up).
    gc.collect()
    gc.freeze()
    yield


class _QuietErrors:
    """Turns an unexpected exception into a protocol 500 before Starlette's error middleware
    would log its traceback (with whatever values its text quotes)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:   # noqa: BLE001 - the last line of defence, logged below
            from ccdesk.logs import redact

            log.error("internal error on %s %s: %s: %s", scope.get("method"),
                      scope.get("path"), type(exc).__name__, redact(str(exc))[:300])
            if not started:
                response = JSONResponse({"service": protocol.SERVICE_NAME, "error": "internal",
                                         "message": "internal error"}, status_code=500)
                await response(scope, receive, send)


def create_app(store: DistrictStore, *, docs: bool = False,
               limits: Limits | None = None) -> FastAPI:
    """The ASGI application over ``store``. ``docs``: serve ``/docs`` and ``/openapi.json``
    (off by default: the API's map is nobody's business on a public address)."""
    app = FastAPI(title="ccdesk district server", version=str(protocol.API_VERSION),
                  description="Reference upstream for ccdesk commune desks (docs/sync.md).",
                  lifespan=_lifespan, docs_url="/docs" if docs else None,
                  redoc_url=None, openapi_url="/openapi.json" if docs else None)
    app.state.store = store
    app.state.limits = limits or Limits(max_batch_bytes=store.max_batch_bytes)
    app.add_middleware(_QuietErrors)

    @app.exception_handler(DistrictError)
    async def district_error(_request: Request, err: DistrictError) -> JSONResponse:
        return _error(err)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        where = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()[:3])
        return _error(DistrictError(400, "bad_request", f"invalid {where}"[:200]))

    app.include_router(sync_router)
    app.include_router(district_router)
    return app
