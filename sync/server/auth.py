"""Who is asking: FastAPI dependencies for signed device requests and the district admin token.

Order matters (docs/relay-security.md): everything that can be judged from the headers is
judged first (declared length, presence and form of the signing headers, the timestamp window,
the device), then the body is read under its limit, then the signature over its digest is
checked and the nonce recorded. Only then may a route decompress or parse the body.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from sync import keys, protocol
from sync.server.body import Limits, check_length, read_body
from sync.server.store import TOKEN, Device, DistrictError, DistrictStore, utcnow

NONCE = re.compile(r"[A-Za-z0-9_\-]{16,64}")
USER_AGENT = re.compile(r"[ -~]{1,80}")            # printable ASCII, short: shown by health
SIGNATURE = re.compile(r"[A-Za-z0-9_\-]{86}")    # 64 bytes, base64url unpadded


@dataclass(frozen=True)
class Signed:
    """A request whose signature, timestamp and nonce were checked, with its raw body."""

    device: Device
    body: bytes


def get_store(request: Request) -> DistrictStore:
    return request.app.state.store


def get_limits(request: Request) -> Limits:
    return request.app.state.limits


def signed(limit_of: Callable[[Limits], int]) -> Callable[[Request], Awaitable[Signed]]:
    """A dependency: the request's device and body, its body at most ``limit_of(limits)``."""

    async def dependency(request: Request) -> Signed:
        store, limits = get_store(request), get_limits(request)
        limit = limit_of(limits)
        check_length(request, limit)
        device_id, stamp, nonce, signature = _signing_headers(request)
        when = _check_window(stamp, store)
        device = await run_in_threadpool(store.device, device_id)
        body = await read_body(request, limit, limits.idle_timeout_s) if limit else b""
        message = protocol.signing_message(request.method, _path_qs(request),
                                           hashlib.sha256(body).hexdigest(), stamp,
                                           device_id, nonce)
        if not keys.verify(device.public_key, message, signature):
            raise DistrictError(401, "bad_signature")
        if device.status != "active":
            raise DistrictError(401, "revoked")
        await run_in_threadpool(store.remember_nonce, device_id, nonce,
                                timedelta(seconds=store.replay_window_s),
                                _seen(request, when))
        return Signed(device, body)

    return dependency


def _signing_headers(request: Request) -> tuple[str, str, str, str]:
    """Device id, timestamp, nonce and signature, each in its expected form, or a 401 (no
    header value reaches the database unless it has the form of an id)."""
    headers = request.headers
    compact = headers.get(protocol.H_SIG)
    if compact is not None:
        parsed = keys.parse_compact_header(compact)
        if parsed is None:
            raise DistrictError(401, "unauthenticated")
        values = parsed
    else:
        values = tuple(headers.get(name, "") for name in (
            protocol.H_DEVICE, protocol.H_TIME, protocol.H_NONCE, protocol.H_SIGNATURE))
    device_id, stamp, nonce, signature = values
    if not (TOKEN.fullmatch(device_id) and len(stamp) <= 40 and NONCE.fullmatch(nonce)
            and SIGNATURE.fullmatch(signature)):
        raise DistrictError(401, "unauthenticated")
    return device_id, stamp, nonce, signature


def _seen(request: Request, when: datetime) -> dict[str, object]:
    """What ``district health`` shows of a signed request: the desk's version, and its clock's
    offset (server minus desk: the stamp's lag plus the offset the client corrected by)."""
    try:
        corrected = float(request.headers.get(protocol.H_CLOCK_OFFSET, "0"))
    except ValueError:
        corrected = 0.0
    if not abs(corrected) < 1e10:   # also NaN
        corrected = 0.0
    agent = request.headers.get("user-agent")
    seen: dict[str, object] = {"clock_offset_s": (utcnow() - when).total_seconds() + corrected}
    if agent is not None:       # a batch may leave it out: the version of the last hello stands
        seen["app_version"] = agent if USER_AGENT.fullmatch(agent) else None
    return seen


def _check_window(stamp: str, store: DistrictStore) -> datetime:
    """A 401 ``clock_skew`` with the server's time when ``stamp`` is outside the window: an
    old request replayed, or a desk whose clock is off (its client corrects and signs again)."""
    now = utcnow()
    try:
        # Unix milliseconds (the ``Sig`` header) or ISO 8601 (``X-Ccdesk-Time``).
        when = (datetime.fromtimestamp(int(stamp) / 1000, UTC) if stamp.isdigit()
                else datetime.fromisoformat(stamp))
    except (ValueError, OverflowError, OSError):
        when = None
    if when is not None and when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    if when is None or abs((now - when).total_seconds()) > store.replay_window_s:
        raise DistrictError(401, "clock_skew", "the request's time is outside the window",
                            extra={"server_time": now.isoformat() + "Z"})
    return when


def _path_qs(request: Request) -> str:
    raw_path = (request.scope.get("raw_path") or request.url.path.encode()).decode()
    query = request.scope.get("query_string", b"").decode()
    return raw_path + (f"?{query}" if query else "")


async def admin(request: Request) -> DistrictStore:
    """The store, for a request carrying the district admin token (``Bearer``)."""
    store = get_store(request)
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer ") or len(auth) > 200 or not await run_in_threadpool(
            store.check_admin_token, auth[7:]):
        raise DistrictError(401, "unauthenticated")
    return store
