"""Every value the desk takes from the upstream, checked and bounded before it is written or
acted on (docs/sync.md, "What the desk trusts").

A district server can be wrong (a bug, a bad restore) or hostile. One reply with a seq of
2**63-1 used to move the desk's outbox counter to SQLite's last integer, after which every
intake failed with a false "disk is full"; a code with a 30-digit counter did the same to the
dossier counters. So nothing from a reply reaches the database unchecked: each reply is parsed
here into plain values, and a value of the wrong type or out of range raises
:class:`BadUpstreamValue` naming the endpoint, the field and the value. The run then stops
before its transaction (exit 40, ``bad_upstream_value``) and nothing of that reply is written.

Bounds: seqs, cursors and counters are at most 2**53-1 (the largest integer JSON carries
exactly on every platform), leaving SQLite's 64-bit counters room for thousands of years of
rows; a code's counter at most :data:`MAX_CODE_COUNTER`; ids and epochs at most
:data:`MAX_ID_CHARS` characters of a plain alphabet; dossier codes (whose pattern may hold any
literal text) at most :data:`MAX_CODE_CHARS` printable characters.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sync import protocol

MAX_SEQ = 2 ** 53 - 1
# A dossier code's sequence number (``{seq:04}``): a commune issues a few hundred a day, and a
# pattern without a date counts for the desk's whole life; a billion leaves room for both.
MAX_CODE_COUNTER = 999_999_999
MAX_ID_CHARS = 64
MAX_CODE_CHARS = 128                   # an agency code (40) and the pattern's own text
MAX_TEXT_CHARS = 300
MIN_BATCH_BYTES = 1024
MAX_BATCH_BYTES = 64 * 1024 * 1024
MAX_SESSION_S = 7 * 24 * 3600
MAX_RECORD_SCHEMA = 1000
MAX_ITEMS = 10_000                     # changes or codes in one reply (the desk asks for fewer)
# An ack file answers a whole USB bundle: a commune offline for a year writes tens of thousands.
MAX_ACK_RESULTS = 1_000_000
MAX_ACK_FILE_BYTES = 128 * 1024 * 1024
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/#+=\-]*")
STATUSES = frozenset({"received", "waiting_supplement", "refused", "in_progress", "handed_off",
                      "result_ready", "returned", "stopped", "withdrawn"})
CHANGE_KINDS = frozenset({"result", "status", "correction"})
DELIVERIES = frozenset({"desk", "post", "online"})
SCHEDULE_KIND = "calendar_schedule"    # the official holiday schedule (docs/calendar.md)
# A dossier a citizen filed on the portal, waiting for reception (docs/upstream.md, "Online
# filings"): its fields and their bounds, checked on the relay and again on the desk.
FILING_KIND = "online_filing"
FILING_LIMITS = {"portal_code": 50, "procedure_code": 16, "procedure_name": 1000,
                 "applicant_name": 250, "applicant_id_number": 20, "applicant_phone": 20,
                 "applicant_email": 254, "applicant_address": 500, "summary": 1000,
                 "filed_at": 32, "channel": 20, "status": 2, "unit": 50}
FILING_CHANNELS = frozenset({"online_full", "online_partial"})
# A filing closed at the relay (taken by a dossier, or gone from the portal) carries ``closed``
# beside its fields: a desk that does not know the key reads the change as a filing it has.
FILING_CLOSED_LIMITS = {"why": 20, "dossier_code": MAX_CODE_CHARS, "desk": MAX_ID_CHARS,
                        "status": 20, "at": 40}
_WHY = re.compile(r"[a-z_]{1,20}")
_PROCEDURE = re.compile(r"\d\.\d{6}")


class BadUpstreamValue(Exception):
    """A reply value out of its type or range; ``detail`` names where (no personal data: the
    fields checked here are protocol fields, ids and dossier codes)."""

    code = "bad_upstream_value"

    def __init__(self, endpoint: str, field: str, value: Any, expected: str) -> None:
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "…"
        self.detail = f"{endpoint}: {field} = {shown} ({expected})"
        super().__init__(self.detail)


# ---- field checks --------------------------------------------------------------------------
def _int(endpoint: str, field: str, value: Any, low: int = 0, high: int = MAX_SEQ) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadUpstreamValue(endpoint, field, value, f"an integer {low}–{high}")
    return value


def _ident(endpoint: str, field: str, value: Any, *, empty: bool = False) -> str:
    if isinstance(value, str) and ((empty and value == "") or (
            len(value) <= MAX_ID_CHARS and _ID.fullmatch(value))):
        return value
    raise BadUpstreamValue(endpoint, field, value,
                           f"an id of at most {MAX_ID_CHARS} letters, digits or . _ : / # + = -")


def _code(endpoint: str, field: str, value: Any) -> str:
    """A dossier code: the office's pattern may hold any literal text (ccdesk/domain/codes.py),
    so any printable text of a code's length, never empty."""
    if not value or not isinstance(value, str) or value != value.strip():
        raise BadUpstreamValue(endpoint, field, value, "a dossier code")
    return _text(endpoint, field, value, MAX_CODE_CHARS)


def _text(endpoint: str, field: str, value: Any, limit: int = MAX_TEXT_CHARS) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit or any(
            ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise BadUpstreamValue(endpoint, field, value, f"text of at most {limit} characters")
    return value


def _message(endpoint: str, field: str, value: Any) -> str:
    """A server's free-text explanation, kept for a person: any text, flattened to one line
    and cut to :data:`MAX_TEXT_CHARS` (a long message is no reason to refuse a reply)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadUpstreamValue(endpoint, field, value, "text")
    flat = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in value[:2000])
    return flat[:MAX_TEXT_CHARS]


def _bool(endpoint: str, field: str, value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadUpstreamValue(endpoint, field, value, "true or false")
    return value


def _dict(endpoint: str, field: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadUpstreamValue(endpoint, field, value, "an object")
    return value


def _list(endpoint: str, field: str, value: Any, limit: int = MAX_ITEMS) -> list[Any]:
    if not isinstance(value, list) or len(value) > limit:
        raise BadUpstreamValue(endpoint, field, type(value).__name__,
                               f"a list of at most {limit}")
    return value


def _one_of(endpoint: str, field: str, value: Any, allowed: frozenset[str]) -> str:
    if value not in allowed:
        raise BadUpstreamValue(endpoint, field, value, "one of " + ", ".join(sorted(allowed)))
    return value


def parse_utc(value: Any) -> datetime | None:
    """The server's clock, naive UTC; None when missing or unreadable (only the offset shown in
    ``sync status`` depends on it, and it is bounded to the years a desk can live in)."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.removesuffix("Z")).replace(tzinfo=None)
    except ValueError:
        return None
    return parsed if 2000 <= parsed.year <= 2200 else None


# ---- replies -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Hello:
    epoch: str
    received_through_seq: int
    server_time: datetime | None
    preferred_batch_bytes: int
    max_batch_bytes: int
    accept_demo: bool
    dictionary: str | None = None      # the compression dictionary both sides have, if any
    session_s: int = 0                 # seconds the desk may push without a hello (0: never)
    max_file_chunk_bytes: int = 0      # the relay takes files in chunks of at most this (0: none)
    records: int = 1                   # the highest record schema the relay reads


def hello(data: dict[str, Any], offered: tuple[str, ...] = ()) -> Hello:
    """``GET /hello`` (already known to be our service's reply). A dictionary the desk did not
    offer is ignored: the desk keeps plain zstd, as with a relay that names none."""
    where = "hello"
    named = data.get("dictionary")
    limits = _dict(where, "limits", data.get("limits"))
    device = _dict(where, "device", data.get("device"))
    preferred = limits.get("preferred_batch_bytes") or protocol.DEFAULT_PREFERRED_BATCH_BYTES
    hard = limits.get("max_batch_bytes") or protocol.DEFAULT_MAX_BATCH_BYTES
    return Hello(
        epoch=_ident(where, "epoch", data.get("epoch")),
        received_through_seq=_int(where, "device.received_through_seq",
                                  device.get("received_through_seq") or 0),
        server_time=parse_utc(data.get("server_time")),
        preferred_batch_bytes=_int(where, "limits.preferred_batch_bytes", preferred,
                                   MIN_BATCH_BYTES, MAX_BATCH_BYTES),
        max_batch_bytes=_int(where, "limits.max_batch_bytes", hard, MIN_BATCH_BYTES,
                             MAX_BATCH_BYTES),
        accept_demo=_bool(where, "accept_demo", data.get("accept_demo")),
        dictionary=named if isinstance(named, str) and named in offered else None,
        session_s=_int(where, "session_s", data.get("session_s") or 0, 0, MAX_SESSION_S),
        max_file_chunk_bytes=_int(where, "limits.max_file_chunk_bytes",
                                  limits.get("max_file_chunk_bytes") or 0, 0, MAX_BATCH_BYTES),
        records=_int(where, "records", data.get("records") or 1, 1, MAX_RECORD_SCHEMA))


@dataclass(frozen=True)
class IssuedCodes:
    codes: list[str]
    more: bool
    after_seq: int


def issued_codes(data: dict[str, Any], after: int, through: int) -> IssuedCodes:
    """``GET /issued-codes``: each a dossier code; paging moves forward and stays within what
    the server said it holds (``through``), so the loop over pages ends."""
    where = "issued-codes"
    codes = [_code(where, f"codes[{i}]", code)
             for i, code in enumerate(_list(where, "codes", data.get("codes")))]
    more = _bool(where, "more", data.get("more"))
    after_seq = _int(where, "after_seq", data.get("after_seq", after), after, through) \
        if more else after
    if more and after_seq <= after:
        raise BadUpstreamValue(where, "after_seq", after_seq, f"more than {after}")
    return IssuedCodes(codes, more, after_seq)


def code_counter(code: str, counter: int) -> None:
    """A code this desk issued, as the upstream holds it: its counter must be in range."""
    _int("issued-codes", f"counter of {code}", counter, 0, MAX_CODE_COUNTER)


@dataclass(frozen=True)
class Changes:
    changes: list[dict[str, Any]]
    cursor: int
    more: bool
    resync: bool = False      # the relay started the feed again from 0 (a cursor it lost)


def changes(data: dict[str, Any], cursor: int) -> Changes:
    """``GET /changes``: every change's ids, statuses and corrected fields, and the cursor."""
    where = "changes"
    checked = [_change(where, i, change)
               for i, change in enumerate(_list(where, "changes", data.get("changes")))]
    new_cursor = _int(where, "cursor", data.get("cursor") or cursor)
    return Changes(checked, new_cursor, _bool(where, "more", data.get("more")))


def _change(where: str, i: int, change: Any) -> dict[str, Any]:
    at = f"changes[{i}]"
    change = _dict(where, at, change)
    if change.get("kind") == SCHEDULE_KIND:
        return {"change_id": _ident(where, f"{at}.change_id", change.get("change_id")),
                "seq": _int(where, f"{at}.seq", change.get("seq")), "kind": SCHEDULE_KIND,
                "data": schedule(where, f"{at}.data", change.get("data"))}
    if change.get("kind") == FILING_KIND:
        return {"change_id": _ident(where, f"{at}.change_id", change.get("change_id")),
                "seq": _int(where, f"{at}.seq", change.get("seq")), "kind": FILING_KIND,
                "dossier_code": _code(where, f"{at}.dossier_code", change.get("dossier_code")),
                "data": filing(where, f"{at}.data", change.get("data"))}
    kind = _one_of(where, f"{at}.kind", change.get("kind"), CHANGE_KINDS)
    data = _dict(where, f"{at}.data", change.get("data"))
    if kind == "correction":
        _correction(where, f"{at}.data", data)
    return {"change_id": _ident(where, f"{at}.change_id", change.get("change_id")),
            "seq": _int(where, f"{at}.seq", change.get("seq")),
            "dossier_code": _code(where, f"{at}.dossier_code", change.get("dossier_code")),
            "kind": kind,
            "base_status": _one_of(where, f"{at}.base_status", change.get("base_status"),
                                   STATUSES),
            "status": _one_of(where, f"{at}.status", change.get("status"), STATUSES),
            "data": data}


def _correction(where: str, at: str, data: dict[str, Any]) -> None:
    """The fields a district may correct (sync/inbox.py ``CORRECTABLE``), each in range."""
    for name, value in data.items():
        if name == "due_at":
            if not isinstance(value, str) or parse_utc(value) is None:
                raise BadUpstreamValue(where, f"{at}.due_at", value, "a date and time")
        elif name == "handling_body":
            _text(where, f"{at}.handling_body", value, 200)
        elif name == "fee_amount":
            _int(where, f"{at}.fee_amount", value, 0, 10 ** 12)
        elif name == "delivery":
            _one_of(where, f"{at}.delivery", value, DELIVERIES)
        else:
            raise BadUpstreamValue(where, f"{at}", name, "a correctable field")


def schedule(where: str, field: str, value: Any) -> dict[str, Any]:
    """The official holiday schedule the relay carries (change feed entry or ack member):
    the whole payload checked here, before anything is written, by the desk's own parser
    (size ≤ 256 KiB, SHA-256, format, every day; docs/calendar.md). Returns the payload."""
    from ccdesk.domain.errors import CcdeskError
    from ccdesk.services.official_calendar import parse_payload

    if not isinstance(value, dict):
        raise BadUpstreamValue(where, field, type(value).__name__, "a schedule object")
    try:
        parse_payload(value)
    except CcdeskError as err:
        # The message names the field and line, never personal data: a schedule holds none.
        first = err.message("en").splitlines()[0] if err.message("en") else err.key
        raise BadUpstreamValue(where, field, value.get("version"),
                               f"a valid official schedule: {first[:120]}") from err
    return {key: value[key] for key in ("kind", "format", "version", "sha256", "toml")}


def filing(where: str, field: str, value: Any) -> dict[str, str]:
    """An online filing from the relay: every field text of its bound, one line; the code,
    procedure code, channel and date of their shape. Returns only the known fields."""
    data = _dict(where, field, value)
    out = {}
    for name, limit in FILING_LIMITS.items():
        if name in ("status", "unit"):
            continue
        try:
            out[name] = _text(where, f"{field}.{name}", data.get(name), limit)
        except BadUpstreamValue as exc:   # a citizen's data: name the field, not the value
            raise BadUpstreamValue(where, f"{field}.{name}", "…",
                                   f"text of at most {limit} characters") from exc
    out["portal_code"] = _code(where, f"{field}.portal_code", data.get("portal_code"))
    if not _PROCEDURE.fullmatch(out["procedure_code"]):
        raise BadUpstreamValue(where, f"{field}.procedure_code", out["procedure_code"],
                               "a procedure code d.dddddd")
    if not out["applicant_name"].strip():
        raise BadUpstreamValue(where, f"{field}.applicant_name", "…", "a name")
    _one_of(where, f"{field}.channel", out["channel"], FILING_CHANNELS)
    if out["filed_at"]:
        try:
            datetime.fromisoformat(out["filed_at"])
        except ValueError as exc:
            raise BadUpstreamValue(where, f"{field}.filed_at", out["filed_at"],
                                   "a date and time") from exc
    if data.get("closed") is not None:
        out.update(filing_closed(where, f"{field}.closed", data["closed"]))
    return out


def filing_closed(where: str, field: str, value: Any) -> dict[str, str]:
    """The ``closed`` of a filing (why, and for one a desk received: the dossier's code, the
    desk and the status it was received in), as ``closed_<key>`` entries."""
    data = _dict(where, field, value)
    out = {f"closed_{name}": _text(where, f"{field}.{name}", data.get(name), limit)
           for name, limit in FILING_CLOSED_LIMITS.items()}
    if not _WHY.fullmatch(out["closed_why"]):
        raise BadUpstreamValue(where, f"{field}.why", out["closed_why"], "a reason word")
    return out


class RecordResult(NamedTuple):
    """One record's checked result. A tuple: a batch reply holds thousands."""

    seq: int
    mutation_id: str | None
    result: str
    code: str = ""
    message: str = ""
    upstream_status: str = ""


_RESULTS = frozenset(protocol.RESULTS)
_PLAIN = frozenset({protocol.APPLIED, protocol.DUPLICATE})


def record_results(where: str, items: Any, limit: int = MAX_ITEMS) -> dict[int, RecordResult]:
    """The per-record results of a batch reply or an ack file, by seq."""
    out: dict[int, RecordResult] = {}
    for i, item in enumerate(_list(where, "results", items, limit)):
        if type(item) is dict and len(item) == 2:
            # Nearly every result is ``{"seq", "result": applied|duplicate}``: checked here
            # with the same bounds as below, without the per-field helpers.
            seq, result = item.get("seq"), item.get("result")
            if type(seq) is int and 0 <= seq <= MAX_SEQ and result in _PLAIN:
                out[seq] = RecordResult(seq, None, result)
                continue
        at = f"results[{i}]"
        item = _dict(where, at, item)
        mutation = item.get("id")
        out[_int(where, f"{at}.seq", item.get("seq"))] = RecordResult(
            seq=item["seq"],
            mutation_id=None if mutation is None else _ident(where, f"{at}.id", mutation),
            result=_one_of(where, f"{at}.result", item.get("result"), _RESULTS),
            code=_text(where, f"{at}.code", item.get("code"), MAX_ID_CHARS),
            message=_message(where, f"{at}.message", item.get("message")),
            # A push conflict's upstream status becomes the starting state of the desk's
            # keep_local event (sync/conflicts.py): only a known status, or none.
            upstream_status=_one_of(where, f"{at}.upstream_status",
                                    item.get("upstream_status") or "", STATUSES | {""}))
    return out


def batch_results(where: str, reply: Any, seqs: list[int]) -> dict[int, RecordResult]:
    """The per-record results of a batch reply, either form: a list of ``results``, or (a
    compact reply, ``v`` ≥ 2) ``applied`` and ``duplicate`` seq ranges and the other results
    listed. A range only ever answers the seqs this batch sent (``seqs``, ascending)."""
    if reply.get("v", 1) == 1:
        return record_results(where, reply.get("results"))
    out = record_results(where, reply.get("results", []))
    for kind in (protocol.APPLIED, protocol.DUPLICATE):
        runs = [(_int(where, f"{kind}[{i}]", run[0]), _int(where, f"{kind}[{i}]", run[1]))
                for i, run in enumerate(_list(where, kind, reply.get(kind, []), MAX_ITEMS))
                if _pair(where, f"{kind}[{i}]", run)]
        for first, last in runs:
            for seq in seqs[bisect_left(seqs, first):bisect_right(seqs, last)]:
                out.setdefault(seq, RecordResult(seq=seq, mutation_id=None, result=kind))
    return out


def _pair(where: str, field: str, value: Any) -> bool:
    if not (isinstance(value, list) and len(value) == 2):
        raise BadUpstreamValue(where, field, value, "a [first, last] seq range")
    return True


def as_sent(r: RecordResult) -> dict[str, Any]:
    """A checked result with the wire's keys (kept with a push conflict for a person)."""
    return {"seq": r.seq, "id": r.mutation_id, "result": r.result, "code": r.code,
            "message": r.message, "upstream_status": r.upstream_status}


@dataclass(frozen=True)
class Enrolment:
    commune: str
    server_public_key: str
    epoch: str


def enrolment(data: dict[str, Any]) -> Enrolment:
    """``POST /devices/enroll``: the commune (a code of digits), the server's ack-signing key
    (32 bytes, base64url) and the epoch."""
    where = "enroll"
    commune = data.get("commune")
    if not isinstance(commune, str) or not re.fullmatch(r"\d{1,10}", commune):
        raise BadUpstreamValue(where, "commune", commune, "a commune code of digits")
    key = data.get("server_public_key") or ""
    if key and not (isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_\-]{43}", key)):
        raise BadUpstreamValue(where, "server_public_key", key, "an Ed25519 public key")
    return Enrolment(commune, key, _ident(where, "epoch", data.get("epoch") or "", empty=True))
