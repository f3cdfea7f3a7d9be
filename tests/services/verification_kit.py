"""The national-database double for tests: a real ``http.server`` on 127.0.0.1 (port 0) in a
thread, over a JSON file of made-up people, and intakes with items marked to verify."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from ccdesk.services import Actor, Services
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from ccdesk.services.national_client import CheckerSettings, HttpChecker
from ccdesk.web.national_double import DoubleState, load_people, make_server, parse_faults

PEOPLE = [
    {"id_number": "001085012347", "full_name": "Nguyễn Văn An", "birth_date": "1985-04-02",
     "records": ["identity", "residence"]},
    {"id_number": "001190004321", "full_name": "Lê Thị Ân", "records": ["identity"]},
]
KNOWN = Applicant("Nguyễn Văn An", "001085012347", phone="0912000003")
UNKNOWN = Applicant("Phạm Văn Bình", "001089000777", phone="0912000004")
WRONG_NAME = Applicant("Lê Thị An", "001190004321", phone="0912000005")  # the file says Ân
SIGNATURE = "2.000884"   # chứng thực chữ ký: item 2, the signer's ID paper, is verifiable


def write_people(folder: Path) -> Path:
    path = folder / "people.json"
    path.write_bytes(orjson.dumps({"people": PEOPLE}))
    return path


@contextmanager
def national_double(folder: Path, faults: str | None = None,
                    username: str = "", password: str = "") -> Iterator[tuple[str, DoubleState]]:
    """The double serving on 127.0.0.1; yields its URL and its state (counts)."""
    state = DoubleState(load_people(write_people(folder)), parse_faults(faults), username,
                        password)
    server = make_server(state, "127.0.0.1", 0)
    # shutdown() waits for serve_forever's next poll: 0.5 s by default, 20 ms here.
    thread = threading.Thread(target=server.serve_forever, daemon=True,
                              kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


def checker(url: str, timeout: float = 5.0, username: str = "",
            password: str = "") -> HttpChecker:
    return HttpChecker(CheckerSettings(url, username, password, timeout))


def intake_marked(services: Services, actor: Actor, applicant: Applicant = KNOWN, *,
                  decision: Decision = Decision.ACCEPT, paper_one: bool = True,
                  **fields: object):  # noqa: ANN201 - IntakeResult
    """The signature certification with its paper (item 1) and item 2 marked to verify."""
    entries = [ChecklistEntry(1, paper_one), ChecklistEntry(2, False, verify=True)]
    request = IntakeRequest(SIGNATURE, applicant, entries, **fields)  # type: ignore[arg-type]
    return services.intake.submit(actor, request, decision,
                                  reason="Thiếu giấy tờ" if decision != Decision.ACCEPT else "")
