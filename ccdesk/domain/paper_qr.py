"""What the QR code on a printed paper carries, and reading it back from a scanner.

Circular 01/2023/TT-VPCP (art. 26) asks a paper the one-stop system issues to carry a QR code in
its top-left corner holding at least: the dossier code, the procedure code, the applicant's ID
number, the name of the paper, the issuing system and the time of issue; the appointment slip
also carries its due time (docs/forms.md, "QR code"). The circular does not fix an encoding, so
ccdesk writes one line of fields separated by ``|`` behind a versioned marker: a keyboard-mode
scanner types it into any field and :func:`decode` recognises it (a chip ID card's QR starts
with its 12 digits instead, so the two never mix).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

MARKER = "CCDESK1"
SEPARATOR = "|"
_STAMP = "%Y%m%d%H%M%S"        # the 14-digit form the national portal uses for times
_FIELDS = 8                    # marker + seven values
MAX_SCAN_LENGTH = 1024         # a scanned line longer than this is not one of our codes
_CODE = re.compile(r"^[0-9A-Za-z.\-_]{1,64}$")


@dataclass(frozen=True)
class PaperQr:
    """The facts one printed paper carries in its QR code."""

    dossier_code: str
    procedure_code: str
    applicant_id: str
    paper_name: str
    system: str
    issued_at: datetime
    due_at: datetime | None = None


def encode(qr: PaperQr) -> str:
    """One scanner-friendly line; ``|`` inside a value (never in codes) becomes ``/``."""
    values = (qr.dossier_code, qr.procedure_code, qr.applicant_id, qr.paper_name, qr.system,
              qr.issued_at.strftime(_STAMP), qr.due_at.strftime(_STAMP) if qr.due_at else "")
    return SEPARATOR.join((MARKER, *(v.replace(SEPARATOR, "/").strip() for v in values)))


def decode(text: str) -> PaperQr | None:
    """The paper a scanned line came from, or None when the line is not one of ours.

    Anything malformed (wrong marker, field count, code characters or times) is None: a scan
    never opens a dossier on a guess.
    """
    line = text.strip()
    if len(line) > MAX_SCAN_LENGTH or not line.startswith(MARKER + SEPARATOR):
        return None
    parts = line.split(SEPARATOR)
    if len(parts) != _FIELDS or not _CODE.match(parts[1]):
        return None
    try:
        issued = datetime.strptime(parts[6], _STAMP)
        due = datetime.strptime(parts[7], _STAMP) if parts[7] else None
    except ValueError:
        return None
    return PaperQr(dossier_code=parts[1], procedure_code=parts[2], applicant_id=parts[3],
                   paper_name=parts[4], system=parts[5], issued_at=issued, due_at=due)
