"""Request bodies under limits (docs/relay-security.md, "Body limits").

A body is refused on its ``Content-Length`` before a byte of it is read, then read as a stream
that stops at the limit (a chunked upload has no length to trust), with an idle timeout between
chunks so a stalled client cannot hold a worker; decompression stops at its own limit. Nothing is
decompressed before the request's signature has been checked (see :mod:`sync.server.auth`).
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any

import zstandard
from fastapi import Request
from starlette.requests import ClientDisconnect

from sync import dictionaries, protocol
from sync.server.store import DistrictError


@dataclass(frozen=True)
class Limits:
    """Byte limits per kind of request and the idle timeout while a body arrives."""

    max_batch_bytes: int = protocol.DEFAULT_MAX_BATCH_BYTES
    max_bundle_bytes: int = 64 * 1024 * 1024
    max_small_bytes: int = 64 * 1024          # enrolment, a district change
    max_file_chunk_bytes: int = 256 * 1024    # one chunk of a file (sync/server/files.py)
    max_decompressed_bytes: int = protocol.MAX_DECOMPRESSED_BYTES
    idle_timeout_s: float = 60.0              # 64 KiB takes 16 s at 32 kbps: a chunk is smaller


def check_length(request: Request, limit: int) -> None:
    """Refuse on the declared length alone: 413 beyond ``limit``, 400 when it is not a number."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    if not declared.isdigit():
        raise DistrictError(400, "bad_body", "Content-Length is not a number")
    if int(declared) > limit:
        raise DistrictError(413, "too_large")


async def read_body(request: Request, limit: int, idle_timeout_s: float) -> bytes:
    """The body, read chunk by chunk and refused (413) as soon as it passes ``limit``; 408 when
    no chunk arrives for ``idle_timeout_s``."""
    chunks: list[bytes] = []
    total = 0
    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), idle_timeout_s)
        except StopAsyncIteration:
            break
        except TimeoutError as exc:
            raise DistrictError(408, "body_timeout", "the body stopped arriving") from exc
        except ClientDisconnect as exc:   # nobody to answer; not an error of the relay's
            raise DistrictError(400, "disconnected", "the client went away") from exc
        total += len(chunk)
        if total > limit:
            raise DistrictError(413, "too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def batch_dictionary(body: bytes, encoding: str, named: str | None) -> str | None:
    """The dictionary a signed batch names (``?dict=``, covered by the signature), checked
    against the one its zstd frame was compressed with, before anything is decompressed: 400
    ``unknown_dictionary`` for a name this relay lacks, 400 ``dictionary_mismatch`` when the
    frame says another (or names one the query does not)."""
    if named is not None and named not in dictionaries.available():
        raise DistrictError(400, "unknown_dictionary", "this relay has no such dictionary")
    if (encoding or "").strip().lower() != "zstd":
        if named is not None:
            raise DistrictError(400, "dictionary_mismatch", "a dictionary goes with zstd only")
        return None
    try:
        frame_dict = zstandard.get_frame_parameters(body).dict_id
    except zstandard.ZstdError as exc:
        raise DistrictError(400, "bad_body", "body is not valid compressed JSON") from exc
    expected = dictionaries.KNOWN[named] if named is not None else 0
    if frame_dict != expected:
        raise DistrictError(400, "dictionary_mismatch",
                            "the body was not compressed with the dictionary it names")
    return named


def decode_json(body: bytes, encoding: str, limit: int, dictionary: str | None = None) -> Any:
    """Decompress (at most ``limit`` bytes out, with ``dictionary`` when the batch named one)
    and parse: 400 for anything malformed (a bad gzip or zstd stream, invalid JSON, an integer
    beyond 64 bits), 413 beyond the limit."""
    return parse_json(decompressed(body, encoding, limit, dictionary))


def decompressed(body: bytes, encoding: str, limit: int, dictionary: str | None = None) -> bytes:
    """The body's JSON text (see :func:`decode_json`)."""
    try:
        return protocol.decompress(body, encoding, limit, dictionary)
    except ValueError as exc:
        if "too large" in str(exc):
            raise DistrictError(413, "too_large") from exc
        raise DistrictError(400, "bad_body", "body is not valid compressed JSON") from exc
    except (zlib.error, zstandard.ZstdError, EOFError, OSError) as exc:
        raise DistrictError(400, "bad_body", "body is not valid compressed JSON") from exc


def parse_json(raw: bytes) -> Any:
    """Parsed JSON text, 400 when it is not JSON."""
    try:
        return protocol.loads(raw)
    except ValueError as exc:
        raise DistrictError(400, "bad_body", "body is not valid JSON") from exc


def may_list_files(raw: bytes) -> bool:
    """Whether a batch's JSON text may hold a ``files`` key (a record referencing a scan,
    sync/server/filerefs.py). A key is written either as it is or with a ``\\u`` escape (JSON
    escapes no letter otherwise), so text with neither holds none, and the batch's thousands
    of records need no looking into (a memory search of a few milliseconds instead)."""
    # A lone backslash is a memchr; most batches have none, so the slower search is skipped.
    return b'"files"' in raw or (b"\\" in raw and b"\\u" in raw)


class _GcPause:
    """The cyclic garbage collector off while batches are parsed and applied: a batch's
    hundreds of thousands of new objects (freed by reference counting: JSON has no cycles)
    would otherwise have it walk them again and again. Concurrent batches share one pause;
    the collector comes back when the last one ends, if it was on before the first, and at
    the latest when one ends after ``MAX_PAUSE_S`` (a relay never idle between batches must
    still collect the cycles other work leaves)."""

    MAX_PAUSE_S = 2.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._paused = False
        self._since = 0.0
        self._was_enabled = True

    def __enter__(self) -> None:
        with self._lock:
            self._holders += 1
            if self._holders == 1 and not self._paused:
                self._was_enabled, self._paused = gc.isenabled(), True
                self._since = time.monotonic()
                gc.disable()

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._holders -= 1
            if self._paused and (self._holders == 0
                                 or time.monotonic() - self._since > self.MAX_PAUSE_S):
                self._paused = False
                if self._was_enabled:
                    gc.enable()


gc_paused = _GcPause()
