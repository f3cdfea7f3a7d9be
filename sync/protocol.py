"""The wire protocol shared by client and server (``/api/sync/v1``), see
``docs/design/sync-failures.md``.

Bodies are JSON (orjson), compressed with zstd or gzip (``Content-Encoding``). Requests of an
enrolled device are signed with its Ed25519 key over ``METHOD``, path with query, the sha256 of
the body as sent, a UTC timestamp and a random nonce; the server keeps only public keys. The
server refuses a timestamp outside its replay window (``clock_skew``, with its own time: the
client corrects its offset and signs again, so a desk clock years off still works,
SF-WRONG-CLOCK) and a nonce it has already seen inside the window (``replayed``), see
docs/relay-security.md.

Per-record results: ``applied`` | ``duplicate`` | ``conflict`` | ``rejected`` (with ``code`` and
``message``). A batch reply echoes ``batch_id`` and ``digest`` (the sha256 of the request body as
sent): a 2xx without that echo is a captive portal, never a success (SF-CAPTIVE-PORTAL).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from collections.abc import Iterable
from functools import cache
from typing import Any

import orjson

API_PREFIX = "/api/sync/v1"
API_VERSION = 1
SERVICE_NAME = "ccdesk-district"

ENCODINGS = ("zstd", "gzip", "identity")
ZSTD_LEVEL = 9          # perf-notes: zstd-9 ≈ 150 B/dossier vs gzip-6 170 B
# With a dictionary (sync/dictionaries), at level 15 (2–5 MB/s of JSON on one core): for a
# small batch (at most DICT_SMALL_RAW of JSON, ≈ 90 dossiers, ≤ 0.1 s), and for one of at most
# DICT_MAX_RAW (≈ 350 dossiers, 0.2–0.4 s) on a link slower than the batch cap (the desk sizes
# batches by measured throughput), where each byte costs more airtime than the CPU it took.
# Anything else, on a fast link, keeps plain zstd-9: as small at that size and 5× faster.
DICT_LEVEL = 15
DICT_SMALL_RAW = 256 * 1024
DICT_MAX_RAW = 1024 * 1024
Q_DICT = "dict"
# A push of at most this many rows (≈ 1,250 dossiers) goes in compact records (sync/compact.py)
# whatever the link: at ~0.1 ms of CPU a row on each side, at most ~0.5 s. A bigger backlog
# compacts only its small batches and those on a slow link, like the dictionary.
COMPACT_PUSH_ROWS = 5_000
# How long a desk may push without saying hello again, its first batch carrying ``expect``
# (sync/session.py); a relay that does not say it has no sessions.
SESSION_S = 3600         # the batch query naming the dictionary (signed with the path)
GZIP_LEVEL = 6

# Compressed bytes per batch the server prefers: a cap, not a size. The desk sizes each batch to
# take ``batch_seconds`` (8 s) at the throughput it just measured (32 kB at 32 kbps) and starts a
# desk without history at FIRST_BATCH_BYTES, so the cap only matters on fast links, where 64 KiB
# held loopback at 4,200-4,350 dossiers/s (a fixed cost per batch: two desk transactions, one
# relay transaction) and 256 KiB passes 5,000/s. The relay refuses beyond the max (413).
DEFAULT_PREFERRED_BATCH_BYTES = 256 * 1024
FIRST_BATCH_BYTES = 64 * 1024
DEFAULT_MAX_BATCH_BYTES = 2 * 1024 * 1024      # compressed bytes beyond which it answers 413
MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024      # zip-bomb guard on the server

H_DEVICE = "X-Ccdesk-Device"
H_TIME = "X-Ccdesk-Time"
H_SIGNATURE = "X-Ccdesk-Signature"
H_NONCE = "X-Ccdesk-Nonce"
H_CLOCK_OFFSET = "X-Ccdesk-Clock-Offset"   # seconds the client added to its clock (diagnostics)
REPLAY_WINDOW_S = 300   # a signed request is good this long either side of the server's clock
# The four signing values in one header (``device.time.nonce.signature``: the device's UUID
# as 22 base64url characters, the time as Unix milliseconds, a 16-character nonce): ~140 B
# instead of ~250 for the four ``X-Ccdesk-*`` headers. Sent on batches to a relay reading
# record schema 2 or later (it reads both forms); see docs/relay-security.md.
H_SIG = "Sig"
H_DIGEST = "X-Ccdesk-Digest"
H_IDEMPOTENCY = "Idempotency-Key"

# Per-record results.
APPLIED, DUPLICATE, CONFLICT, REJECTED = "applied", "duplicate", "conflict", "rejected"
RESULTS = (APPLIED, DUPLICATE, CONFLICT, REJECTED)

# Operations the server understands (``ccdesk/storage/outbox.py``).
OP_CREATE = "dossier.create"
OP_EVENT = "dossier.event"
OPS = (OP_CREATE, OP_EVENT)


def dumps(obj: Any) -> bytes:
    """JSON for the wire: compact, keys sorted so digests are reproducible."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def loads(raw: bytes | str) -> Any:
    """Parse JSON from the wire."""
    return orjson.loads(raw)


def sha256_hex(data: bytes) -> str:
    """Hex sha256, the body digest echoed by the server."""
    return hashlib.sha256(data).hexdigest()


def compress(raw: bytes, encoding: str, dictionary: str | None = None) -> bytes:
    """Compress a body for ``Content-Encoding: encoding`` (zstd: with the named dictionary of
    :mod:`sync.dictionaries` when given)."""
    if encoding == "zstd":
        import zstandard

        if dictionary:
            return zstandard.ZstdCompressor(level=DICT_LEVEL,
                                            dict_data=_compression_dict(dictionary)
                                            ).compress(raw)
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(raw)
    if encoding == "gzip":
        return gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0)
    if encoding == "identity":
        return raw
    raise ValueError(f"unknown encoding {encoding!r}")


@cache
def _compression_dict(name: str) -> Any:
    """The named dictionary digested once for ``DICT_LEVEL``: a compressor given the raw
    dictionary digests it again for every body (~4 ms, far more than a small batch's own
    compression). A copy of its own, so the shared one (decompression) is left as it is;
    zstd shares a digested dictionary between compressors and threads as it is."""
    import zstandard

    from sync import dictionaries

    prepared = zstandard.ZstdCompressionDict(dictionaries.load(name).as_bytes())
    prepared.precompute_compress(level=DICT_LEVEL)
    return prepared


def decompress(body: bytes, encoding: str, limit: int = MAX_DECOMPRESSED_BYTES,
               dictionary: str | None = None) -> bytes:
    """Undo :func:`compress`, refusing output beyond ``limit`` bytes. ``dictionary`` must be
    the one the body was compressed with (zstd refuses a frame naming another one)."""
    encoding = (encoding or "identity").strip().lower()
    if dictionary and encoding != "zstd":
        raise ValueError("a dictionary goes with zstd only")
    if encoding == "zstd":
        import zstandard

        if dictionary:
            from sync import dictionaries

            decompressor = zstandard.ZstdDecompressor(dict_data=dictionaries.load(dictionary))
        else:
            decompressor = zstandard.ZstdDecompressor()
        out = _read_limited(decompressor.stream_reader(body), limit)
    elif encoding == "gzip":
        import zlib

        d = zlib.decompressobj(wbits=31)
        out = d.decompress(body, limit + 1)
    elif encoding in ("identity", ""):
        out = body
    else:
        raise ValueError(f"unknown encoding {encoding!r}")
    if len(out) > limit:
        raise ValueError("body too large once decompressed")
    return out


def _read_limited(reader: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    with reader:
        while total <= limit:
            chunk = reader.read(min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    return b"".join(chunks)


def signing_message(method: str, path_qs: str, body_digest: str, timestamp: str,
                    device_id: str, nonce: str = "") -> bytes:
    """The bytes a device signs for one request."""
    return "\n".join((method.upper(), path_qs, body_digest, timestamp, device_id,
                      nonce)).encode()


def b64(data: bytes) -> str:
    """Unpadded base64url (keys and signatures in headers)."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    """Inverse of :func:`b64`."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def batch_body(batch_id: str, device_id: str, commune: str, demo: bool,
               records: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON object of ``POST /batches``; records are ``record_of`` outputs in seq order."""
    return {"batch_id": batch_id, "device_id": device_id, "commune": commune, "demo": demo,
            "first_seq": records[0]["seq"] if records else 0,
            "last_seq": records[-1]["seq"] if records else 0,
            "records": records}


def record_of(seq: int, mutation_id: str, op: str, entity_id: str, client_time: str,
              payload_json: str | bytes) -> dict[str, Any]:
    """One outbox row as sent. The payload is embedded as already-canonical JSON text."""
    return {"seq": seq, "id": mutation_id, "op": op, "entity_id": entity_id, "t": client_time,
            "payload": orjson.Fragment(payload_json)}


def record_json(seq: int, mutation_id: str, op: str, entity_id: str, client_time: str,
                payload_json: str | bytes) -> bytes:
    """:func:`record_of` already serialised, byte for byte (keys sorted)."""
    return records_json([(seq, mutation_id, op, entity_id, client_time, payload_json)])[1:-1]


def records_json(rows: Iterable[tuple[int, str, str, str, str, str | bytes]]) -> bytes:
    """The JSON array of :func:`record_of` for outbox rows ``(seq, mutation id, op, entity id,
    client time, payload JSON)``, byte for byte as sorting each record's keys would write it,
    in one ``orjson.dumps``: each record's keys are inserted in sorted order and its payload,
    already canonical, is embedded as it is. A push of thousands of rows spent its time in
    serialising them one by one (five calls a record)."""
    fragment = orjson.Fragment
    return orjson.dumps([{"entity_id": entity_id, "id": mutation_id, "op": op,
                          "payload": fragment(payload), "seq": seq, "t": client_time}
                         for seq, mutation_id, op, entity_id, client_time, payload in rows])


def batch_json(batch_id: str, device_id: str, commune: str, demo: bool, seen_cursor: int,
               first_seq: int, last_seq: int, records: list[bytes] | bytes,
               expect: tuple[str, int] | None = None) -> bytes:
    """The serialised ``POST /batches`` body from :func:`record_json` outputs (or the array of
    :func:`records_json`); ``expect`` (epoch, highest acknowledged seq) when the run skipped
    ``/hello`` (sync/session.py)."""
    array = records if isinstance(records, bytes) else b"[" + b",".join(records) + b"]"
    body: dict[str, Any] = {
        "batch_id": batch_id, "device_id": device_id, "commune": commune, "demo": demo,
        "seen_cursor": seen_cursor, "first_seq": first_seq, "last_seq": last_seq,
        "records": orjson.Fragment(array)}
    if expect is not None:
        body["expect"] = {"epoch": expect[0], "through": expect[1]}
    return dumps(body)


# A compact reply (to a batch of record schema 2 or later) echoes this much of the digest:
# 64 bits no captive portal can guess, the rest is bytes on a small push.
COMPACT_DIGEST_CHARS = 16
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def is_batch_reply(reply: Any, batch_id: str, digest: str) -> bool:
    """True only for a genuine server reply to this batch (SF-CAPTIVE-PORTAL: portals say 200
    too): the batch id and digest echoed, or (a compact reply) the digest's first
    ``COMPACT_DIGEST_CHARS``, whose body named the batch id."""
    if not (isinstance(reply, dict) and reply.get("service") == SERVICE_NAME):
        return False
    if reply.get("v", 1) != 1:
        return (reply.get("digest") == digest[:COMPACT_DIGEST_CHARS]
                and isinstance(reply.get("results", []), list))
    return (reply.get("batch_id") == batch_id and reply.get("digest") == digest
            and isinstance(reply.get("results"), list))
