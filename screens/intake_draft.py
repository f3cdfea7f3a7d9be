"""The intake being typed, handed from one step screen to the next (no rules: just the answers)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ccdesk.domain.cccd_qr import CardScan
from ccdesk.services.catalog import ProcedureInfo
from ccdesk.services.intake import Applicant, ChecklistEntry, IntakeRequest


@dataclass
class IntakeDraft:
    """What the officer has entered so far for one citizen at the desk."""

    procedure: ProcedureInfo
    request: IntakeRequest = field(init=False)
    returning_citizen: bool = False
    card: CardScan | None = None  # the ID card scanned at the applicant step, if any
    typed_name: str = ""  # the applicant's name as typed so far (to name the draft)
    # An online filing's answers (ccdesk/services/online_filings.py): the applicant step
    # starts with them typed in, and the request carries the portal's code.
    prefill: dict[str, str] = field(default_factory=dict)
    portal_code: str = ""

    def __post_init__(self) -> None:
        self.request = IntakeRequest(procedure_code=self.procedure.code,
                                     applicant=Applicant(full_name="", id_number=""),
                                     portal_code=self.portal_code)

    def set_checklist(self, entries: list[ChecklistEntry]) -> None:
        self.request.checklist = entries

    def missing_required(self) -> list[str]:
        """Names of required documents not ticked (what a supplement request would list); one
        marked to verify in the national database counts as handed in (docs/verification.md)."""
        ticked = {e.position for e in self.request.checklist if e.received or e.verify}
        return [d.name for d in self.procedure.documents
                if d.requirement == "required" and d.position not in ticked]
