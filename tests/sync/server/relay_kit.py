"""Raw clients of the relay for its security tests: enrolled devices, signed requests built by
hand, records and batches with exactly the fields a test wants (no desk in between)."""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import orjson

from sync import keys, protocol
from sync.server.store import DistrictStore
from tests.sync.helpers import COMMUNE

# Personal data the tests send and then look for where it must never be (logs).
NAME, ID_NUMBER, PHONE = "Trần Thị Bích Ngọc", "001185012345", "0912 345 678"


@dataclass
class Device:
    url: str
    device_id: str
    pem: str
    commune: str = COMMUNE

    def headers(self, method: str, path: str, body: bytes = b"",
                now: datetime | None = None) -> dict[str, str]:
        return keys.request_headers(self.pem, self.device_id, method,
                                    protocol.API_PREFIX + path, body, now or datetime.now())

    def post(self, path: str, body: bytes, *, encoding: str = "identity",
             headers: dict[str, str] | None = None, timeout: float = 30) -> httpx.Response:
        sent = {"Content-Encoding": encoding, "Content-Type": "application/json",
                **self.headers("POST", path, body), **(headers or {})}
        return httpx.post(self.url + protocol.API_PREFIX + path, content=body, headers=sent,
                          timeout=timeout)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + protocol.API_PREFIX + path, headers=self.headers("GET", path),
                         timeout=30)

    def batch(self, records: list[Any], *, batch_id: str | None = None,
              seen_cursor: int = 0) -> httpx.Response:
        body = orjson.dumps({"batch_id": batch_id or str(uuid.uuid4()),
                             "device_id": self.device_id, "commune": self.commune,
                             "demo": False, "seen_cursor": seen_cursor, "first_seq": 0,
                             "last_seq": 0, "records": records})
        return self.post("/batches", body)


def enrol(store: DistrictStore, url: str, commune: str = COMMUNE) -> Device:
    pem = keys.new_private_key()
    device_id = str(uuid.uuid4())
    store.enroll(store.issue_enroll_code(commune), device_id, keys.public_of(pem), False)
    return Device(url, device_id, pem, commune)


def create(seq: int, code: str, *, name: str = NAME) -> dict[str, Any]:
    """A ``dossier.create`` record carrying a citizen's name, ID number and phone."""
    return {"seq": seq, "id": str(uuid.uuid4()), "op": protocol.OP_CREATE, "entity_id": code,
            "t": "2026-01-01T00:00:00",
            "payload": {"dossier": {"code": code, "status": "received",
                                    "applicant_name": name, "applicant_id_number": ID_NUMBER,
                                    "applicant_phone": PHONE}}}


def event(seq: int, code: str, from_status: str, to_status: str) -> dict[str, Any]:
    return {"seq": seq, "id": str(uuid.uuid4()), "op": protocol.OP_EVENT, "entity_id": code,
            "t": "2026-01-01T00:00:00",
            "payload": {"code": code, "event": {"from_status": from_status,
                                                "to_status": to_status}}}


def results(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text[:500]
    return response.json()["results"]


def raw_request(port: int, head: bytes, body: bytes = b"", *, wait: float = 10) -> bytes:
    """Send ``head`` (and ``body``) on a plain socket and return what the server answers
    within ``wait`` seconds, without ever sending more (a client that declared a big body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(head + body)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks):
                    head_end = b"".join(chunks).index(b"\r\n\r\n")
                    header = b"".join(chunks)[:head_end].lower()
                    length = next((int(line.split(b":")[1]) for line in header.split(b"\r\n")
                                   if line.startswith(b"content-length:")), 0)
                    if len(b"".join(chunks)) >= head_end + 4 + length:
                        break
        except TimeoutError:
            pass
    return b"".join(chunks)


_POISON = {
    "sqlite": ["CREATE TRIGGER poison BEFORE INSERT ON district_mutation "
               "WHEN NEW.entity_id = 'POISON-1' BEGIN SELECT RAISE(ABORT, 'refused'); END"],
    "postgresql": ["CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN "
                   "IF NEW.entity_id = 'POISON-1' THEN RAISE EXCEPTION 'refused'; END IF; "
                   "RETURN NEW; END $$ LANGUAGE plpgsql",
                   "CREATE TRIGGER poison BEFORE INSERT ON district_mutation "
                   "FOR EACH ROW EXECUTE FUNCTION poison()"],
}


def install_poison(store: DistrictStore) -> None:
    """A record the database itself refuses (a trigger), whatever the relay checked first."""
    with store.engine.begin() as conn:
        for statement in _POISON[store.engine.dialect.name]:
            conn.exec_driver_sql(statement)
