"""The district server's HTTP API (FastAPI), under ``/api/sync/v1`` plus a district-staff API.

Bodies are parsed with orjson rather than pydantic models (pydantic costs 13–28 % of a batch
apply, perf-notes.md); the pydantic models below only document the schema in OpenAPI.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from sync import protocol
from sync.protocol import API_PREFIX
from sync.server.store import Device, DistrictError, DistrictStore, utcnow

DISTRICT_PREFIX = "/api/district/v1"


class EnrollRequest(BaseModel):
    code: str
    device_id: str
    public_key: str
    demo: bool = False


class Record(BaseModel):
    seq: int
    id: str
    op: str
    entity_id: str
    t: str
    payload: dict[str, Any]


class BatchRequest(BaseModel):
    batch_id: str
    device_id: str
    commune: str
    demo: bool = False
    seen_cursor: int = 0
    first_seq: int
    last_seq: int
    records: list[Record]


class RecordResult(BaseModel):
    seq: int | None
    id: str | None
    result: str
    code: str | None = None
    message: str | None = None


class BatchReply(BaseModel):
    service: str
    batch_id: str
    digest: str
    epoch: str
    server_time: str
    received_through_seq: int
    results: list[RecordResult]


class ChangeRequest(BaseModel):
    kind: str
    status: str = ""
    data: dict[str, Any] = {}


def _error(err: DistrictError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"service": protocol.SERVICE_NAME, "error": err.code,
                         "message": err.message}, status_code=err.status, headers=headers)


def _reply(request: Request, data: Any, status: int = 200) -> Response:
    """JSON, compressed with zstd when the client accepts it (replies count on 2G too)."""
    raw = protocol.dumps(data)
    accepted = request.headers.get("accept-encoding", "")
    if "zstd" in accepted and len(raw) > 512:
        return Response(protocol.compress(raw, "zstd"), status_code=status,
                        media_type="application/json", headers={"Content-Encoding": "zstd"})
    return Response(raw, status_code=status, media_type="application/json")


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


def create_app(store: DistrictStore) -> FastAPI:
    """The ASGI application over ``store``."""
    app = FastAPI(title="ccdesk district server", version=str(protocol.API_VERSION),
                  description="Reference upstream for ccdesk commune desks.",
                  lifespan=_lifespan)

    @app.exception_handler(DistrictError)
    async def district_error(_request: Request, err: DistrictError) -> JSONResponse:
        return _error(err)

    async def authenticated(request: Request, body: bytes) -> Device:
        device_id = request.headers.get(protocol.H_DEVICE, "")
        signature = request.headers.get(protocol.H_SIGNATURE, "")
        stamp = request.headers.get(protocol.H_TIME, "")
        if not device_id or not signature:
            raise DistrictError(401, "unauthenticated")
        raw_path = (request.scope.get("raw_path") or request.url.path.encode()).decode()
        query = request.scope.get("query_string", b"").decode()
        path_qs = raw_path + (f"?{query}" if query else "")
        message = protocol.signing_message(request.method, path_qs,
                                           hashlib.sha256(body).hexdigest(), stamp, device_id)
        return await run_in_threadpool(store.authenticate, device_id, message, signature)

    def decoded(request: Request, body: bytes) -> Any:
        try:
            raw = protocol.decompress(body, request.headers.get("content-encoding", ""))
            return protocol.loads(raw)
        except ValueError as exc:
            if "too large" in str(exc):
                raise DistrictError(413, "too_large") from exc
            raise DistrictError(400, "bad_body", "body is not valid compressed JSON") from exc

    @app.get(API_PREFIX + "/hello")
    async def hello(request: Request) -> Response:
        device = await authenticated(request, b"")
        return _reply(request, await run_in_threadpool(store.hello, device))

    @app.post(API_PREFIX + "/devices/enroll",
              openapi_extra={"requestBody": {"content": {"application/json": {
                  "schema": EnrollRequest.model_json_schema()}}}})
    async def enroll(request: Request) -> Response:
        data = decoded(request, await request.body())
        try:
            req = EnrollRequest.model_validate(data)
        except ValueError as exc:
            raise DistrictError(400, "bad_request") from exc
        device = await run_in_threadpool(store.enroll, req.code, req.device_id,
                                         req.public_key, req.demo)
        return _reply(request, {"service": protocol.SERVICE_NAME, "device_id": device.device_id,
                                "commune": device.commune_code, "epoch": store.epoch,
                                "server_public_key": store.public_key,
                                "server_time": utcnow().isoformat() + "Z"})

    @app.post(API_PREFIX + "/batches", response_model=BatchReply,
              openapi_extra={"requestBody": {"content": {"application/json": {
                  "schema": BatchRequest.model_json_schema()}}}})
    async def post_batch(request: Request) -> Response:
        length = int(request.headers.get("content-length") or 0)
        if length > store.max_batch_bytes:
            # Refuse before reading: the client halves the batch (SF-BATCH-TOO-LARGE).
            return _error(DistrictError(413, "too_large"))
        body = await request.body()
        if len(body) > store.max_batch_bytes:
            return _error(DistrictError(413, "too_large"))
        device = await authenticated(request, body)
        digest = hashlib.sha256(body).hexdigest()
        claimed = request.headers.get(protocol.H_DIGEST, "")
        if claimed and claimed != f"sha256={digest}":
            raise DistrictError(400, "digest_mismatch", "body damaged in transit")
        data = decoded(request, body)
        if isinstance(data, dict) and data.get("device_id") not in (None, device.device_id):
            raise DistrictError(403, "foreign_device")
        key = request.headers.get(protocol.H_IDEMPOTENCY)
        if isinstance(data, dict) and key and key != data.get("batch_id"):
            raise DistrictError(400, "bad_batch", "Idempotency-Key must equal batch_id")
        return _reply(request, await run_in_threadpool(store.apply_batch, device, data, digest))

    @app.get(API_PREFIX + "/batches/{batch_id}", response_model=BatchReply)
    async def get_batch(batch_id: str, request: Request) -> Response:
        device = await authenticated(request, b"")
        reply = await run_in_threadpool(store.stored_batch, device, batch_id)
        if reply is None:
            raise DistrictError(404, "unknown_batch")
        return _reply(request, reply)

    @app.get(API_PREFIX + "/issued-codes")
    async def issued_codes(request: Request, after_seq: int = 0, limit: int = 1000) -> Response:
        device = await authenticated(request, b"")
        return _reply(request, await run_in_threadpool(store.issued_codes, device, after_seq,
                                                       limit))

    @app.get(API_PREFIX + "/changes")
    async def changes(request: Request, cursor: int = 0, limit: int = 500) -> Response:
        device = await authenticated(request, b"")
        return _reply(request, await run_in_threadpool(store.changes, device, cursor,
                                                        max(1, min(limit, 2000))))

    @app.post(API_PREFIX + "/bundles")
    async def post_bundle(request: Request) -> Response:
        from sync.bundle import BundleError, import_bundle

        body = await request.body()
        await authenticated(request, body)
        try:
            ack = await run_in_threadpool(import_bundle, store, body)
        except BundleError as exc:
            raise DistrictError(400, exc.code, exc.message) from exc
        return Response(ack, media_type="application/json")

    @app.post(DISTRICT_PREFIX + "/dossiers/{code}/changes",
              openapi_extra={"requestBody": {"content": {"application/json": {
                  "schema": ChangeRequest.model_json_schema()}}}})
    async def record_change(code: str, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not await run_in_threadpool(
                store.check_admin_token, auth[7:]):
            raise DistrictError(401, "unauthenticated")
        try:
            req = ChangeRequest.model_validate(protocol.loads(await request.body()))
        except ValueError as exc:
            raise DistrictError(400, "bad_request") from exc
        return _reply(request, await run_in_threadpool(store.record_change, code, req.kind,
                                                        req.status, req.data))

    return app
