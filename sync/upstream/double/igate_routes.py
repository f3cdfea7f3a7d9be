"""The igate mode's HTTP routes (docs/upstream-double.md, "igate"): the token endpoint, the
dossier calls behind a bearer token, and the multipart upload. The same bounded body and the
same faults (latency, 429, 5xx before processing; a reset after storing) as the other modes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from sync.upstream.double.igate import DEFAULT_PATHS, IgateDouble, json_body

UNAUTHORISED = {"code": "401", "message": "Token không hợp lệ hoặc đã hết hạn"}


def add_igate_routes(app: FastAPI, double: Any, config: Any, before: Any, after: Any,
                     _json: Any) -> IgateDouble:
    """``double``, ``config``: app.Double and app.DoubleConfig; ``before``, ``after``,
    ``_json``: app's body reading, reply (with the reset fault) and JSON response."""
    igate = IgateDouble(double, config)
    paths = DEFAULT_PATHS | config.igate_paths

    @app.post(paths["token"])
    async def token(request: Request) -> Response:
        raw, early = await before(request, raw_body=True)
        if early:
            return early
        status, reply = igate.token(raw, request.headers.get("authorization", ""))
        return _json(reply, status)

    def guarded(handle: Any) -> Any:
        async def route(request: Request) -> Response:
            raw, early = await before(request, raw_body=True)
            if early:
                return early
            if not igate.authorised(request.headers.get("authorization", "")):
                return _json(UNAUTHORISED, 401, {"WWW-Authenticate": "Bearer"})
            return handle(request, raw)
        return route

    def stored_call(method: Any) -> Any:
        def handle(request: Request, raw: bytes) -> Response:
            reply, stored = method(json_body(raw))
            if reply["code"] != "0":
                return _json(reply, 400)
            return after(request, reply, stored)
        return handle

    app.post(paths["create"])(guarded(stored_call(igate.create)))
    app.post(paths["update"])(guarded(stored_call(igate.update)))
    app.post(paths["steps"])(guarded(stored_call(igate.steps)))
    app.post(paths["lookup"])(guarded(lambda _r, raw: _json(igate.look_up(json_body(raw)))))

    def upload(request: Request, raw: bytes) -> Response:
        status, reply = igate.upload(request.headers.get("content-type", ""), raw)
        return _json(reply, status) if status != 200 else after(request, reply, True)
    app.post(paths["upload"])(guarded(upload))
    return igate
