"""The national-database checker: a protocol, and the HTTP client configured in config.toml.

::

    [national_db]
    url = "https://lgsp.example.gov.vn/dancu"   # the province's integration platform
    username = "xa-an-phu"
    password_env = "CCDESK_NATIONAL_DB_PASSWORD"  # the password from this variable, or
    password_file = "/etc/ccdesk/national-db.secret"  # from this owner-only file
    timeout_s = 10

The request and reply shapes live in ``ccdesk/domain/national_db.py`` alone (the real contract
is not public: docs/verification.md). A transport failure (no route, timeout, 5xx, a reply that
is not an answer) raises :class:`Unreachable` with a short kind; only a parsed reply is an answer.
"""

from __future__ import annotations

import os
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from ccdesk.domain.errors import ValidationError
from ccdesk.domain.national_db import (
    MAX_REPLY_BYTES,
    PATH,
    CheckReply,
    CheckRequest,
    ReplyError,
    parse_reply,
)
from ccdesk.domain.verification import Subject
from ccdesk.domain.vocabulary import NationalRecord
from ccdesk.storage.files import read_bounded_text

DEFAULT_PASSWORD_ENV = "CCDESK_NATIONAL_DB_PASSWORD"
MAX_TIMEOUT = 120.0
MAX_SECRET = 4096


class Unreachable(Exception):
    """No answer from the database this time; ``kind`` says why (``connect``, ``timeout``,
    ``http_503``, ``bad_reply``, ``auth``…), never anything of a reply's content."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Checker(Protocol):
    def check(self, subject: Subject, record: NationalRecord) -> CheckReply: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class CheckerSettings:
    url: str
    username: str
    password: str
    timeout_s: float = 10.0


def settings_from(config: dict[str, Any], env: dict[str, str] | None = None) -> CheckerSettings:
    """``[national_db]`` of config.toml, checked; a ``ValidationError`` names the bad key."""
    env = dict(os.environ) if env is None else env
    url = str(config.get("url") or "").strip()
    if not url:
        raise ValidationError("verification.err.not_configured", field="national_db.url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("verification.err.bad_setting", field="national_db.url")
    timeout = config.get("timeout_s", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) \
            or not 0 < timeout <= MAX_TIMEOUT:
        raise ValidationError("verification.err.bad_setting", field="national_db.timeout_s")
    username = str(config.get("username") or "")
    password = env.get(str(config.get("password_env") or DEFAULT_PASSWORD_ENV), "")
    if not password and config.get("password_file"):
        password = _secret_file(Path(str(config["password_file"])).expanduser())
    return CheckerSettings(url.rstrip("/"), username, password, float(timeout))


def _secret_file(path: Path) -> str:
    """The first line of an owner-only file: a password others can read is refused."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise ValidationError("reliability.security.no_such_file", path=str(path)) from exc
    if mode & 0o077:
        raise ValidationError("verification.err.secret_shared", path=str(path),
                              mode=oct(mode))
    lines = read_bounded_text(path, MAX_SECRET).strip().splitlines()
    return lines[0].strip() if lines else ""


class HttpChecker:
    """The checker over HTTP(S); one client (and its connections) for a whole run."""

    def __init__(self, settings: CheckerSettings) -> None:
        auth = (settings.username, settings.password) if settings.username else None
        self.client = httpx.Client(base_url=settings.url, timeout=settings.timeout_s,
                                   auth=auth, follow_redirects=False)

    def check(self, subject: Subject, record: NationalRecord) -> CheckReply:
        request = CheckRequest(str(uuid.uuid4()), subject.id_number, subject.full_name,
                               subject.birth_date, record)
        try:
            with self.client.stream("POST", PATH, content=request.body(),
                                    headers={"content-type": "application/json"}) as reply:
                if reply.status_code in (401, 403):
                    raise Unreachable("auth")
                if reply.status_code != 200:
                    raise Unreachable(f"http_{reply.status_code}")
                body = b""
                for chunk in reply.iter_bytes():
                    body += chunk
                    if len(body) > MAX_REPLY_BYTES:
                        raise Unreachable("bad_reply")
        except httpx.TimeoutException:
            raise Unreachable("timeout") from None
        except httpx.TransportError:
            raise Unreachable("connect") from None
        try:
            return parse_reply(body, request.request_id)
        except ReplyError:
            raise Unreachable("bad_reply") from None

    def close(self) -> None:
        self.client.close()
