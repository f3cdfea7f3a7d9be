"""A conformance double of the national-database check (``ccdesk verify double``), for the tests
and for training: it answers the request of ``ccdesk/domain/national_db.py`` from a JSON file of
made-up people, deterministically, and injects transport faults on demand.

Data file (at most 4 MiB)::

    {"people": [{"id_number": "001085012347", "full_name": "Nguyễn Văn An",
                 "birth_date": "1985-04-02", "records": ["identity", "residence"]}]}

Answers: an ID number not in the file, or a record the person has not, is ``not_found``; a
name (case and spacing aside, accents kept) or a birth date that differs is ``mismatch``; else
``match``.

Faults (``--faults "timeout=0.2,http500=0.1,fail_first=2,hang=5,seed=7"``): ``timeout`` and
``http500`` are probabilities per request (``timeout`` holds the reply ``hang`` seconds, default
5, longer than the desk waits); ``fail_first=N`` answers 503 to the first N requests; ``seed``
makes a run reproducible.

Standard library only (``http.server``): it runs on any desk, without the server extra. Nothing
of a request is logged (it carries ID numbers and names); ``GET /_stats`` counts answers only.
"""

from __future__ import annotations

import base64
import hmac
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

from ccdesk.domain.national_db import MAX_REQUEST_BYTES, PATH, parse_request, reply_body
from ccdesk.domain.vocabulary import NationalRecord
from ccdesk.storage.files import read_bounded
from ccdesk.text import nfc

MAX_DATA_BYTES = 4 * 1024 * 1024
FAULT_NAMES = ("timeout", "http500", "fail_first", "hang", "seed")


class DoubleDataError(ValueError):
    """The data file or the fault list is not usable; the message says where."""


@dataclass(frozen=True)
class Person:
    full_name: str
    birth_date: date | None
    records: frozenset[str]


@dataclass
class Faults:
    timeout: float = 0.0
    http500: float = 0.0
    fail_first: int = 0
    hang: float = 5.0
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def roll(self, chance: float) -> bool:
        return chance > 0 and self._random.random() < chance


def parse_faults(spec: str | None) -> Faults:
    faults = Faults()
    for entry in (e.strip() for e in (spec or "").split(",")):
        if not entry:
            continue
        name, _, value = entry.partition("=")
        if name not in FAULT_NAMES:
            raise DoubleDataError(f"--faults {entry!r}: expected one of {', '.join(FAULT_NAMES)}")
        try:
            number = float(value)
        except ValueError:
            raise DoubleDataError(f"--faults {entry!r}: {value!r} is not a number") from None
        if name in ("timeout", "http500") and not 0 <= number <= 1:
            raise DoubleDataError(f"--faults {entry!r}: a probability is 0…1")
        if number < 0 or number > 10**9:
            raise DoubleDataError(f"--faults {entry!r}: out of range")
        setattr(faults, name, int(number) if name in ("fail_first", "seed") else number)
    faults.__post_init__()
    return faults


def load_people(path: Path) -> dict[str, Person]:
    """The data file, validated; a :class:`DoubleDataError` names the entry and field."""
    try:
        data = orjson.loads(read_bounded(path, MAX_DATA_BYTES))
    except orjson.JSONDecodeError as exc:
        raise DoubleDataError(f"{path}: not JSON ({exc})") from None
    people = data.get("people") if isinstance(data, dict) else None
    if not isinstance(people, list):
        raise DoubleDataError(f"{path}: expected {{\"people\": [...]}}")
    out: dict[str, Person] = {}
    for index, entry in enumerate(people):
        where = f"{path}: people[{index}]"
        if not isinstance(entry, dict):
            raise DoubleDataError(f"{where}: not an object")
        number, name = entry.get("id_number"), entry.get("full_name")
        if not isinstance(number, str) or len(number) != 12 or not number.isdigit():
            raise DoubleDataError(f"{where}.id_number: 12 digits expected")
        if not isinstance(name, str) or not name.strip():
            raise DoubleDataError(f"{where}.full_name: text expected")
        born = entry.get("birth_date")
        try:
            birth = date.fromisoformat(born) if born is not None else None
        except (TypeError, ValueError):
            raise DoubleDataError(f"{where}.birth_date: YYYY-MM-DD expected") from None
        records = entry.get("records", list(NationalRecord.values()))
        if not isinstance(records, list) or any(r not in NationalRecord.values()
                                                for r in records):
            raise DoubleDataError(f"{where}.records: any of {', '.join(NationalRecord.values())}")
        out[number] = Person(name, birth, frozenset(records))
    return out


def answer(people: dict[str, Person], id_number: str, full_name: str,
           birth_date: date | None, record: str) -> str:
    """The double's rule: not_found, mismatch or match (see the module's docstring)."""
    person = people.get(id_number)
    if person is None or record not in person.records:
        return "not_found"
    if _name_key(person.full_name) != _name_key(full_name):
        return "mismatch"
    if birth_date is not None and person.birth_date is not None \
            and birth_date != person.birth_date:
        return "mismatch"
    return "match"


def _name_key(name: str) -> str:
    """Names compared as written, case and spacing aside: "Lê Văn Ân" is not "Lê Văn An"."""
    return " ".join(nfc(name).casefold().split())


@dataclass
class DoubleState:
    people: dict[str, Person]
    faults: Faults = field(default_factory=Faults)
    username: str = ""
    password: str = ""
    requests: int = 0
    answers: dict[str, int] = field(default_factory=dict)
    faulted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def authorised(self, header: str | None) -> bool:
        if not self.username:
            return True
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return hmac.compare_digest((header or "").encode(), f"Basic {expected}".encode())


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Nothing of a request is logged: its body carries ID numbers and names."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        state = self.server.state
        if self.path != "/_stats":
            self._send(404, b'{"error": "not found"}')
            return
        with state.lock:
            body = orjson.dumps({"requests": state.requests, "answers": state.answers,
                                 "faults": state.faulted})
        self._send(200, body)

    def do_POST(self) -> None:  # noqa: N802
        state = self.server.state
        length = int(self.headers.get("content-length") or 0)
        if self.path != PATH or not 0 < length <= MAX_REQUEST_BYTES:
            self._send(400 if self.path == PATH else 404, b'{"error": "bad request"}')
            return
        raw = self.rfile.read(length)
        with state.lock:
            state.requests += 1
            count = state.requests
            fault = self._fault(state, count)
        if fault == "timeout":
            time.sleep(state.faults.hang)
        if fault:
            self._send(503, b'{"error": "unavailable"}')
            return
        if not state.authorised(self.headers.get("authorization")):
            self._send(401, b'{"error": "unauthorised"}')
            return
        try:
            request = parse_request(raw)
        except ValueError as exc:
            self._send(400, orjson.dumps({"error": f"bad field: {exc}"}))
            return
        result = answer(state.people, request.id_number, request.full_name,
                        request.birth_date, request.record.value)
        with state.lock:
            state.answers[result] = state.answers.get(result, 0) + 1
        self._send(200, reply_body(request.request_id, result, f"DOUBLE-{count:06d}"))

    @staticmethod
    def _fault(state: DoubleState, count: int) -> str:
        faults = state.faults
        name = ("http500" if count <= faults.fail_first
                else "timeout" if faults.roll(faults.timeout)
                else "http500" if faults.roll(faults.http500) else "")
        if name:
            state.faulted += 1
        return name

    def _send(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the desk gave up waiting (a timeout fault): nothing to answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: DoubleState) -> None:
        super().__init__(address, _Handler)
        self.state = state


def make_server(state: DoubleState, host: str = "127.0.0.1", port: int = 0) -> _Server:
    """The double bound to ``host:port`` (port 0: any free one); ``serve_forever`` runs it."""
    return _Server((host, port), state)
