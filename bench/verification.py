"""How long a backlog of national-database checks takes to clear, against the double on
127.0.0.1, through the real services on a real database file.

    python bench/verification.py [--items 300] [--failing 0.3]

A desk offline for a day may come back with a few hundred marked papers. Prints the time of
``verify pending`` (the offline list), and of one run over the backlog: items per second, and
the milliseconds per item split into the look-up (HTTP to the double) and the recording (the
outcome's transaction, and the supplement request for a not-found item). ``--failing`` is the
share of people the double does not know (each becomes a supplement request).

No target: the database's own latency, which the double does not have, dominates a real run.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import orjson

from ccdesk.config import Config
from ccdesk.paths import Paths
from ccdesk.services import SYSTEM, Services
from ccdesk.services.catalog import BUNDLED_CATALOG
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from ccdesk.services.national_client import CheckerSettings, HttpChecker
from ccdesk.services.office import OfficeSettings
from ccdesk.services.verification_run import run_checks
from ccdesk.web.national_double import DoubleState, load_people, make_server

START = datetime(2026, 11, 23, 7, 30)


class TimedChecker(HttpChecker):
    """The HTTP checker, timing its look-ups."""

    spent = 0.0

    def check(self, subject, record):  # noqa: ANN001, ANN201
        start = time.perf_counter()
        try:
            return super().check(subject, record)
        finally:
            self.spent += time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--failing", type=float, default=0.3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ccdesk-bench-verify-"))
    os.environ.setdefault("CCDESK_KEY_FILE", str(root / "desk.key"))
    paths = Paths(data_dir=root / "data", config_dir=root / "config")
    services = Services.open(paths.default_db, paths, config=Config(), clock=lambda: START)
    services.office.update(SYSTEM, OfficeSettings("UBND XÃ AN PHÚ", "TRUNG TÂM", "000.17.22.H56",
                                                  "An Phú"), complete_setup=True)
    services.catalog.import_file(BUNDLED_CATALOG)
    services.officers.add(SYSTEM, "lan", "Nguyễn Thị Lan", "officer", "1234")
    actor = services.officers.authenticate("lan", "1234")
    rng = random.Random(7)
    people = []
    for n in range(args.items):
        number = f"0010850{n:05d}"
        known = rng.random() >= args.failing
        if known:
            people.append({"id_number": number, "full_name": "Nguyễn Văn An",
                           "records": ["identity"]})
        request = IntakeRequest("2.000884", Applicant("Nguyễn Văn An", number),
                                [ChecklistEntry(1, True), ChecklistEntry(2, False, verify=True)])
        services.intake.submit(actor, request, Decision.ACCEPT)
    data = root / "people.json"
    data.write_bytes(orjson.dumps({"people": people}))
    server = make_server(DoubleState(load_people(data)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"

    start = time.perf_counter()
    listed = len(services.verification.pending())
    pending_ms = (time.perf_counter() - start) * 1000
    checker = TimedChecker(CheckerSettings(url, "", "", 10))
    start, start_cpu = time.perf_counter(), time.process_time()
    result = run_checks(services.verification, checker)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    checker.close()
    server.shutdown()
    print(f"uptime: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"verify pending: {listed} items in {pending_ms:.1f} ms")
    print(f"verify run: {result.checked} answered ({result.answered}), "
          f"{len(result.supplements)} supplement requests, exit {result.exit_code}")
    print(f"  {wall:.2f} s wall, {cpu:.2f} s CPU: {result.checked / wall:.0f} items/s; "
          f"per item {wall / max(1, result.checked) * 1000:.1f} ms "
          f"(look-up {checker.spent / max(1, result.checked) * 1000:.1f} ms, recording "
          f"{(wall - checker.spent) / max(1, result.checked) * 1000:.1f} ms)")
    services.close()


if __name__ == "__main__":
    main()
