"""A desk process for the concurrency test: N intakes on a shared database, codes to stdout.

Run as ``python -m tests.storage.hammer DB HOME N``. Any error is printed and exits non-zero, so the
test sees whether a desk would have shown one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from ccdesk.paths import Paths
from ccdesk.services import Services
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest


def main(db: str, home: str, count: int) -> None:
    paths = Paths(data_dir=Path(home) / "data", config_dir=Path(home) / "config")
    svc = Services.open(Path(db), paths)
    actor = svc.officers.authenticate("lan", "1234")
    request = IntakeRequest("2.000884", Applicant("Võ Thị Sáu", "001185012345"),
                            [ChecklistEntry(1, True), ChecklistEntry(2, True)])
    codes = [svc.intake.submit(actor, request, Decision.ACCEPT).dossier.code
             for _ in range(count)]
    sys.stdout.write(orjson.dumps(codes).decode())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
