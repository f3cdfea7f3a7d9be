"""Talking to the upstream: one class per profile, the same three calls for the forwarder.

Every answer is classified into one :class:`Reply` kind or one exception, and that
classification decides what the forwarder may do next:

* :class:`Down` — the request certainly did not take effect (no connection, 5xx, 429): safe to
  retry with back-off;
* :class:`InDoubt` — the request may have been stored (a timeout or a reset after it was
  written): a snapshot is simply re-sent (an upsert), a step is held (docs/upstream.md,
  "Exactly once");
* :class:`AuthRefused` — the credentials are wrong: a human must act (exit 30);
* ``Reply(kind="expired")`` never reaches the forwarder: the transport logs in again and
  repeats the call once (a call with an expired session was not processed).

Replies are bounded before they are read (:data:`MAX_REPLY_BYTES`) and messages cut to
:data:`MAX_MESSAGE` characters; credentials are never part of an error text.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from sync.upstream.http_client import make_client
from sync.upstream.profiles import DVCQG, FACADE, Profile

MAX_REPLY_BYTES = 1 << 20
MAX_MESSAGE = 500
OK, EXISTS, REJECTED, EXPIRED, PARTIAL = "ok", "exists", "rejected", "expired", "partial"


@dataclass(frozen=True)
class Reply:
    kind: str                 # ok | exists | rejected | expired
    message: str = ""
    result: Any = None


class Down(Exception):
    """Not delivered, certainly: retry later (``retry_after`` seconds when the upstream said)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InDoubt(Exception):
    """The request left; whether the upstream stored it is unknown."""


class AuthRefused(Exception):
    """The upstream refused our credentials."""


@dataclass(frozen=True)
class Credentials:
    url: str
    unit_code: str
    username: str
    password: str

    def __repr__(self) -> str:   # never print the password
        return f"Credentials(url={self.url!r}, unit_code={self.unit_code!r}, username=…)"


def classify(body: Any, profile: Profile) -> Reply:
    """A ``{"error_code", "message", "result"}`` reply as one kind."""
    if not isinstance(body, dict):
        return Reply(REJECTED, "the upstream's reply is not a JSON object")
    code = str(body.get("error_code", "")).strip()
    message = str(body.get("message") or "")[:MAX_MESSAGE]
    if code in profile.success_codes:
        return Reply(OK, message, body.get("result"))
    if code in profile.session_expired_codes:
        return Reply(EXPIRED, message)
    if code in profile.partial_codes and isinstance(body.get("result"), list):
        return Reply(PARTIAL, message, body["result"])
    lowered = message.lower()
    if any(marker.lower() in lowered for marker in profile.exists_markers) \
            or (code in profile.exists_codes and not message):
        return Reply(EXISTS, message)
    return Reply(REJECTED, f"error_code {code or '?'}: {message}".strip())


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def _json(response: httpx.Response) -> Any:
    content = response.content[:MAX_REPLY_BYTES + 1]
    if len(content) > MAX_REPLY_BYTES:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


class Transport(ABC):
    """The calls the forwarder makes; a profile implements them."""

    def __init__(self, profile: Profile, creds: Credentials,
                 client: httpx.Client | None = None) -> None:
        self.profile, self.creds = profile, creds
        # By default the light client (sync/upstream/http_client.py: httpx's interface and
        # failures, a third of the CPU per call); tests and benches may pass an httpx client.
        self.client: Any = client or make_client(creds.url, profile.timeout_s, MAX_REPLY_BYTES)

    def close(self) -> None:
        self.client.close()

    @abstractmethod
    def snapshots(self, items: list[dict[str, Any]], updating: bool) -> Reply:
        """Send dossier snapshots (create, or update when ``updating``)."""

    @abstractmethod
    def steps(self, items: list[dict[str, Any]]) -> Reply:
        """Send progress steps."""

    def ratings(self, items: list[dict[str, Any]], updating: bool) -> Reply | None:
        """Send monthly satisfaction aggregates; None when this upstream takes none."""
        return None

    def look_up(self, code: str) -> Reply | None:
        """The upstream's record of ``code``; None when this upstream cannot say (a transport
        failure raises :class:`Down`: ask again later)."""
        return None

    def exists(self, code: str) -> bool | None:
        """Whether ``code`` is known upstream; None when this upstream cannot say."""
        reply = self.look_up(code)
        return None if reply is None else bool(reply.result)

    def upstream_steps(self, code: str) -> list[dict[str, Any]] | None:
        """The steps the upstream holds for ``code``, where its look-up lists them."""
        key = self.profile.key(self.profile.lookup_steps_key) \
            if self.profile.lookup_steps_key else ""
        reply = self.look_up(code) if key else None
        if reply is None:
            return None
        if not reply.result:
            return []
        found = reply.result.get(key) if isinstance(reply.result, dict) else None
        if not isinstance(found, list) or not all(isinstance(s, dict) for s in found):
            return None
        return found

    def _post(self, url: str, json: Any, **kwargs: Any) -> httpx.Response:
        """POST, with httpx's failures sorted into Down (never left) and InDoubt (may have)."""
        try:
            response = self.client.post(url, content=orjson.dumps(json),
                                        headers={"Content-Type": "application/json"}, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Down(f"cannot connect: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:   # read timeout, reset, protocol error: it may be stored
            raise InDoubt(f"no reply: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise Down(f"HTTP {response.status_code}", _retry_after(response))
        return response


class DvcqgTransport(Transport):
    """The national adapter's envelope: log in, then ``{"session", "madonvi", "service", …}``."""

    def __init__(self, profile: Profile, creds: Credentials,
                 client: httpx.Client | None = None) -> None:
        super().__init__(profile, creds, client)
        self._session = ""
        self._session_until = 0.0

    def _login(self) -> str:
        response = self._post(self.creds.url + self.profile.auth_path,
                              {"username": self.creds.username,
                               "password": self.creds.password})
        body = _json(response)
        reply = classify(body, self.profile)
        session = body.get("session") if isinstance(body, dict) else None
        if response.status_code in (401, 403) or reply.kind != OK \
                or not isinstance(session, str) or not session:
            raise AuthRefused(reply.message or f"HTTP {response.status_code}")
        self._session = session
        self._session_until = time.monotonic() + self.profile.session_ttl_s
        return session

    def call(self, service: str, body: dict[str, Any]) -> Reply:
        """One service call; an expired session is renewed and the call repeated once."""
        for attempt in range(2):
            if not self._session or time.monotonic() >= self._session_until or attempt:
                self._login()
            envelope = {"session": self._session, "madonvi": self.creds.unit_code,
                        "service": service} | body
            response = self._post(self.creds.url + self.profile.integration_path, envelope)
            if response.status_code in (401, 403) and attempt == 0:
                self._session = ""
                continue
            reply = classify(_json(response), self.profile)
            if reply.kind != EXPIRED:
                return reply
            self._session = ""
        # Not a refusal of our credentials (the login worked): try again later.
        raise Down("the session expired again right after logging in")

    def snapshots(self, items: list[dict[str, Any]], updating: bool) -> Reply:
        return self.call(self.profile.snapshot_service,
                         {"isUpdating": "True" if updating else "False", "data": items})

    def steps(self, items: list[dict[str, Any]]) -> Reply:
        return self.call(self.profile.steps_service, {"data": items})

    def ratings(self, items: list[dict[str, Any]], updating: bool) -> Reply | None:
        if not self.profile.rating_service:
            return None
        return self.call(self.profile.rating_service,
                         {"isUpdating": "True" if updating else "False", "data": items})

    def look_up(self, code: str) -> Reply | None:
        if not self.profile.lookup_service:
            return None
        try:
            reply = self.call(self.profile.lookup_service, {self.profile.key(
                self.profile.lookup_key): code})
        except InDoubt as exc:   # a look-up stores nothing: asking again is safe
            raise Down(str(exc)) from exc
        return reply if reply.kind == OK else None


class FacadeTransport(Transport):
    """A province façade: plain JSON arrays to configured URLs; it adds the session itself.
    Our credentials go as HTTP Basic (what a façade expects is not published [?])."""

    def _send(self, path: str, items: list[dict[str, Any]]) -> Reply:
        response = self._post(self.creds.url + path, items,
                              auth=(self.creds.username, self.creds.password))
        if response.status_code in (401, 403):
            raise AuthRefused(f"HTTP {response.status_code}")
        body = _json(response)
        if response.status_code == 409:
            return Reply(EXISTS, "HTTP 409")
        if 200 <= response.status_code < 300:
            return classify(body, self.profile) if isinstance(body, dict) \
                and "error_code" in body else Reply(OK, "", body)
        text = response.text[:MAX_MESSAGE]
        if any(m.lower() in text.lower() for m in self.profile.exists_markers):
            return Reply(EXISTS, text)
        return Reply(REJECTED, f"HTTP {response.status_code}: {text}")

    def snapshots(self, items: list[dict[str, Any]], updating: bool) -> Reply:
        return self._send(self.profile.update_path if updating else self.profile.create_path,
                          items)

    def steps(self, items: list[dict[str, Any]]) -> Reply:
        return self._send(self.profile.progress_path, items)


def make_transport(profile: Profile, creds: Credentials,
                   client: httpx.Client | None = None) -> Transport:
    """The dvcqg or façade transport. A profile with a transport module of its own (igate)
    is built by :func:`sync.upstream.transports.make_transport`, the factory of them all."""
    if profile.name not in (DVCQG, FACADE):
        raise ValueError(f"profile {profile.name}: use sync.upstream.transports.make_transport")
    cls = DvcqgTransport if profile.name == DVCQG else FacadeTransport
    return cls(profile, creds, client)
