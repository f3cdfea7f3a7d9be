"""One run of the national-database checks (``ccdesk verify run``; docs/verification.md).

A pass asks the database about every queued item whose attempt is due. A definite answer
(verified, not found, mismatch) is final and recorded at once; a transport failure (no route,
timeout, 5xx, a reply that is not an answer) leaves the item pending with its next attempt pushed
back (``ccdesk.domain.verification.next_attempt``), and after a few in a row the pass stops: the
database is down, and asking about every other item would only add load. Without ``once`` the run
keeps going while items come due within ``max_time`` seconds.

Exit codes (a contract): 0 every due item answered (or nothing to do) · 10 partial: some
answered, some could not be · 20 unreachable: nothing answered · 50 internal error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ccdesk.domain.verification import next_attempt
from ccdesk.domain.vocabulary import VerificationState
from ccdesk.services.national_client import Checker, Unreachable
from ccdesk.services.verification import VerificationService

EXIT_DONE, EXIT_PARTIAL, EXIT_UNREACHABLE, EXIT_INTERNAL = 0, 10, 20, 50
STOP_AFTER_FAILURES = 3   # transport failures in a row that end a pass
BATCH = 100


@dataclass
class RunResult:
    answered: dict[str, int] = field(default_factory=lambda: {
        s.value: 0 for s in VerificationState if s.is_final and s != VerificationState.CANCELLED})
    failures: int = 0             # attempts that got no answer
    failed: set[int] = field(default_factory=set)   # items whose last attempt got no answer
    unanswered: int = 0           # due items left without an answer when the run ended
    supplements: list[str] = field(default_factory=list)   # dossiers asked for a paper
    last_error: str = ""
    pending: int = 0              # still queued at the end (due later, or unanswered)

    @property
    def checked(self) -> int:
        return sum(self.answered.values())

    @property
    def exit_code(self) -> int:
        if not self.unanswered:
            return EXIT_DONE
        return EXIT_PARTIAL if self.checked else EXIT_UNREACHABLE

    def to_json(self) -> dict[str, object]:
        return {"exit_code": self.exit_code, "checked": self.checked, **self.answered,
                "failures": self.failures, "unanswered": self.unanswered,
                "pending": self.pending, "supplements_requested": self.supplements,
                "last_error": self.last_error}


def run_checks(service: VerificationService, checker: Checker, *, once: bool = False,
               max_time: float | None = None, sleep: Callable[[float], None] = time.sleep,
               monotonic: Callable[[], float] = time.monotonic) -> RunResult:
    """Check what is due; see the module's docstring for passes, stops and exit codes."""
    started = monotonic()
    result = RunResult()

    def remaining() -> float:
        return float("inf") if max_time is None else max_time - (monotonic() - started)

    # Items decided earlier whose supplement is still owed (a run stopped between the two, or a
    # dossier that was waiting for another supplement then).
    result.supplements += service.request_owed_supplements()
    while True:
        stopped = _pass(service, checker, result, remaining)
        if once or stopped or remaining() <= 0:
            break
        wait = _until_next(service)
        if wait is None or wait > remaining():
            break
        sleep(max(0.0, wait))
    never_tried = {c.id for c in service.due(limit=BATCH * 10)} - result.failed
    result.unanswered = len(result.failed) + len(never_tried)
    result.pending = service.count_pending()
    return result


def _pass(service: VerificationService, checker: Checker, result: RunResult,
          remaining: Callable[[], float]) -> bool:
    """Ask about every due item once; True when the pass stopped early (down, or out of time)."""
    in_a_row = 0
    tried: set[int] = set()
    while True:
        due = [c for c in service.due(limit=BATCH) if c.id not in tried]
        if not due:
            return False
        for check in due:
            if remaining() <= 0:
                return True
            tried.add(check.id)
            try:
                reply = checker.check(check.subject, check.record)
            except Unreachable as exc:
                result.failures += 1
                result.failed.add(check.id)
                result.last_error = exc.kind
                service.record_failure(check.id, exc.kind,
                                       next_attempt(service.ctx.now(), check.attempts + 1))
                in_a_row += 1
                if in_a_row >= STOP_AFTER_FAILURES:
                    return True
                continue
            in_a_row = 0
            result.failed.discard(check.id)
            if service.record_outcome(check.id, reply.state, reply.reference):
                result.answered[reply.state.value] += 1
                if reply.state.needs_paper:  # never silently: the paper is asked for now
                    result.supplements += service.request_owed_supplements()


def _until_next(service: VerificationService) -> float | None:
    next_at = service.next_due_at()
    if next_at is None:
        return None
    return (next_at - service.ctx.now()).total_seconds()
