"""The ``igate`` transport (VNPT iGate-style upstream; docs/upstream.md, "igate").

What differs from the DVCQG adapter, and where it is handled:

* **OAuth2 client credentials** (:class:`Token`): the client id and secret (the ``username`` and
  password of ``upstream set``) buy a bearer token at ``token_url`` (or ``{url}{token_path}``);
  it is kept until ``token_margin_s`` before its ``expires_in``, and an API call answered 401
  gets a new token and is repeated once (a call refused for its token was not processed).
* **The upstream mints the dossier's code**: a create goes without ``MaHoSo`` and with our code
  under ``reference_key``; the reply's ``minted_key`` is kept at once (:class:`CodeBook`) and
  every update, progress step and look-up afterwards uses it. After a crash between the create
  and that commit, the forwarder's snapshot is still ``sending``: it asks :meth:`look_up`,
  which finds the dossier by our reference and keeps its code, so the retry is an update, never
  a second create.
* **Files are uploaded** (``upload_path``, multipart/form-data): each scan the snapshot lists is
  read from the relay's store, bounded by ``upload_max_bytes``, its SHA-256 checked against its
  name, sent once with that hash beside it, and listed by the id the upstream gave it.

Replies are ``{code, message, data}`` (keys from the profile), bounded like the other
transports'; nothing of a body, a token or the secret is ever logged or put in an error.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy.engine import Engine

from ccdesk.storage import crashpoint
from sync.upstream.igate_codes import CodeBook
from sync.upstream.profiles import Profile
from sync.upstream.transport import (
    EXISTS,
    MAX_MESSAGE,
    OK,
    REJECTED,
    AuthRefused,
    Credentials,
    Down,
    InDoubt,
    Reply,
    Transport,
)
from sync.upstream.transport import _json as bounded_json
from sync.upstream.transport import _retry_after as retry_after

MAX_TOKEN = 8192
MAX_TOKEN_LIFETIME_S = 86_400
DEFAULT_TOKEN_LIFETIME_S = 300
# An upstream code or file id we keep and send back: printable, bounded.
UPSTREAM_ID = re.compile(r"[A-Za-z0-9._:/\-]{1,100}")
SHA256 = re.compile(r"[0-9a-f]{64}")
_READ = 1 << 20


class Token:
    """The bearer token: bought with the client credentials, kept until shortly before it
    expires (``token_margin_s``, at most half its lifetime)."""

    def __init__(self, profile: Profile, creds: Credentials, client: httpx.Client,
                 clock: Any = time.monotonic) -> None:
        self.profile, self.creds, self.client, self.clock = profile, creds, client, clock
        self._value = ""
        self._until = 0.0
        self.bought = 0   # tokens bought this run (the tests count them)

    @property
    def url(self) -> str:
        return self.profile.token_url or self.creds.url + self.profile.token_path

    def value(self) -> str:
        if not self._value or self.clock() >= self._until:
            self._buy()
        return self._value

    def drop(self) -> None:
        self._value = ""

    def _buy(self) -> None:
        form = {"grant_type": "client_credentials", "client_id": self.creds.username,
                "client_secret": self.creds.password}
        if self.profile.token_scope:
            form["scope"] = self.profile.token_scope
        try:
            response = self.client.post(self.url, data=form)
        except httpx.HTTPError as exc:   # buying a token stores nothing: always safe again
            raise Down(f"token endpoint: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise Down(f"token endpoint: HTTP {response.status_code}")
        body = bounded_json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code in (400, 401, 403) or not isinstance(token, str) \
                or not 0 < len(token) <= MAX_TOKEN:
            # The secret is never part of the message; the upstream's error name may be.
            error = body.get("error") if isinstance(body, dict) else None
            raise AuthRefused(f"token refused: HTTP {response.status_code} "
                              f"{str(error or '')[:100]}".strip())
        lifetime = body.get("expires_in", DEFAULT_TOKEN_LIFETIME_S)
        if isinstance(lifetime, str) and lifetime.isdigit():
            lifetime = int(lifetime)
        if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_LIFETIME_S
        lifetime = min(float(lifetime), MAX_TOKEN_LIFETIME_S)
        margin = min(self.profile.token_margin_s, lifetime / 2)
        self._value, self._until = token, self.clock() + lifetime - margin
        self.bought += 1


def classify(response: httpx.Response, profile: Profile) -> Reply:
    """An iGate answer as one kind: ``{code, message, data}`` on 2xx, 409 "already exists",
    any other 4xx a business reject with its message."""
    body = bounded_json(response)
    if response.status_code == 409:
        return Reply(EXISTS, "HTTP 409")
    if not isinstance(body, dict):
        return Reply(REJECTED, f"HTTP {response.status_code}: the reply is not a JSON object")
    code = str(body.get(profile.reply_code_key, "")).strip()
    message = str(body.get(profile.reply_message_key) or "")[:MAX_MESSAGE]
    data = body.get(profile.reply_data_key)
    if 200 <= response.status_code < 300 and code in profile.success_codes:
        return Reply(OK, message, data)
    lowered = message.lower()
    if any(marker.lower() in lowered for marker in profile.exists_markers):
        return Reply(EXISTS, message)
    return Reply(REJECTED, f"HTTP {response.status_code} code {code or '?'}: {message}".strip())


class IgateTransport(Transport):
    """The forwarder's calls over an iGate-style API (see the module docstring)."""

    def __init__(self, profile: Profile, creds: Credentials,
                 client: httpx.Client | None = None, *, engine: Engine | None = None,
                 files_dir: Path | None = None) -> None:
        # httpx, not the forwarder's light client: iGate takes form-encoded token requests and
        # multipart uploads, which the light client does not speak (sync/upstream/http_client.py).
        super().__init__(profile, creds, client or httpx.Client(timeout=profile.timeout_s))
        self.token = Token(profile, creds, self.client)
        self._book = CodeBook(engine) if engine is not None else None
        self.files_dir = files_dir if files_dir is not None else _beside_sqlite(engine)

    @property
    def book(self) -> CodeBook:
        if self._book is None:
            # Kept only in memory, a crash after a create would create the dossier twice.
            raise RuntimeError("the igate transport keeps minted codes in the forwarder's "
                               "database: build it with engine=")
        return self._book

    # ---- one call --------------------------------------------------------------------------
    def _call(self, path: str, *, json: Any = None, files: Any = None,
              data: Any = None) -> Reply:
        """POST with the bearer token; a 401 buys a new token and repeats the call once."""
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self.token.value()}"}
            if files is None:
                headers["Content-Type"] = "application/json"
                response = self._send(self.creds.url + path, content=orjson.dumps(json),
                                      headers=headers)
            else:
                response = self._send(self.creds.url + path, files=files, data=data,
                                      headers=headers)
            if response.status_code == 401:
                self.token.drop()
                if attempt == 0:
                    continue
                # The token endpoint took our credentials a moment ago: not a refusal of
                # them, a token revoked again at once. Later.
                raise Down("the upstream refused a token it had just issued")
            if response.status_code == 403:
                raise AuthRefused("HTTP 403: this client may not call " + path)
            return classify(response, self.profile)
        raise AssertionError("unreachable")

    def _send(self, url: str, **kwargs: Any) -> httpx.Response:
        """POST, with httpx's failures sorted into Down (never left) and InDoubt (may have)."""
        try:
            response = self.client.post(url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Down(f"cannot connect: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:   # read timeout, reset: it may be stored
            raise InDoubt(f"no reply: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise Down(f"HTTP {response.status_code}", retry_after(response))
        return response

    # ---- the forwarder's calls ---------------------------------------------------------------
    def snapshots(self, items: list[dict[str, Any]], updating: bool) -> Reply:
        """One call per dossier (each create mints a code). The first refusal ends the call
        (the group sender then replays each dossier alone: those already done are updates)."""
        for item in items:
            reply = self._snapshot(dict(item), updating)
            if reply.kind != OK:
                return reply
        return Reply(OK, "")

    def _snapshot(self, item: dict[str, Any], updating: bool) -> Reply:
        p, k = self.profile, self.profile.key
        ours = str(item.get(k("MaHoSo"), ""))
        refused = self._upload_files(item)
        if refused is not None:
            return refused
        minted = self.book.minted(ours)
        item[k(p.reference_key)] = ours
        if minted is None and not updating:
            item.pop(k("MaHoSo"), None)   # the upstream mints it
            reply = self._call(p.create_path, json=self._renamed(item))
            if reply.kind == EXISTS:
                # It holds our reference already (an earlier create we did not record).
                return self._update_existing(ours, item)
            if reply.kind != OK:
                return reply
            code = _field(reply.result, k(p.minted_key))
            if code is None:
                return Reply(REJECTED, "the create's reply carries no code of the upstream's")
            crashpoint.crash_point("igate_after_create")
            self.book.keep_minted(ours, code)
            return reply
        item[k("MaHoSo")] = minted or ours
        return self._call(p.update_path, json=self._renamed(item))

    def _update_existing(self, ours: str, item: dict[str, Any]) -> Reply:
        if self.look_up(ours) is None or self.book.minted(ours) is None:
            return Reply(REJECTED, "the upstream says it exists but its look-up finds nothing")
        item[self.profile.key("MaHoSo")] = self.book.minted(ours)
        return self._call(self.profile.update_path, json=self._renamed(item))

    def steps(self, items: list[dict[str, Any]]) -> Reply:
        k = self.profile.key
        sent = []
        for item in items:
            ours = str(item.get(k("MaHoSo"), ""))
            sent.append(self._renamed({**item, k("MaHoSo"): self.book.minted(ours) or ours}))
        return self._call(self.profile.progress_path, json={self.profile.progress_key: sent})

    def look_up(self, code: str) -> Reply | None:
        """The upstream's record of our ``code``: by its own code when we have it, else by our
        reference (then its code is kept: the repair after a crash mid-create). Result None:
        not there; a look-up that cannot tell raises :class:`Down`."""
        p, k = self.profile, self.profile.key
        minted = self.book.minted(code)
        query = {k(p.minted_key): minted} if minted else {k(p.reference_key): code}
        try:
            reply = self._call(p.lookup_path, json=query)
        except InDoubt as exc:   # a look-up stores nothing: asking again is safe
            raise Down(str(exc)) from exc
        if reply.kind != OK:
            # Unable to tell: never answer "not there" (a create would follow: a duplicate).
            raise Down(f"look-up refused: {reply.message}")
        if not isinstance(reply.result, dict) or not reply.result:
            return Reply(OK, reply.message, None)
        found = _field(reply.result, k(p.minted_key))
        if found is None:
            raise Down("the look-up's record carries no code of the upstream's")
        if minted is None:
            self.book.keep_minted(code, found)
        return Reply(OK, reply.message, self._renamed(reply.result, back=True))

    def _renamed(self, value: Any, back: bool = False) -> Any:
        """``value`` with the national field names as this upstream spells them
        (``field_names``), or (``back``) a reply's names as ours, at every depth."""
        names = self.profile.field_names
        if not names:
            return value
        if back:
            names = {theirs: ours for ours, theirs in names.items()}
        if isinstance(value, dict):
            return {names.get(key, key): self._renamed(inner, back)
                    for key, inner in value.items()}
        if isinstance(value, list):
            return [self._renamed(inner, back) for inner in value]
        return value

    # ---- files -----------------------------------------------------------------------------
    def _upload_files(self, item: dict[str, Any]) -> Reply | None:
        """Upload each listed scan not yet uploaded and list it by the upstream's id; a
        refusal (too large, missing or damaged at the relay, refused upstream) is returned."""
        p = self.profile
        listed = item.get(p.key(p.files_key)) if p.files_key else None
        id_key = p.key(p.file_fields.get("id", "")) if p.file_fields.get("id") else ""
        if not isinstance(listed, list) or not id_key:
            return None
        out = []
        for element in listed:
            if not isinstance(element, dict):
                continue
            sha = str(element.get(id_key, ""))
            upstream_id = self.book.uploaded(sha) if SHA256.fullmatch(sha) else None
            if upstream_id is None:
                name_key = p.key(p.file_fields.get("name") or "TenTepDinhKem")
                upstream_id, refused = self._upload(sha, str(element.get(name_key) or sha))
                if refused is not None:
                    return refused
            out.append({**element, id_key: upstream_id})
        item[p.key(p.files_key)] = out
        return None

    def _upload(self, sha: str, name: str) -> tuple[str, Reply | None]:
        p = self.profile
        content, refused = self._read_file(sha)
        if refused is not None:
            return "", refused
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        try:
            reply = self._call(p.upload_path, files={p.upload_file_field: (name, content, mime)},
                               data={p.upload_hash_field: sha, "size": str(len(content))})
        except InDoubt as exc:
            # Maybe stored: sending it again leaves at worst an unlisted copy upstream.
            raise Down(str(exc)) from exc
        if reply.kind != OK:
            return "", Reply(REJECTED, f"file {sha[:12]}: {reply.message}")
        upstream_id = _field(reply.result, p.upload_id_key)
        if upstream_id is None:
            return "", Reply(REJECTED, f"file {sha[:12]}: the reply carries no file id")
        self.book.keep_uploaded(sha, upstream_id, len(content))
        return upstream_id, None

    def _read_file(self, sha: str) -> tuple[bytes, Reply | None]:
        """The scan's bytes from the relay's store, bounded and verified against its name."""
        limit = self.profile.upload_max_bytes
        if not SHA256.fullmatch(sha) or self.files_dir is None:
            return b"", Reply(REJECTED, "a listed file is not in the relay's store")
        path = self.files_dir / sha[:2] / sha
        try:
            size = path.stat().st_size
            if size > limit:
                return b"", Reply(REJECTED, f"file {sha[:12]}: {size} B > upload_max_bytes "
                                            f"{limit}")
            digest, chunks = hashlib.sha256(), []
            with path.open("rb") as handle:
                while chunk := handle.read(_READ):
                    digest.update(chunk)
                    chunks.append(chunk)
        except OSError:
            return b"", Reply(REJECTED, f"file {sha[:12]}: not readable in the relay's store")
        if digest.hexdigest() != sha:
            return b"", Reply(REJECTED, f"file {sha[:12]}: its bytes no longer match its hash")
        return b"".join(chunks), None


def _field(data: Any, key: str) -> str | None:
    """A code or id the upstream gave us, if it is one we may keep and send back."""
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and UPSTREAM_ID.fullmatch(value) else None


def _beside_sqlite(engine: Engine | None) -> Path | None:
    """A SQLite relay keeps its scans beside its file (sync/server/store.py)."""
    if engine is None or engine.url.get_backend_name() != "sqlite" or not engine.url.database:
        return None
    from sync.server.store import files_dir_for

    return files_dir_for(Path(engine.url.database))
