"""The double's ``igate`` mode (docs/upstream-double.md, "igate"): an iGate-style upstream
that sells bearer tokens for client credentials, mints its own dossier codes, takes scans as
multipart uploads and answers ``{code, message, data}``.

The dossier rules are the DVCQG ones (:class:`~sync.upstream.double.app.Double` stores and
checks each element as a ``DongBoHoSoMC`` / ``CapNhatTienDoHoSoMC`` item under the minted
code), so ``/_inspect``, ``/_stats`` and ``/_kpi`` read the same. What the mode adds, each a
check the forwarder must pass (rule names in replies and in ``/_stats``):

* ``igate_token``: every call carries a live bearer token (else HTTP 401);
* ``igate_minted_code``: a create carries no ``MaHoSo`` (the double mints it) and our code as
  the reference; an update or a step names a code the double minted;
* ``igate_duplicate_create``: a second create for a reference already minted is *stored*
  (as a real upstream without idempotency would) and counted: ``/_stats`` ``igate``
  ``duplicate_creates`` must stay 0;
* ``igate_file``: an upload's bytes hash to the SHA-256 sent beside them and fit the bound; a
  snapshot lists only files it uploaded.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from datetime import datetime
from email import message_from_bytes
from email.message import Message
from typing import Any
from urllib.parse import parse_qs

import orjson

from sync.upstream.double.rules import VIETNAM, Violation

# The double's classes (app.Double, app.DoubleConfig, store.DoubleStore) are duck-typed here:
# app imports this mode, never the other way round.
OK, REJECTED = "0", "2"
SNAPSHOTS, STEPS = "DongBoHoSoMC", "CapNhatTienDoHoSoMC"
MAX_TOKENS = 10_000
FILE_ID = re.compile(r"F[0-9a-f]{24}")
SHA256 = re.compile(r"[0-9a-f]{64}")
DEFAULT_PATHS = {"token": "/oauth/token", "create": "/api/CreateDossier",
                 "update": "/api/UpdateDossier", "steps": "/api/CapNhatTienTrinh",
                 "lookup": "/api/TraCuuHoSo", "upload": "/api/UploadFile"}
REFERENCE, MINTED, FILES, FILE_ID_KEY = "MaThamChieu", "MaHoSo", "TaiLieuNop", "TepDinhKemId"

SCHEMA = """
CREATE TABLE IF NOT EXISTS igate_code (
    minted TEXT PRIMARY KEY,
    reference TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS igate_code_by_reference ON igate_code (reference);
CREATE TABLE IF NOT EXISTS igate_file (
    id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    name TEXT NOT NULL,
    verified INTEGER NOT NULL,
    received_at TEXT NOT NULL
);
"""


class IgateStore:
    """The mode's own tables, in the double's SQLite file (its connection and lock)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        with store.transaction() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    def mint(self, unit_code: str, reference: str) -> tuple[str, bool]:
        """A new code ``<unit>-YYMMDD-NNNNNN`` (six digits: never one of the desk's own
        four-digit codes) and whether ``reference`` had one already (a duplicate create)."""
        day = datetime.now(VIETNAM).strftime("%y%m%d")
        with self.store.transaction() as db:
            before = db.execute("SELECT count(*) FROM igate_code WHERE reference = ?",
                                (reference,)).fetchone()[0]
            count = db.execute("SELECT count(*) FROM igate_code").fetchone()[0]
            code = f"{unit_code}-{day}-{count + 1:06d}"
            db.execute("INSERT INTO igate_code VALUES (?, ?, ?)",
                       (code, reference, datetime.now(VIETNAM).isoformat()))
        return code, before > 0

    def forget(self, code: str) -> None:
        """A mint whose snapshot the rules refused: nothing was created."""
        with self.store.transaction() as db:
            db.execute("DELETE FROM igate_code WHERE minted = ?", (code,))

    def minted(self, code: str) -> bool:
        with self.store.transaction() as db:
            return db.execute("SELECT 1 FROM igate_code WHERE minted = ?",
                              (code,)).fetchone() is not None

    def by_reference(self, reference: str) -> list[str]:
        with self.store.transaction() as db:
            return [r[0] for r in db.execute(
                "SELECT minted FROM igate_code WHERE reference = ? ORDER BY rowid",
                (reference,))]

    def reference_of(self, code: str) -> str | None:
        with self.store.transaction() as db:
            row = db.execute("SELECT reference FROM igate_code WHERE minted = ?",
                             (code,)).fetchone()
        return row[0] if row else None

    def put_file(self, sha256: str, size: int, name: str) -> str:
        file_id = "F" + secrets.token_hex(12)
        with self.store.transaction() as db:
            db.execute("INSERT INTO igate_file VALUES (?, ?, ?, ?, 1, ?)",
                       (file_id, sha256, size, name[:200], datetime.now(VIETNAM).isoformat()))
        return file_id

    def files(self, ids: list[str] | None = None) -> list[dict[str, Any]]:
        with self.store.transaction() as db:
            rows = db.execute("SELECT id, sha256, size, name, verified, received_at "
                              "FROM igate_file ORDER BY rowid").fetchall()
        return [{"id": r[0], "sha256": r[1], "size": r[2], "name": r[3],
                 "verified": bool(r[4]), "received_at": r[5]}
                for r in rows if ids is None or r[0] in ids]

    def stats(self) -> dict[str, int]:
        with self.store.transaction() as db:
            codes, references = db.execute(
                "SELECT count(*), count(DISTINCT reference) FROM igate_code").fetchone()
            files, uploads = db.execute(
                "SELECT count(DISTINCT sha256), count(*) FROM igate_file").fetchone()
        return {"minted": codes, "duplicate_creates": codes - references,
                "files": files, "uploads": uploads}

    def clear(self) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM igate_code")
            db.execute("DELETE FROM igate_file")


class IgateDouble:
    """The handling of each igate call over a :class:`Double` (its checker and store)."""

    def __init__(self, double: Any, config: Any) -> None:
        self.double, self.config = double, config
        self.store = IgateStore(double.store)
        self.tokens: dict[str, float] = {}
        self.issued = 0

    # ---- tokens ------------------------------------------------------------------------------
    def token(self, raw: bytes, authorization: str) -> tuple[int, dict[str, Any]]:
        """``grant_type=client_credentials`` with the id and secret in the form (or HTTP
        Basic): a bearer token that lives ``session_lifetime_s`` (``expires_in``)."""
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization.lower().startswith("basic "):
            import base64
            import binascii

            try:
                client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                client_id = secret = ""
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if not (hmac.compare_digest(client_id.encode(), self.config.username.encode())
                and hmac.compare_digest(secret.encode(), self.config.password.encode())):
            return 401, {"error": "invalid_client"}
        now = time.monotonic()
        lifetime = self.double.lifetime
        self.tokens = {k: v for k, v in self.tokens.items() if now - v < lifetime}
        while len(self.tokens) >= MAX_TOKENS:
            self.tokens.pop(next(iter(self.tokens)))
        token = secrets.token_urlsafe(24)
        self.tokens[token] = now
        self.issued += 1
        # Advertised: the normal lifetime. A ``session_expiry=30s`` fault ends tokens sooner
        # than they say (a token revoked mid-run: the client must take the 401 and renew).
        return 200, {"access_token": token, "token_type": "Bearer",
                     "expires_in": max(1, int(self.config.session_lifetime_s))}

    def authorised(self, authorization: str) -> bool:
        """A live bearer token. ``session_expiry`` faults end tokens as they end sessions;
        the ``401`` fault refuses one call (a token revoked upstream)."""
        token = authorization[7:] if authorization.lower().startswith("bearer ") else ""
        faults, store = self.double.faults, self.double.store
        if token not in self.tokens:
            return False
        if time.monotonic() - self.tokens[token] >= self.double.lifetime:
            del self.tokens[token]
            return False
        if faults.roll("session_expiry", faults.session_drop_p):
            store.count_fault("session_expiry")
            del self.tokens[token]
            return False
        if faults.roll("401"):
            store.count_fault("401")
            return False
        return True

    # ---- dossiers ----------------------------------------------------------------------------
    def create(self, body: Any) -> tuple[dict[str, Any], bool]:
        try:
            item = _object(body)
            if MINTED in item:
                raise Violation("igate_minted_code", "MaHoSo", "the upstream mints the code")
            reference = item.get(REFERENCE)
            if not isinstance(reference, str) or not 0 < len(reference) <= 100:
                raise Violation("igate_minted_code", REFERENCE, "our code expected")
            self._files_listed(item)
        except Violation as exc:
            return self._reject("CreateDossier", exc), False
        # A second create of one reference is stored, as an upstream without idempotency
        # would: /_stats "igate" "duplicate_creates" counts it (a client bug).
        code, _duplicate = self.store.mint(self.config.unit_code, reference)
        reply, stored = self.double.call(SNAPSHOTS, {"isUpdating": "False",
                                                    "data": [{**item, MINTED: code}]})
        if reply.get("error_code") != OK:
            self.store.forget(code)
            return _igate(reply), False
        return _igate(reply, {MINTED: code, REFERENCE: reference}), stored

    def update(self, body: Any) -> tuple[dict[str, Any], bool]:
        try:
            item = _object(body)
            code = item.get(MINTED)
            if not isinstance(code, str) or not self.store.minted(code):
                raise Violation("igate_minted_code", "MaHoSo", "not a code this upstream minted")
            self._files_listed(item)
        except Violation as exc:
            return self._reject("UpdateDossier", exc), False
        reply, stored = self.double.call(SNAPSHOTS, {"isUpdating": "True", "data": [item]})
        return _igate(reply, {MINTED: code}), stored

    def steps(self, body: Any) -> tuple[dict[str, Any], bool]:
        try:
            data = _object(body).get("data")
            for i, step in enumerate(data if isinstance(data, list) else []):
                code = step.get(MINTED) if isinstance(step, dict) else None
                if not isinstance(code, str) or not self.store.minted(code):
                    raise Violation("igate_minted_code", f"data[{i}].MaHoSo",
                                    "not a code this upstream minted")
        except Violation as exc:
            return self._reject("CapNhatTienTrinh", exc), False
        reply, stored = self.double.call(STEPS, {"data": data})
        return _igate(reply), stored

    def look_up(self, body: Any) -> dict[str, Any]:
        """By the upstream's code or by our reference (the first code minted for it)."""
        self.double.store.count_call("TraCuuHoSo")
        item = body if isinstance(body, dict) else {}
        code = item.get(MINTED)
        if not isinstance(code, str):
            reference = item.get(REFERENCE)
            found = self.store.by_reference(reference) if isinstance(reference, str) else []
            code = found[0] if found else None
        record = self.double.store.inspect(code) if isinstance(code, str) else None
        if record is None:
            return {"code": OK, "message": "Không tìm thấy hồ sơ", "data": None}
        steps = [{k: v for k, v in s.items() if not k.startswith("_")} for s in record["steps"]]
        return {"code": OK, "message": "Tìm thấy hồ sơ",
                "data": {**record["snapshot"], "TienDo": steps}}

    # ---- files -------------------------------------------------------------------------------
    def upload(self, content_type: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        """multipart/form-data: the ``file`` part and ``sha256`` beside it; the bytes must hash
        to it and fit ``max_file_bytes``."""
        try:
            parts = parse_multipart(content_type, raw)
            name, content = parts.get("file", (None, b""))
            claimed = parts.get("sha256", (None, b""))[1].decode("ascii", "replace").strip()
            if name is None or not content:
                raise Violation("igate_file", "file", "a file part expected")
            if len(content) > self.config.max_file_bytes:
                raise Violation("igate_file", "file", f"larger than {self.config.max_file_bytes}")
            if not SHA256.fullmatch(claimed) or hashlib.sha256(content).hexdigest() != claimed:
                raise Violation("igate_file", "sha256", "the bytes do not hash to it")
        except Violation as exc:
            return 400, self._reject("UploadFile", exc)
        self.double.store.count_call("UploadFile")
        file_id = self.store.put_file(claimed, len(content), name)
        return 200, {"code": OK, "message": "Tải tệp thành công",
                     "data": {"id": file_id, "sha256": claimed}}

    def _files_listed(self, item: dict[str, Any]) -> None:
        listed = item.get(FILES)
        if listed is None:
            return
        known = {f["id"] for f in self.store.files()}
        for i, element in enumerate(listed if isinstance(listed, list) else [None]):
            file_id = element.get(FILE_ID_KEY) if isinstance(element, dict) else None
            if not isinstance(file_id, str) or file_id not in known:
                raise Violation("igate_file", f"{FILES}[{i}].{FILE_ID_KEY}",
                                "not a file uploaded here")

    # ---- inspection --------------------------------------------------------------------------
    def inspect(self, code: str) -> dict[str, Any] | None:
        """``/_inspect`` by the minted code or by our reference, with the codes minted for
        that reference (more than one: a duplicate create) and the files it lists."""
        reference = self.store.reference_of(code)
        codes = self.store.by_reference(reference or code)
        found = self.double.store.inspect(code if reference else (codes or [""])[0])
        if found is None:
            return None
        listed = found["snapshot"].get(FILES)
        ids = [str(e.get(FILE_ID_KEY)) for e in listed if isinstance(e, dict)] \
            if isinstance(listed, list) else []
        return {**found, "reference": reference or code, "minted_codes": codes,
                "files": self.store.files(ids)}

    def _reject(self, service: str, exc: Violation) -> dict[str, Any]:
        self.double.store.count_reject(service, exc.rule)
        return {"code": REJECTED, "message": f"Dữ liệu không hợp lệ {exc}", "rule": exc.rule,
                "where": exc.where}


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Violation("envelope", "body", "a JSON object expected")
    return body


def _igate(reply: dict[str, Any], data: Any = None) -> dict[str, Any]:
    """The double's DVCQG-shaped reply in iGate's shape."""
    out = {"code": reply.get("error_code", REJECTED), "message": reply.get("message", ""),
           "data": data if reply.get("error_code") == OK else None}
    for key in ("rule", "where", "duplicates"):
        if key in reply:
            out[key] = reply[key]
    return out


def parse_multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a multipart/form-data body: name -> (file name or None, bytes). The body
    is already bounded by the double's size limit."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise Violation("igate_file", "Content-Type", "multipart/form-data expected")
    message = message_from_bytes(b"Content-Type: " + content_type.encode("latin-1")
                                 + b"\r\n\r\n" + raw)
    if not message.is_multipart():
        raise Violation("igate_file", "body", "not a multipart body")
    parts: dict[str, tuple[str | None, bytes]] = {}
    for part in message.get_payload():
        if not isinstance(part, Message):
            continue
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = (part.get_filename(), payload)
    return parts


def json_body(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
