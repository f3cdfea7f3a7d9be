"""The request and reply of a national-database check: the one module that knows their shape.

The real national population database (CSDLQG về dân cư) and the civil-status database are
reached through the province's data integration platform (LGSP/NDXP); that contract is not
public. What is here is ccdesk's own assumption, served by the conformance double
(``ccdesk verify double``) and documented in docs/verification.md, "The contract": when a
province hands over its real contract, this module (and the double) change, nothing else.

Request (``POST <url>/v1/citizen-checks``, JSON, HTTP Basic credentials)::

    {"request_id": "<uuid>", "id_number": "001085012347", "full_name": "Nguyễn Văn An",
     "birth_date": "1985-04-02" | null, "record": "identity"}

Reply (200, JSON)::

    {"request_id": "<the same>", "result": "match" | "not_found" | "mismatch",
     "reference": "<the database's reference of the look-up, optional>"}

Any other answer (a status other than 200, a body too large, not JSON, another request id, an
unknown result) is not an answer: the check is tried again later, never decided.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from ccdesk.domain.vocabulary import NationalRecord, VerificationState

PATH = "/v1/citizen-checks"
MAX_REPLY_BYTES = 16 * 1024
MAX_REQUEST_BYTES = 4 * 1024
REFERENCE = re.compile(r"^[A-Za-z0-9._:-]{0,64}$")
REQUEST_ID = re.compile(r"^[0-9a-f-]{36}$")
ID_NUMBER = re.compile(r"^\d{12}$")
MAX_NAME = 100

# The database's answer -> the item's state.
RESULTS = {"match": VerificationState.VERIFIED, "not_found": VerificationState.NOT_FOUND,
           "mismatch": VerificationState.MISMATCH}


class ReplyError(ValueError):
    """A reply that is not an answer; the message names what was wrong (never its content)."""


@dataclass(frozen=True)
class CheckRequest:
    request_id: str
    id_number: str
    full_name: str
    birth_date: date | None
    record: NationalRecord

    def body(self) -> bytes:
        return orjson.dumps({"request_id": self.request_id, "id_number": self.id_number,
                             "full_name": self.full_name,
                             "birth_date": self.birth_date.isoformat() if self.birth_date
                             else None, "record": self.record.value})


@dataclass(frozen=True)
class CheckReply:
    state: VerificationState
    reference: str = ""


def parse_request(raw: bytes) -> CheckRequest:
    """The double's side: a request, validated and bounded (``ValueError`` naming the field)."""
    if len(raw) > MAX_REQUEST_BYTES:
        raise ValueError("request too large")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ValueError("request is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError("request is not an object")
    request_id, id_number = data.get("request_id"), data.get("id_number")
    name, born, record = data.get("full_name"), data.get("birth_date"), data.get("record")
    if not isinstance(request_id, str) or not REQUEST_ID.fullmatch(request_id):
        raise ValueError("request_id")
    if not isinstance(id_number, str) or not ID_NUMBER.fullmatch(id_number):
        raise ValueError("id_number")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME:
        raise ValueError("full_name")
    if record not in NationalRecord.values():
        raise ValueError("record")
    try:
        birth = date.fromisoformat(born) if isinstance(born, str) else None
    except ValueError:
        raise ValueError("birth_date") from None
    if born is not None and birth is None:
        raise ValueError("birth_date")
    return CheckRequest(request_id, id_number, name, birth, NationalRecord(record))


def reply_body(request_id: str, result: str, reference: str = "") -> bytes:
    return orjson.dumps({"request_id": request_id, "result": result, "reference": reference})


def parse_reply(raw: bytes, request_id: str) -> CheckReply:
    """The desk's side: the answer to ``request_id`` or a :class:`ReplyError`."""
    if len(raw) > MAX_REPLY_BYTES:
        raise ReplyError("reply too large")
    try:
        data: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ReplyError("reply is not JSON") from None
    if not isinstance(data, dict):
        raise ReplyError("reply is not an object")
    if data.get("request_id") != request_id:
        raise ReplyError("reply answers another request")
    result = data.get("result")
    if result not in RESULTS:
        raise ReplyError("unknown result")
    reference = data.get("reference") or ""
    if not isinstance(reference, str) or not REFERENCE.fullmatch(reference):
        raise ReplyError("reference")
    return CheckReply(RESULTS[result], reference)
