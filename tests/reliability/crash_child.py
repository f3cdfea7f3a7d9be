"""Child process for the crash tests: intakes through the real services, forever.

After each committed intake it appends the dossier code to the report file (and
``CODE:start`` after each committed transition) (flushed to the OS, so
a SIGKILL cannot lose it). ``python -m tests.reliability.crash_child DB REPORT FIRST_INDEX``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ccdesk.domain.lifecycle import Action
from ccdesk.paths import Paths
from ccdesk.services import Services
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from ccdesk.services.officers import actor_of

NAMES = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Thu Dung", "Đỗ Minh Đức")


def main() -> None:
    db, report_path, first = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    paths = Paths(data_dir=db.parent, config_dir=db.parent.parent / "config")
    services = Services.open(db, paths)
    officer = next(o for o in services.officers.list() if o.role == "officer")
    actor = actor_of(officer)
    with report_path.open("a", encoding="utf-8") as report:
        index = first
        while True:
            request = IntakeRequest(
                "1.001193",
                Applicant(NAMES[index % len(NAMES)], f"0010{85}{index % 1_000_000:06d}",
                          phone=f"09{index % 100_000_000:08d}"),
                [ChecklistEntry(1, True), ChecklistEntry(3, True)])
            code = services.intake.submit(actor, request, Decision.ACCEPT).dossier.code
            report.write(code + "\n")
            report.flush()
            if index % 2:  # every other dossier also moves on: transitions are killed too
                services.dossiers.act(actor, code, Action.START)
                report.write(f"{code}:start\n")
                report.flush()
            index += 1


if __name__ == "__main__":
    main()
