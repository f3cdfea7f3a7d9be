"""The relay's routes: the device API under ``/api/sync/v1`` and the district-staff API.

Each route only wires a dependency (who is asking, under which body limit) to one store call.
Bodies are parsed with orjson rather than pydantic models (pydantic costs 13–28 % of a batch
apply, see docs/sync.md); the models below document the schema in OpenAPI, and validate the
small enrolment and change bodies.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as Path_
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from sync import compact, dictionaries, protocol
from sync.protocol import API_PREFIX
from sync.server.auth import Signed, admin, get_limits, get_store, signed
from sync.server.body import (
    Limits,
    batch_dictionary,
    check_length,
    decode_json,
    decompressed,
    gc_paused,
    may_list_files,
    parse_json,
    read_body,
)
from sync.server.store import MAX_INT64, DistrictError, DistrictStore, utcnow

DISTRICT_PREFIX = "/api/district/v1"
# Numbers that reach SQL stay inside BIGINT (a 2**70 cursor was a 500).
Seq = Annotated[int, Query(ge=0, le=MAX_INT64)]
Page = Annotated[int, Query(ge=-MAX_INT64, le=MAX_INT64)]


class EnrollRequest(BaseModel):
    code: str = Field(max_length=64)
    device_id: str = Field(max_length=64)
    public_key: str = Field(max_length=64)
    demo: bool = False
    commune: str = Field("", max_length=5)    # the desk's own commune, when it has one


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
    kind: str = Field(max_length=20)
    status: str = Field("", max_length=40)
    data: dict[str, Any] = {}


def reply(request: Request, data: Any, status: int = 200) -> Response:
    """JSON, compressed with zstd when the client accepts it (replies count on 2G too)."""
    raw = protocol.dumps(data)
    accepted = request.headers.get("accept-encoding", "")
    if "zstd" in accepted and len(raw) > 512:
        return Response(protocol.compress(raw, "zstd"), status_code=status,
                        media_type="application/json", headers={"Content-Encoding": "zstd"})
    return Response(raw, status_code=status, media_type="application/json")


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return {"requestBody": {"content": {"application/json": {
        "schema": model.model_json_schema()}}}}


async def _small_json(request: Request, limits: Limits) -> Any:
    """An unsigned small body (enrolment), refused on its length before it is read."""
    check_length(request, limits.max_small_bytes)
    body = await read_body(request, limits.max_small_bytes, limits.idle_timeout_s)
    return decode_json(body, request.headers.get("content-encoding", ""),
                       limits.max_small_bytes)


Store = Annotated[DistrictStore, Depends(get_store)]
Small = Annotated[Limits, Depends(get_limits)]
NoBody = Annotated[Signed, Depends(signed(lambda _limits: 0))]
BatchBody = Annotated[Signed, Depends(signed(lambda limits: limits.max_batch_bytes))]
BundleBody = Annotated[Signed, Depends(signed(lambda limits: limits.max_bundle_bytes))]
ChunkBody = Annotated[Signed, Depends(signed(lambda limits: limits.max_file_chunk_bytes))]
FileName = Annotated[str, Path_(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$")]

sync_router = APIRouter(prefix=API_PREFIX)
district_router = APIRouter(prefix=DISTRICT_PREFIX)


Count = Annotated[int | None, Query(ge=0, le=2**31)]


Names = Annotated[str, Query(max_length=200)]


@sync_router.get("/hello")
async def hello(request: Request, store: Store, limits: Small, auth: NoBody,
                pending: Count = None,
                oldest_pending_s: Count = None, quarantined: Count = None,
                conflicts: Count = None, dicts: Names = "") -> Response:
    # The desk's own counts, in the signed query, kept for ``district health``.
    status = {k: v for k, v in (("pending", pending), ("oldest_pending_s", oldest_pending_s),
                                ("quarantined", quarantined), ("conflicts", conflicts))
              if v is not None}
    answer = await run_in_threadpool(store.hello, auth.device, status or None)
    # The dictionaries the desk has (sync/dictionaries): the relay names the one to use.
    chosen = dictionaries.choose([n for n in dicts.split(",") if dictionaries.NAME.fullmatch(n)])
    if chosen:
        answer["dictionary"] = chosen
    # Whether this relay takes files, and in chunks of at most how much (docs/sync.md,
    # "Files"): a desk sends none to a relay that does not say so.
    if store.files_dir is not None:
        answer["limits"]["max_file_chunk_bytes"] = limits.max_file_chunk_bytes
    # The highest record schema this relay reads (sync/compact.py); with it, batches may use
    # the compact signing header and leave out what a dictionary implies.
    answer["records"] = compact.REVISION
    return reply(request, answer)


@sync_router.post("/devices/enroll", openapi_extra=_schema(EnrollRequest))
async def enroll(request: Request, store: Store, limits: Small) -> Response:
    try:
        req = EnrollRequest.model_validate(await _small_json(request, limits))
    except ValidationError as exc:
        raise DistrictError(400, "bad_request") from exc
    device = await run_in_threadpool(store.enroll, req.code, req.device_id, req.public_key,
                                     req.demo, req.commune)
    # ``commune`` is the code's commune: a desk set up for another one refuses the enrolment.
    return reply(request, {"service": protocol.SERVICE_NAME, "device_id": device.device_id,
                           "commune": device.commune_code, "epoch": store.epoch,
                           "server_public_key": store.public_key,
                           "server_time": utcnow().isoformat() + "Z"})


@sync_router.post("/batches", response_model=BatchReply, openapi_extra=_schema(BatchRequest))
async def post_batch(request: Request, store: Store, limits: Small, auth: BatchBody
                     ) -> Response:
    digest = hashlib.sha256(auth.body).hexdigest()
    claimed = request.headers.get(protocol.H_DIGEST, "")
    if claimed and claimed != f"sha256={digest}":
        raise DistrictError(400, "digest_mismatch", "body damaged in transit")
    named = request.query_params.get(protocol.Q_DICT)
    # A body compressed with a dictionary is zstd: the header is not needed to say so.
    encoding = request.headers.get("content-encoding", "zstd" if named is not None else "")
    dictionary = batch_dictionary(auth.body, encoding, named)
    raw = decompressed(auth.body, encoding, limits.max_decompressed_bytes, dictionary)
    # Everything the batch's JSON becomes is freed before the collector runs again.
    with gc_paused:
        return await _applied_batch(request, store, auth, raw, digest, dictionary)


async def _applied_batch(request: Request, store: DistrictStore, auth: Signed, raw: bytes,
                         digest: str, dictionary: str | None) -> Response:
    data = parse_json(raw)
    schema = data.get(compact.SCHEMA_KEY, 1) if isinstance(data, dict) else 1
    if schema != 1:
        data = expanded_batch(data)
    if isinstance(data, dict) and data.get("device_id") not in (None, auth.device.device_id):
        raise DistrictError(403, "foreign_device")
    key = request.headers.get(protocol.H_IDEMPOTENCY)
    if isinstance(data, dict) and key and key != data.get("batch_id"):
        raise DistrictError(400, "bad_batch", "Idempotency-Key must equal batch_id")
    answer = await run_in_threadpool(store.apply_batch, auth.device, data, digest,
                                     files_listed=may_list_files(raw))
    if schema == 1:
        return reply(request, answer)
    return compact_reply(answer, dictionary)


def expanded_batch(data: dict[str, Any]) -> dict[str, Any]:
    """A compact batch body as the schema-1 body the store applies (sync/compact.py)."""
    try:
        return compact.expand_body(data)
    except compact.UnknownSchema as exc:
        raise DistrictError(400, "unknown_schema", str(exc)) from exc
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise DistrictError(400, "bad_batch", "malformed compact batch") from exc


def compact_reply(answer: dict[str, Any], dictionary: str | None) -> Response:
    """The reply to a compact batch (docs/sync.md, "Compact records"): the applied and
    duplicate seqs as ranges, the other results in full, the digest's first characters;
    compressed with the batch's dictionary when it named one (then without
    ``Content-Encoding``: the desk knows), and no ``Content-Type`` (the desk reads JSON)."""
    raw = protocol.dumps(compact.compact_reply(answer))
    if dictionary:
        return Response(protocol.compress(raw, "zstd", dictionary), media_type=None)
    return Response(raw, media_type=None)


@sync_router.get("/batches/{batch_id}", response_model=BatchReply)
async def get_batch(batch_id: str, request: Request, store: Store, auth: NoBody) -> Response:
    stored = await run_in_threadpool(store.stored_batch, auth.device, batch_id)
    if stored is None:
        raise DistrictError(404, "unknown_batch")
    return reply(request, stored)


@sync_router.get("/issued-codes")
async def issued_codes(request: Request, store: Store, auth: NoBody,
                       after_seq: Seq = 0, limit: Page = 1000) -> Response:
    return reply(request, await run_in_threadpool(store.issued_codes, auth.device, after_seq,
                                                  max(1, min(limit, 5000))))


@sync_router.get("/changes")
async def changes(request: Request, store: Store, auth: NoBody,
                  cursor: Seq = 0, limit: Page = 500) -> Response:
    return reply(request, await run_in_threadpool(store.changes, auth.device, cursor,
                                                  max(1, min(limit, 2000))))


@sync_router.post("/bundles")
async def post_bundle(store: Store, limits: Small, auth: BundleBody) -> Response:
    from sync.bundle import BundleError
    from sync.server.bundles import import_bundle

    try:
        ack = await run_in_threadpool(import_bundle, store, auth.body,
                                      max_records_bytes=limits.max_decompressed_bytes)
    except BundleError as exc:
        raise DistrictError(400, exc.code, exc.message) from exc
    return Response(ack, media_type="application/json")


@sync_router.get("/files/{sha256}")
async def file_status(sha256: FileName, request: Request, store: Store, auth: NoBody
                      ) -> Response:
    """How much of a file has arrived (docs/sync.md, "Files"): where the desk resumes."""
    return reply(request, await run_in_threadpool(store.files.status, auth.device, sha256))


@sync_router.patch("/files/{sha256}")
async def file_chunk(sha256: FileName, request: Request, store: Store, auth: ChunkBody,
                     offset: Seq) -> Response:
    """One chunk of a file at ``offset`` (signed like every request, bounded like every
    body); the last one is verified against the name before the file is kept."""
    return reply(request, await run_in_threadpool(store.files.write_chunk, auth.device, sha256,
                                                  offset, auth.body))


@district_router.get("/files/{sha256}")
async def serve_file(sha256: FileName, store: Store, exp: Seq, sig: Annotated[
        str, Query(max_length=64)]) -> Response:
    """A complete file, for the upstream that follows a URL from a forwarded snapshot: the
    URL's expiry and HMAC are the credential (sync/server/files.py)."""
    path, mime = await run_in_threadpool(store.files.served, sha256, exp, sig, utcnow())
    return FileResponse(path, media_type=mime)


@district_router.post("/dossiers/{code}/changes", openapi_extra=_schema(ChangeRequest))
async def record_change(code: str, request: Request, limits: Small,
                        store: Annotated[DistrictStore, Depends(admin)]) -> Response:
    try:
        req = ChangeRequest.model_validate(await _small_json(request, limits))
    except ValidationError as exc:
        raise DistrictError(400, "bad_request") from exc
    return reply(request, await run_in_threadpool(store.record_change, code, req.kind,
                                                  req.status, req.data))
