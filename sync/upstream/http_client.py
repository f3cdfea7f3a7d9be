"""A small HTTP/1.1 client for the forwarder's calls (docs/upstream.md, "Figures"): one
persistent ``http.client`` connection per upstream, in place of httpx on the hot path, where
httpx's layers (request and response models, pools, hooks) were about a third of the forwarder's
CPU per call.

It speaks the part of ``httpx.Client`` the transport uses (``post`` with ``content``,
``headers`` and Basic ``auth``; a reply with ``status_code``, ``headers``, ``content``,
``text``) and fails with httpx's exceptions, so the transport's sorting of failures stays the
one it was (sync/upstream/transport.py, ``_post``):

* nothing left (no connection, a refused or timed-out connect): ``httpx.ConnectError`` /
  ``httpx.ConnectTimeout`` — *down*;
* the request was written, or may have been: ``httpx.WriteError``, ``httpx.ReadTimeout``,
  ``httpx.ReadError``, ``httpx.RemoteProtocolError`` — *in doubt*.

A kept-alive connection the upstream has closed is noticed before a request is written on it
(the socket is readable: end of file), as httpcore does, and a new one is opened: a stale
connection never turns a call into an in-doubt one. The same timeout bounds the connect and
every read; TLS verifies the certificate and the host name against the CA bundle httpx uses
(certifi). The reply body is read up to ``max_reply_bytes`` + 1 bytes, never more: a longer one
is cut there (the transport treats it as unreadable) and its connection closed.

Where the environment names a proxy for the upstream (``HTTPS_PROXY`` and the like), which
httpx honours, :func:`make_client` returns an httpx client instead.
"""

from __future__ import annotations

import base64
import http.client
import select
import socket
import ssl
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import httpx


class Reply:
    """What the transport reads of a reply."""

    def __init__(self, status_code: int, headers: http.client.HTTPMessage,
                 content: bytes) -> None:
        self.status_code, self.headers, self.content = status_code, headers, content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class LightClient:
    """One keep-alive connection to one upstream; not for use by several threads at once (the
    forwarder makes its calls from one thread). ``sent`` and ``received`` count body bytes."""

    def __init__(self, timeout: float, max_reply_bytes: int) -> None:
        self.timeout, self.max_reply_bytes = timeout, max_reply_bytes
        self._conn: http.client.HTTPConnection | None = None
        self._origin: tuple[str, str, int] | None = None
        self._tls: ssl.SSLContext | None = None
        self.sent = self.received = 0

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = self._origin = None

    def post(self, url: str, *, content: bytes, headers: dict[str, str] | None = None,
             auth: tuple[str, str] | None = None) -> Reply:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname or ""
        if scheme not in ("http", "https") or not host:
            raise httpx.UnsupportedProtocol(f"not an http(s) URL: {scheme}")
        origin = (scheme, host, parts.port or (443 if scheme == "https" else 80))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sending = dict(headers or {})
        if auth is not None:
            pair = f"{auth[0]}:{auth[1]}".encode()
            sending["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        conn = self._connection(origin)
        try:
            conn.request("POST", target, body=content, headers=sending)
        except TimeoutError as exc:
            self.close()
            raise httpx.WriteTimeout(str(exc)) from exc
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise httpx.WriteError(type(exc).__name__) from exc
        self.sent += len(content)
        return self._reply(conn)

    def _connection(self, origin: tuple[str, str, int]) -> http.client.HTTPConnection:
        """The open connection to ``origin``, or a new one (a failure here sent nothing)."""
        if self._conn is not None and (origin != self._origin or _dropped(self._conn)):
            self.close()
        if self._conn is None:
            scheme, host, port = origin
            conn: http.client.HTTPConnection
            if scheme == "https":
                conn = http.client.HTTPSConnection(host, port, timeout=self.timeout,
                                                   context=self._tls_context())
            else:
                conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
            try:
                conn.connect()
            except TimeoutError as exc:
                conn.close()
                raise httpx.ConnectTimeout(str(exc)) from exc
            except OSError as exc:   # refused, unreachable, name not found, TLS refused
                conn.close()
                raise httpx.ConnectError(type(exc).__name__) from exc
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn, self._origin = conn, origin
        return self._conn

    def _reply(self, conn: http.client.HTTPConnection) -> Reply:
        try:
            response = conn.getresponse()
            content = response.read(self.max_reply_bytes + 1)
            whole = len(content) <= self.max_reply_bytes
        except TimeoutError as exc:
            self.close()
            raise httpx.ReadTimeout(str(exc)) from exc
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise httpx.RemoteProtocolError(type(exc).__name__) from exc
        if not whole or response.will_close or not response.isclosed():
            self.close()   # cut short, or the server ends it: never reuse
        self.received += len(content)
        return Reply(response.status, response.msg, content)

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            import certifi

            self._tls = ssl.create_default_context(cafile=certifi.where())
        return self._tls


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether the kept-alive connection was closed by the other side (readable while idle:
    end of file, or bytes nobody asked for)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _w, _x = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def make_client(url: str, timeout: float, max_reply_bytes: int) -> Any:
    """The client for ``url``: the light one, or httpx where a proxy is set for it."""
    host = urlsplit(url).hostname or ""
    proxies = urllib.request.getproxies()
    scheme = urlsplit(url).scheme.lower()
    if (proxies.get(scheme) or proxies.get("all")) and not urllib.request.proxy_bypass(host):
        return httpx.Client(timeout=timeout)
    return LightClient(timeout, max_reply_bytes)
