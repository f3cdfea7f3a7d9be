"""The compact record schema of ``POST /batches`` (docs/sync.md, "Compact records").

A batch body of schema 1 carries each outbox row as its canonical JSON: every key spelt out,
every default, dates as ISO text, the dossier code in every record. Schema 2 carries the same
information in fewer bytes, and the relay expands it back to exactly the records of schema 1
(``expand``), so everything after the body's decoding is what it was:

* a record is ``[seq step, id, op, code, t, payload]``: the seq as the step from the previous
  record's (the first from 0), the mutation id's 16 bytes in base64url, the op as its index in
  ``OPS``, the dossier code as 0 when it is the previous record's, the client time as seconds
  from the event's time (both are the desk's clock: UTC and local time);
* a payload keeps only the values that differ from the field's default, under short keys (the
  tables below); times are seconds from the event's time (the event's own ``at`` from
  ``BASE``), dates days from ``DAY_ZERO``, vocabulary values their index in a frozen list.

Exact by construction and checked: a record is compacted only if expanding the result gives
back the very same record (``compact_record``); anything else (an unknown key, a value of an
unexpected type or form, a row written before a field existed) goes as schema 1 inside the
batch (its op spelt out), so nothing is ever lost or changed in transit.

Versioned: each field says in which revision it arrived (``since``). The relay says at
``/hello`` the highest revision it reads (``records``); the desk writes
``min(REVISION, that)``, and a field newer than the batch's revision makes its record go as
schema 1. A relay refuses a revision it does not know (``400 unknown_schema``). Adding an
optional field is one line in its table, with ``since=REVISION + 1`` (``REVISION`` follows).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import orjson

from ccdesk.domain.catalog import DocForm, Requirement
from ccdesk.domain.lifecycle import Action
from ccdesk.domain.vocabulary import ApplicantKind, Channel, Delivery, Regime, Sex, Status
from sync import protocol
from sync.protocol import OP_CREATE, OP_EVENT

SCHEMA_KEY = "v"                 # the body's schema; absent: schema 1
BASE = datetime(2020, 1, 1)      # event times: seconds since then
_BASE_DAY = BASE.toordinal()
DAY_ZERO = date(1900, 1, 1)      # dates (of birth, of issue): days since then
OPS = (OP_CREATE, OP_EVENT)      # frozen: an op's index is its code on the wire
_MISSING = object()
# A desk reads at most 5,000 rows at a time (EngineOptions.max_records), so a batch never
# holds more; the bound keeps a crafted body of tiny records from expanding without limit
# (each expands to at most a few kB: its defaults, times, dates and listed words).
MAX_RECORDS = 20_000


class NotCompact(Exception):
    """This value (or record) has no compact form: it goes as it is."""


class UnknownSchema(ValueError):
    """A body of a schema revision this side does not read."""


# ---- value kinds: each maps a JSON value to its compact form and back, or refuses it ---------
@dataclass(frozen=True)
class Kind:
    encode: Callable[[Any, int], Any]      # (value, anchor seconds) -> compact
    decode: Callable[[Any, int], Any]
    values: tuple[str, ...] = ()           # a vocabulary's frozen list


def _plain_encode(value: Any, _anchor: int) -> Any:
    if isinstance(value, (dict, list)):
        raise NotCompact        # only scalars: a nested value would need its own table
    return value


def _text_encode(value: Any, _anchor: int) -> Any:
    if not isinstance(value, str):
        raise NotCompact
    return value


_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d):([0-5]\d)")


@lru_cache(maxsize=4096)
def _day_number(text: str) -> int:
    """``YYYY-MM-DD`` as days since BASE (NotCompact unless it is that form exactly)."""
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise NotCompact from exc
    if day.isoformat() != text:
        raise NotCompact
    return day.toordinal() - _BASE_DAY


@lru_cache(maxsize=4096)
def _day_text(number: int) -> str:
    try:
        return date.fromordinal(number + _BASE_DAY).isoformat()
    except OverflowError as exc:            # a crafted number far beyond any calendar
        raise ValueError("a compact time or date out of range") from exc


def _seconds(text: str, sep: str = "T") -> int:
    """``YYYY-MM-DDTHH:MM:SS`` as whole seconds since BASE, or NotCompact."""
    clock = _CLOCK.fullmatch(text, 11) if len(text) == 19 and text[10] == sep else None
    if clock is None:
        raise NotCompact
    return (_day_number(text[:10]) * 86400 + int(clock[1]) * 3600 + int(clock[2]) * 60
            + int(clock[3]))


def _time_text(seconds: int, sep: str = "T") -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{_day_text(days)}{sep}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _anchor_encode(value: Any, _anchor: int) -> Any:
    if not isinstance(value, str):
        raise NotCompact
    return _seconds(value)


def _anchor_decode(value: Any, _anchor: int) -> Any:
    return _time_text(_int(value))


def _time_encode(value: Any, anchor: int) -> Any:
    """A time or None; a time as seconds from the event's."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise NotCompact
    return _seconds(value) - anchor


def _time_decode(value: Any, anchor: int) -> Any:
    return None if value is None else _time_text(anchor + _int(value))


_DATE_SHIFT = _BASE_DAY - DAY_ZERO.toordinal()


def _date_encode(value: Any, _anchor: int) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 10:
        raise NotCompact
    return _day_number(value) + _DATE_SHIFT


def _date_decode(value: Any, _anchor: int) -> Any:
    return None if value is None else _day_text(_int(value) - _DATE_SHIFT)


def _int(value: Any) -> int:
    if type(value) is not int:
        raise ValueError("a compact time or date is an integer")
    return value


def vocabulary(*members: str) -> Kind:
    """A value of a frozen list (new members go at the end: an index is the wire's code);
    None stays None, anything else has no compact form."""
    codes = {str(m): i for i, m in enumerate(members)}
    values = [str(m) for m in members]

    def encode(value: Any, _anchor: int) -> Any:
        if value is None:
            return None
        if not isinstance(value, str) or value not in codes:
            raise NotCompact
        return codes[value]

    def decode(value: Any, _anchor: int) -> Any:
        if value is None:
            return None
        if type(value) is not int or not 0 <= value < len(values):
            raise ValueError("unknown vocabulary code")
        return values[value]

    return Kind(encode, decode, tuple(values))


PLAIN = Kind(_plain_encode, lambda value, _a: value)
TEXT = Kind(_text_encode, lambda value, _a: value)
AT = Kind(_anchor_encode, _anchor_decode)        # the event's own time: the record's anchor
TIME = Kind(_time_encode, _time_decode)
DATE = Kind(_date_encode, _date_decode)
# Frozen for schema 2, in this order (never sorted, never taken from the enums' order, which
# may change): a member added to the vocabulary goes at the end of its list here; until then
# a record carrying it goes whole.
STATUS = vocabulary(Status.RECEIVED, Status.WAITING_SUPPLEMENT, Status.REFUSED,
                    Status.IN_PROGRESS, Status.HANDED_OFF, Status.RESULT_READY,
                    Status.RETURNED, Status.STOPPED, Status.WITHDRAWN)
ACTION = vocabulary(Action.ACCEPT, Action.REQUEST_SUPPLEMENT, Action.SUPPLEMENT_RECEIVED,
                    Action.REFUSE, Action.START, Action.HAND_OFF, Action.RESULT_BACK,
                    Action.MARK_READY, Action.RETURN_RESULT, Action.EXTEND, Action.STOP,
                    Action.WITHDRAW, Action.REPRINT, Action.RATE, Action.UPSTREAM_UPDATE,
                    Action.KEEP_LOCAL, Action.ATTACH, Action.DETACH, Action.NATIONAL_CHECK)
FORM = vocabulary("", DocForm.ORIGINAL, DocForm.CERTIFIED_COPY, DocForm.PHOTOCOPY,
                  DocForm.SHOW)                # "": not received
REQUIREMENT = vocabulary(Requirement.REQUIRED, Requirement.OPTIONAL, Requirement.CONDITIONAL)
CHANNEL = vocabulary(Channel.DIRECT, Channel.POSTAL, Channel.ONLINE_FULL,
                     Channel.ONLINE_PARTIAL)
DELIVERY = vocabulary(Delivery.DESK, Delivery.POST, Delivery.ONLINE)
SEX = vocabulary("", Sex.MALE, Sex.FEMALE)
APPLICANT = vocabulary(ApplicantKind.CITIZEN, ApplicantKind.REPRESENTATIVE,
                       ApplicantKind.ORGANISATION)
REGIME = vocabulary(Regime.R2025, Regime.R2018)


# ---- tables -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    name: str             # the key in the payload
    key: str              # the key on the wire (unique in its table)
    kind: Kind
    default: Any = _MISSING   # omitted on the wire when the value is exactly this
    since: int = 2            # the schema revision that brought it


def _same(value: Any, default: Any) -> bool:
    """Equal and of the same type (``0 == False == 0.0`` in Python, not on the wire)."""
    return type(value) is type(default) and value == default


class Table:
    """One object's fields: all of them present in every payload (``full``), or any of them
    (a dossier's ``changes``)."""

    def __init__(self, fields: tuple[Field, ...], full: bool = True) -> None:
        self.fields, self.full = fields, full
        self.by_name = {f.name: f for f in fields}
        self.by_key = {f.key: f for f in fields}
        self._by_revision: dict[int, dict[str, Field]] = {}
        if len(self.by_name) != len(fields) or len(self.by_key) != len(fields):
            raise ValueError("field names and keys must be unique")

    def encode(self, obj: Any, anchor: int, revision: int,
               skip: frozenset[str] = frozenset()) -> dict[str, Any]:
        """``skip``: payload keys carried elsewhere (a snapshot's ``code``)."""
        if not isinstance(obj, dict):
            raise NotCompact
        known = self._known(revision)
        keys = obj.keys() - skip if skip else obj.keys()
        if (keys != known.keys()) if self.full else not keys <= known.keys():
            raise NotCompact            # a key this revision has no field for, or one missing
        out: dict[str, Any] = {}
        for name in keys:
            f, value = known[name], obj[name]
            if self.full and f.default is not _MISSING and _same(value, f.default):
                continue
            out[f.key] = f.kind.encode(value, anchor)
        return out

    def _known(self, revision: int) -> dict[str, Field]:
        known = self._by_revision.get(revision)
        if known is None:
            known = {f.name: f for f in self.fields if f.since <= revision}
            self._by_revision[revision] = known
        return known

    def decode(self, obj: Any, anchor: int, revision: int) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise ValueError("a compact object is a JSON object")
        out: dict[str, Any] = {}
        for key, value in obj.items():
            f = self.by_key.get(key)
            if f is None or f.since > revision:
                raise ValueError(f"unknown compact key {key!r}")
            out[f.name] = f.kind.decode(value, anchor)
        if self.full:
            for f in self.fields:
                if f.since <= revision and f.name not in out:
                    if f.default is _MISSING:
                        raise ValueError(f"compact object without {f.name!r}")
                    out[f.name] = f.default
        return out


# A dossier's columns as a snapshot carries them (``code`` is the record's code).
DOSSIER_FIELDS = (
    Field("accepted_at", "ac", TIME),
    Field("applicant_address", "aa", TEXT, ""),
    Field("applicant_dob", "ab", DATE, None),
    Field("applicant_email", "ae", TEXT, ""),
    Field("applicant_id_issued", "ai", DATE, None),
    Field("applicant_id_number", "an", TEXT, ""),
    Field("applicant_id_type", "at", TEXT),
    Field("applicant_kind", "ak", APPLICANT, str(ApplicantKind.CITIZEN)),
    Field("applicant_name", "nm", TEXT),
    Field("applicant_old_id", "ao", TEXT, ""),
    Field("applicant_phone", "ap", TEXT, ""),
    Field("applicant_sex", "as", SEX, ""),
    Field("authorisation", "au", TEXT, ""),
    Field("channel", "ch", CHANNEL, str(Channel.DIRECT)),
    Field("closed_at", "cl", TIME, None),
    Field("delivery", "de", DELIVERY, str(Delivery.DESK)),
    Field("due_at", "du", TIME, None),
    Field("extensions", "ex", PLAIN, 0),
    Field("fee_amount", "fe", PLAIN, 0),
    Field("field", "fi", TEXT),
    Field("handed_off_at", "ho", TIME, None),
    Field("handling_body", "hb", TEXT),
    Field("needs_verification", "nv", PLAIN, False),
    Field("original_due_at", "od", TIME, None),
    Field("owner_address", "wa", TEXT, ""),
    Field("owner_id_number", "wn", TEXT, ""),
    Field("owner_id_type", "wt", TEXT),
    Field("owner_name", "wm", TEXT, ""),
    Field("owner_tax_code", "wx", TEXT, ""),
    Field("party2_dob", "pb", DATE, None),
    Field("party2_id_number", "pn", TEXT, ""),
    Field("party2_id_type", "pt", TEXT),
    Field("party2_name", "pm", TEXT, ""),
    Field("paused_at", "pa", TIME, None),
    Field("portal_code", "pc", TEXT, ""),
    Field("procedure_code", "pr", TEXT),
    Field("ready_at", "ra", TIME, None),
    Field("received_at", "rc", TIME),
    Field("regime", "rg", REGIME, str(Regime.R2025)),
    Field("result_back_at", "rb", TIME, None),
    Field("resume_status", "rs", STATUS, None),
    Field("returned_at", "rt", TIME, None),
    Field("sets", "se", PLAIN, 1),
    Field("status", "st", STATUS),
    Field("supplement_rounds", "sr", PLAIN, 0),
    Field("updated_at", "up", TIME),
)
DOSSIER = Table(DOSSIER_FIELDS)
CHANGES = Table(DOSSIER_FIELDS, full=False)
CHECKLIST_ITEM = Table((
    Field("condition", "c", TEXT, ""),
    Field("form", "f", FORM),
    Field("name", "n", TEXT),
    Field("note", "o", TEXT, ""),
    Field("position", "p", PLAIN),
    Field("quantity", "q", PLAIN, 1),
    Field("received", "r", PLAIN, False),
    Field("received_form", "g", FORM, ""),
    Field("received_quantity", "k", PLAIN, 0),
    Field("requirement", "m", REQUIREMENT, str(Requirement.REQUIRED)),
))
EVENT = Table((
    Field("action", "a", ACTION),
    Field("at", "t", AT),
    Field("data", "d", Kind(lambda v, _a: _json_object(v), lambda v, _a: _json_object(v)),
          {}),
    Field("from_status", "f", STATUS, None),
    Field("officer", "o", TEXT),
    Field("reason", "r", TEXT, ""),
    Field("to_status", "s", STATUS),
))

REVISION = max(f.since for table in (DOSSIER, CHECKLIST_ITEM, EVENT) for f in table.fields)


def _json_object(value: Any) -> dict[str, Any]:
    """An event's ``data`` goes as it is (a few free keys); it must be an object."""
    if not isinstance(value, dict):
        raise NotCompact
    return value


# ---- payloads -----------------------------------------------------------------------------
def _anchor(payload: Any) -> int:
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, dict):
        raise NotCompact
    return _anchor_encode(event.get("at"), 0)


def encode_payload(op: str, code: str, payload: Any, revision: int) -> Any:
    """The compact payload of one record, or NotCompact."""
    anchor = _anchor(payload)
    if op == OP_CREATE:
        if payload.keys() != {"dossier", "checklist", "event"}:
            raise NotCompact
        snapshot, checklist = payload["dossier"], payload["checklist"]
        if not isinstance(snapshot, dict) or snapshot.get("code") != code \
                or not isinstance(checklist, list):
            raise NotCompact
        return [DOSSIER.encode(snapshot, anchor, revision, frozenset({"code"})),
                [CHECKLIST_ITEM.encode(item, anchor, revision) for item in checklist],
                EVENT.encode(payload["event"], anchor, revision)]
    if op == OP_EVENT:
        if payload.keys() != {"code", "event", "changes"} or payload["code"] != code:
            raise NotCompact
        changes = CHANGES.encode(payload["changes"], anchor, revision)
        event = EVENT.encode(payload["event"], anchor, revision)
        return [event, changes] if changes else [event]
    raise NotCompact


def decode_payload(op: str, code: str, compact: Any, revision: int) -> dict[str, Any]:
    """The payload a compact one stands for (ValueError when it is not one)."""
    if not isinstance(compact, list) or not compact or not isinstance(compact[-1], dict):
        raise ValueError("a compact payload is a list ending with an object")
    event_at = compact[2] if op == OP_CREATE and len(compact) == 3 else compact[0]
    if not isinstance(event_at, dict):
        raise ValueError("a compact payload has its event")
    anchor = _int(event_at.get("t"))
    if op == OP_CREATE:
        if len(compact) != 3 or not isinstance(compact[1], list):
            raise ValueError("a compact dossier.create is [dossier, checklist, event]")
        dossier = DOSSIER.decode(compact[0], anchor, revision)
        dossier["code"] = code
        return {"dossier": dossier,
                "checklist": [CHECKLIST_ITEM.decode(i, anchor, revision) for i in compact[1]],
                "event": EVENT.decode(compact[2], anchor, revision)}
    if len(compact) > 2:
        raise ValueError("a compact dossier.event is [event, changes?]")
    changes = CHANGES.decode(compact[1], anchor, revision) if len(compact) == 2 else {}
    return {"code": code, "event": EVENT.decode(compact[0], anchor, revision),
            "changes": changes}


# ---- records ------------------------------------------------------------------------------
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CLIENT_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?")


def _id_encode(mutation_id: str) -> str:
    """A canonical (lowercase) UUID as its 16 bytes in base64url."""
    if not _UUID.fullmatch(mutation_id):
        raise NotCompact
    raw = bytes.fromhex(mutation_id.replace("-", ""))
    return base64.urlsafe_b64encode(raw).decode()[:22]


def _id_decode(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 22:
        raise ValueError("a compact id is 22 base64url characters")
    h = base64.urlsafe_b64decode(value + "==").hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _client_time_encode(client_time: str, anchor: int) -> Any:
    """Seconds from the event's time (the clocks differ by the desk's UTC offset): a number
    for ``…HH:MM:SS.000000``, ``[seconds, microseconds]`` for another fraction, ``[seconds]``
    for a time written without one."""
    form = _CLIENT_TIME.fullmatch(client_time)
    if form is None:
        raise NotCompact
    seconds = _seconds(client_time[:19], " ") - anchor
    if form[1] is None:
        return [seconds]
    micro = int(form[1][1:])
    return [seconds, micro] if micro else seconds


def _client_time_decode(value: Any, anchor: int) -> str:
    if isinstance(value, list) and len(value) == 1:
        return _time_text(anchor + _int(value[0]), " ")
    seconds, micro = (value if isinstance(value, list) and len(value) == 2 else (value, 0))
    if not 0 <= _int(micro) < 1_000_000:
        raise ValueError("microseconds out of range")
    return f"{_time_text(anchor + _int(seconds), ' ')}.{micro:06d}"


def compact_record(seq: int, mutation_id: str, op: str, code: str, client_time: str,
                   payload_json: str | bytes, previous: tuple[int, str],
                   revision: int) -> list[Any]:
    """One outbox row as a record of schema ``revision``; ``previous``: the seq and code of
    the record before it in the batch (0 and "" for the first). Compact only when expanding
    it gives back this row byte for byte (its payload's canonical JSON included); otherwise
    the row goes whole, its op spelt out, its payload as stored."""
    step = seq - previous[0]
    same_code = bool(previous[1]) and code == previous[1]
    try:
        payload = orjson.loads(payload_json)
        anchor = _anchor(payload)
        compact = [step, _id_encode(mutation_id), OPS.index(op) if op in OPS else op,
                   0 if same_code else code, _client_time_encode(client_time, anchor),
                   encode_payload(op, code, payload, revision)]
        back = expand_record(compact, previous, revision)
        if (back["seq"], back["id"], back["op"], back["entity_id"], back["t"]) == (
                seq, mutation_id, op, code, client_time) and orjson.dumps(
                back["payload"], option=orjson.OPT_SORT_KEYS) == (
                    payload_json if isinstance(payload_json, bytes) else payload_json.encode()):
            return compact
    except (NotCompact, ValueError):
        pass
    return [step, mutation_id, op, 0 if same_code else code, client_time,
            orjson.Fragment(payload_json)]


def expand_record(compact: Any, previous: tuple[int, str], revision: int) -> dict[str, Any]:
    """The schema-1 record a compact one stands for (ValueError when it is malformed)."""
    if not isinstance(compact, list) or len(compact) != 6:
        raise ValueError("a compact record is [seq step, id, op, code, t, payload]")
    step, rid, op, code, client_time, payload = compact
    seq = previous[0] + _int(step)
    code = previous[1] if code == 0 and type(code) is int else code
    if not isinstance(code, str) or not code:
        raise ValueError("a compact record's code is text or 0")
    if isinstance(op, str):         # spelt out: the record as schema 1 carries it
        return {"seq": seq, "id": rid, "op": op, "entity_id": code, "t": client_time,
                "payload": payload}
    if type(op) is not int or not 0 <= op < len(OPS):
        raise ValueError("unknown compact op")
    decoded = decode_payload(OPS[op], code, payload, revision)
    anchor = _anchor_encode(decoded["event"]["at"], 0)
    return {"seq": seq, "id": _id_decode(rid), "op": OPS[op], "entity_id": code,
            "t": _client_time_decode(client_time, anchor), "payload": decoded}


def expand_body(body: dict[str, Any], known: int = REVISION) -> dict[str, Any]:
    """A batch body of schema 2 or later as the schema-1 body the relay applies; a body of
    schema 1 as it is. ``UnknownSchema`` for a revision above ``known``, ValueError for a
    malformed one."""
    revision = body.get(SCHEMA_KEY, 1)
    if revision == 1:
        return body
    if type(revision) is not int or not 2 <= revision:
        raise ValueError("the schema revision is an integer")
    if revision > known:
        raise UnknownSchema(f"record schema {revision} (this relay reads up to {known})")
    records = body.get("r")
    if not isinstance(records, list) or len(records) > MAX_RECORDS:
        raise ValueError(f"a compact batch has its records (r), at most {MAX_RECORDS}")
    expanded, previous = [], (0, "")
    for compact in records:
        record = expand_record(compact, previous, revision)
        expanded.append(record)
        previous = (record["seq"], record["entity_id"])
    out = {"batch_id": body.get("b"), "commune": body.get("c"), "demo": body.get("m", False),
           "seen_cursor": body.get("k", 0), "records": expanded,
           "first_seq": expanded[0]["seq"] if expanded else 0,
           "last_seq": expanded[-1]["seq"] if expanded else 0}
    if "x" in body:
        expect = body["x"]
        out["expect"] = ({"epoch": expect[0], "through": expect[1]}
                         if isinstance(expect, list) and len(expect) == 2 else expect)
    return out


def body_fields(batch_id: str, commune: str, demo: bool, seen_cursor: int,
                expect: tuple[str, int] | None, revision: int) -> dict[str, Any]:
    """The batch-level keys of a compact body (the records go under ``r``). The device is
    the one that signed the request; first and last seq are the records'."""
    body: dict[str, Any] = {SCHEMA_KEY: revision, "b": batch_id, "c": commune}
    if demo:
        body["m"] = True
    if seen_cursor:
        body["k"] = seen_cursor
    if expect is not None:
        body["x"] = [expect[0], expect[1]]
    return body


# ---- replies ------------------------------------------------------------------------------
RANGED = ("applied", "duplicate")     # results that carry nothing but their seq


def compact_reply(answer: dict[str, Any]) -> dict[str, Any]:
    """A batch reply for a compact batch: the seqs of the ``applied`` and ``duplicate``
    records as ``[first, last]`` ranges (a push of consecutive rows is one range), every
    other result in full, and the digest's first characters for the captive-portal check."""
    ranges: dict[str, list[list[int]]] = {kind: [] for kind in RANGED}
    others: list[dict[str, Any]] = []
    for result in answer["results"]:
        kind, seq = result.get("result"), result.get("seq")
        if kind in ranges and type(seq) is int and set(result) <= {"seq", "id", "result"}:
            runs = ranges[kind]
            if runs and runs[-1][1] + 1 == seq:
                runs[-1][1] = seq
            else:
                runs.append([seq, seq])
        else:
            others.append(result)
    out: dict[str, Any] = {SCHEMA_KEY: REVISION, "service": answer["service"],
                           "digest": answer["digest"][:protocol.COMPACT_DIGEST_CHARS]}
    out.update({kind: runs for kind, runs in ranges.items() if runs})
    if others:
        out["results"] = others
    return out


def batch_json(batch_id: str, commune: str, demo: bool, seen_cursor: int,
               expect: tuple[str, int] | None, revision: int,
               rows: list[tuple[int, str, str, str, str, str | bytes]]) -> bytes:
    """The serialised compact ``POST /batches`` body of outbox rows ``(seq, mutation id,
    op, dossier code, client time, payload JSON)`` in seq order."""
    body = body_fields(batch_id, commune, demo, seen_cursor, expect, revision)
    records, previous = [], (0, "")
    for seq, mutation_id, op, code, client_time, payload_json in rows:
        records.append(compact_record(seq, mutation_id, op, code, client_time, payload_json,
                                      previous, revision))
        previous = (seq, code)
    body["r"] = records
    return protocol.dumps(body)
