"""The HTTP side of the desk: one method per endpoint, every failure classified
(SF-REPEATING-ERROR, SF-CAPTIVE-PORTAL).

Failures are :class:`SyncFailure` with a stable ``code``; ``kind`` says what the engine does
next: ``retry`` (network, 5xx, 429/503 with ``Retry-After``), ``ambiguous`` (the request may have
reached the server: ask ``GET /batches/{id}`` before re-sending), ``too_large`` (split,
SF-BATCH-TOO-LARGE), ``auth`` (stop the run, exit 30), ``refused`` (stop, a person must act:
exit 40), ``gone`` (pull cursor unknown: resync), ``internal`` (exit 50). httpx is imported here
only, never by the desk at start-up.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ccdesk import __version__
from sync import keys, protocol
from sync.failures import FailureKind

# The engine's short names for the kinds.
RETRY, AMBIGUOUS, TOO_LARGE = FailureKind.RETRY, FailureKind.AMBIGUOUS, FailureKind.TOO_LARGE
AUTH, REFUSED, GONE, INTERNAL = (FailureKind.AUTH, FailureKind.REFUSED, FailureKind.GONE,
                                 FailureKind.INTERNAL)
MAX_REPLY_BYTES = 16 * 1024 * 1024     # a compressed batch reply, decompressed
AUTH_CODES = frozenset({"revoked", "unknown_device", "bad_signature", "unauthenticated"})


class SyncFailure(Exception):
    """A failed exchange: ``code`` is stable (logs, ``sync status``), ``kind`` drives the engine."""

    def __init__(self, code: str, kind: FailureKind, *, http_status: int = 0,
                 retry_after: float | None = None, bytes_wire: int = 0) -> None:
        super().__init__(code)
        self.code, self.kind, self.http_status = code, kind, http_status
        self.retry_after, self.bytes_wire = retry_after, bytes_wire


@dataclass(frozen=True)
class Exchange:
    """A successful exchange: the decoded JSON and what it cost."""

    data: Any
    http_status: int
    bytes_sent: int
    bytes_received: int
    rtt_s: float


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(when.tzinfo)).total_seconds())


def timeouts(connect: float = 10.0, read: float = 60.0) -> httpx.Timeout:
    """Generous read timeouts: 64 KiB takes 16 s at 32 kbps."""
    return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


class SyncClient:
    """Talks to one upstream as one enrolled device (or anonymously, to enrol)."""

    def __init__(self, base_url: str, device_id: str = "", private_key: str = "", *,
                 timeout: httpx.Timeout | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.device_id = device_id
        self.private_key = private_key
        self.clock = clock or (lambda: datetime.now(UTC))
        # The server's clock minus ours, learnt from a ``clock_skew`` refusal (signing only).
        self.clock_offset = timedelta(0)
        # https is verified (certifi bundle); http only for loopback/LAN test setups.
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout or timeouts(),
                                 verify=True, follow_redirects=False,
                                 headers={"Accept-Encoding": "zstd, gzip",
                                          "User-Agent": f"ccdesk-sync/1 ccdesk/{__version__}"})
        # Bytes a small push pays on every request for nothing: ``*/*`` is what no Accept
        # means, and HTTP/1.1 keeps the connection alive without being asked.
        for name in ("Accept", "Connection"):
            self.http.headers.pop(name, None)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ---- endpoints ------------------------------------------------------------------------
    def enroll(self, code: str, public_key: str, demo: bool, commune: str = "") -> Exchange:
        # ``commune``: the server refuses a code issued for another commune before spending it.
        body = protocol.dumps({"code": code, "device_id": self.device_id,
                               "public_key": public_key, "demo": demo}
                              | ({"commune": commune} if commune else {}))
        return self._send("POST", "/devices/enroll", body, signed=False)

    def hello(self, desk_status: dict[str, int] | None = None,
              dictionaries: tuple[str, ...] = ()) -> Exchange:
        """``desk_status``: the desk's own counts (pending, oldest_pending_s, quarantined,
        conflicts), in the signed query, for the relay's ``district health``;
        ``dictionaries``: the compression dictionaries this desk has (the relay picks one)."""
        params = [f"{k}={int(v)}" for k, v in sorted((desk_status or {}).items())]
        if dictionaries:
            params.append("dicts=" + ",".join(dictionaries))
        query = "&".join(params)
        reply = self._send("GET", "/hello" + (f"?{query}" if query else ""))
        if not (isinstance(reply.data, dict) and reply.data.get("service")
                == protocol.SERVICE_NAME and "epoch" in reply.data):
            raise SyncFailure("captive_portal", RETRY, http_status=reply.http_status)
        return reply

    def post_batch(self, batch_id: str, wire: bytes, encoding: str,
                   dictionary: str | None = None, compact: bool = False) -> Exchange:
        """``dictionary``: the one ``wire`` was compressed with, named in the signed query.
        No ``Idempotency-Key``, ``X-Ccdesk-Digest`` or ``Content-Type`` (~170 B): the batch id
        is in the body, the body's sha256 is signed, and the relay reads only JSON.
        ``compact`` (a body of record schema 2 or later, to a relay that reads it): the
        signature in one ``Sig`` header, no ``User-Agent`` or ``Accept-Encoding`` (the hello
        carried them), no ``Content-Encoding`` when a dictionary implies zstd, and the reply
        compact, compressed with the same dictionary (docs/sync.md, "Compact records")."""
        digest = hashlib.sha256(wire).hexdigest()
        headers = {} if compact and dictionary else {"Content-Encoding": encoding}
        path = f"/batches?{protocol.Q_DICT}={dictionary}" if dictionary else "/batches"
        return self._checked_batch(self._send("POST", path, wire, headers=headers,
                                              ambiguous=True, compact=compact,
                                              reply_dictionary=dictionary if compact else None),
                                   batch_id, digest)

    def get_batch(self, batch_id: str, digest: str) -> Exchange | None:
        """The stored reply of a batch the server committed, or None if it never arrived."""
        try:
            return self._checked_batch(self._send("GET", f"/batches/{batch_id}"),
                                       batch_id, digest)
        except SyncFailure as failure:
            if failure.http_status == 404:
                return None
            raise

    def changes(self, cursor: int, limit: int = 500) -> Exchange:
        reply = self._send("GET", f"/changes?cursor={cursor}&limit={limit}")
        if not (isinstance(reply.data, dict) and reply.data.get("service")
                == protocol.SERVICE_NAME and isinstance(reply.data.get("changes"), list)):
            raise SyncFailure("captive_portal", RETRY, http_status=reply.http_status)
        return reply

    def issued_codes(self, after_seq: int, limit: int = 1000) -> Exchange:
        """Codes of the dossiers this device created after ``after_seq`` that the server holds."""
        reply = self._send("GET", f"/issued-codes?after_seq={after_seq}&limit={limit}")
        if not (isinstance(reply.data, dict) and reply.data.get("service")
                == protocol.SERVICE_NAME and isinstance(reply.data.get("codes"), list)):
            raise SyncFailure("captive_portal", RETRY, http_status=reply.http_status)
        return reply

    def file_status(self, sha256: str) -> Exchange:
        """How much of a file the relay has (docs/sync.md, "Files")."""
        return self._send("GET", f"/files/{sha256}")

    def file_chunk(self, sha256: str, offset: int, data: bytes) -> Exchange:
        """One chunk of a file at ``offset``; the reply is the relay's count after it. Never
        ambiguous: after any failure the desk asks the count again before going on."""
        return self._send("PATCH", f"/files/{sha256}?offset={offset}", data,
                          headers={"Content-Type": "application/offset+octet-stream"})

    def post_bundle(self, bundle: bytes) -> Exchange:
        return self._send("POST", "/bundles", bundle, ambiguous=True)

    # ---- plumbing -------------------------------------------------------------------------
    @staticmethod
    def _checked_batch(reply: Exchange, batch_id: str, digest: str) -> Exchange:
        if not protocol.is_batch_reply(reply.data, batch_id, digest):
            raise SyncFailure("captive_portal", RETRY, http_status=reply.http_status,
                              bytes_wire=reply.bytes_sent)
        return reply

    def _signed_headers(self, method: str, path_qs: str, body: bytes,
                        compact: bool = False) -> dict[str, str]:
        now = self.clock().astimezone(UTC) + self.clock_offset
        headers = (keys.compact_request_header(self.private_key, self.device_id, method,
                                               path_qs, body, now) if compact else None) \
            or keys.request_headers(self.private_key, self.device_id, method, path_qs, body,
                                    now)
        if self.clock_offset:       # diagnostics only; none means none was needed
            headers[protocol.H_CLOCK_OFFSET] = f"{self.clock_offset.total_seconds():.1f}"
        return headers

    def _learnt_clock(self, response: httpx.Response, content: bytes) -> bool:
        """True when the server refused our timestamp and told its time: sign again with the
        offset (a desk clock may be years off, F12; the server still sees a fresh stamp)."""
        if response.status_code != 401:
            return False
        try:
            data = protocol.loads(content)
            server_time = datetime.fromisoformat(data["server_time"])
        except (ValueError, KeyError, TypeError):
            return False
        if data.get("error") != "clock_skew" or data.get("service") != protocol.SERVICE_NAME:
            return False
        server_time = server_time if server_time.tzinfo else server_time.replace(tzinfo=UTC)
        self.clock_offset = server_time - self.clock().astimezone(UTC)
        return True

    def _send(self, method: str, path: str, body: bytes = b"", *,
              headers: dict[str, str] | None = None, signed: bool = True,
              ambiguous: bool = False, resign: bool = True, compact: bool = False,
              reply_dictionary: str | None = None) -> Exchange:
        request = self.http.build_request(method, protocol.API_PREFIX + path, content=body,
                                          headers=headers or {})
        if compact:
            for name in ("User-Agent", "Accept-Encoding"):
                request.headers.pop(name, None)
        if signed:
            request.headers.update(self._signed_headers(method, request.url.raw_path.decode(),
                                                        body, compact))
        started = time.monotonic()
        try:
            response = self.http.send(request)
            content = response.content
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise SyncFailure(_connect_code(exc), RETRY) from exc
        except httpx.TransportError as exc:
            # The request may have reached the server (reset, lost reply, read timeout).
            kind = AMBIGUOUS if ambiguous else RETRY
            code = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection_lost"
            raise SyncFailure(code, kind, bytes_wire=len(body)) from exc
        rtt = time.monotonic() - started
        sent = len(body)
        received = response.num_bytes_downloaded
        if signed and resign and self._learnt_clock(response, content):
            return self._send(method, path, body, headers=headers, ambiguous=ambiguous,
                              resign=False, compact=compact, reply_dictionary=reply_dictionary)
        if response.status_code >= 300:
            failure = _http_failure(response, content, sent)
            if ambiguous and failure.kind == RETRY and (response.status_code >= 500
                                                        or failure.code == "replayed"):
                failure.kind = AMBIGUOUS   # a 5xx may come after the commit: ask before re-sending
            raise failure
        try:
            if reply_dictionary and content[:4] == protocol.ZSTD_MAGIC:
                content = _dictionary_reply(content, reply_dictionary)
            data = protocol.loads(content)
        except (ValueError, EOFError, OSError) as exc:
            raise SyncFailure("captive_portal", RETRY, http_status=response.status_code,
                              bytes_wire=sent) from exc
        return Exchange(data, response.status_code, sent, received, rtt)


def _dictionary_reply(content: bytes, dictionary: str) -> bytes:
    """A compact batch reply compressed with the batch's dictionary, at most
    ``MAX_REPLY_BYTES`` once decompressed (ValueError for anything else)."""
    import zstandard

    try:
        return protocol.decompress(content, "zstd", MAX_REPLY_BYTES, dictionary)
    except zstandard.ZstdError as exc:
        raise ValueError("damaged compressed reply") from exc


def _connect_code(exc: Exception) -> str:
    text = str(exc).lower()
    if "name or service" in text or "nodename" in text or "name resolution" in text:
        return "dns"
    if "certificate" in text or "ssl" in text:
        return "tls"
    return "network_unavailable"


def _http_failure(response: httpx.Response, content: bytes, sent: int) -> SyncFailure:
    status = response.status_code
    try:
        body = protocol.loads(content)
        code = body.get("error") if isinstance(body, dict) else None
    except ValueError:
        body, code = None, None
    genuine = isinstance(body, dict) and body.get("service") == protocol.SERVICE_NAME
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status == 413:
        return SyncFailure("too_large", TOO_LARGE, http_status=status, bytes_wire=sent)
    if code == "replayed" and genuine:
        # The network delivered this signed request twice: sign afresh (a new nonce) and retry.
        return SyncFailure("replayed", RETRY, http_status=status, bytes_wire=sent)
    if status in (429, 502, 503, 504) or status >= 500:
        return SyncFailure(f"http_{status}", RETRY, http_status=status,
                           retry_after=retry_after, bytes_wire=sent)
    if 300 <= status < 400 or not genuine:
        # A redirect or a foreign error page: a portal or proxy in the way, not our server.
        return SyncFailure("captive_portal", RETRY, http_status=status, bytes_wire=sent)
    if status == 401 or code in AUTH_CODES:
        return SyncFailure(code or "unauthenticated", AUTH, http_status=status, bytes_wire=sent)
    if status == 410:
        return SyncFailure(code or "cursor_gone", GONE, http_status=status, bytes_wire=sent)
    if status == 404:
        return SyncFailure(code or "not_found", INTERNAL, http_status=status, bytes_wire=sent)
    if status == 403:
        return SyncFailure(code or "forbidden", REFUSED, http_status=status, bytes_wire=sent)
    return SyncFailure(code or f"http_{status}", INTERNAL, http_status=status, bytes_wire=sent)
