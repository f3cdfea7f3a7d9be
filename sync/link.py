"""One run's exchanges with the upstream, retried by the one retry policy (ccdesk/retry.py).

An idempotent exchange failing with a network error, a 5xx or a 429 is retried after the
policy's delay (full jitter, or the server's ``Retry-After``), bounded by the run's time limit;
after ``max_attempts`` failures in a row, or at the time limit, the run stops with 20. Auth
failures stop it with 30 (SF-REPEATING-ERROR), refusals with 40. Every exchange is logged
(``sync log`` and the JSON-lines file) without personal data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlmodel import Session

from ccdesk.retry import RetryPolicy
from ccdesk.storage.outbox.write import utcnow
from sync.client import AMBIGUOUS, AUTH, GONE, REFUSED, RETRY, Exchange, SyncClient, SyncFailure
from sync.joblog import JsonLineLog
from sync.outcome import EXIT_AUTH, EXIT_HUMAN, EXIT_INTERNAL, EXIT_NETWORK, StopRun
from sync.replies import BadUpstreamValue
from sync.state import SyncAttempt, SyncState

if TYPE_CHECKING:
    from ccdesk.storage.engine import Database

T = TypeVar("T")


class Link:
    """The client of one run, its retry policy, its deadline and its attempt log."""

    def __init__(self, db: Database, client: SyncClient, policy: RetryPolicy,
                 sleep: Callable[[float], None], log: JsonLineLog,
                 deadline: float | None) -> None:
        self.db, self.client, self.policy = db, client, policy
        self.sleep, self.log, self.deadline = sleep, log, deadline

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def retry_or_stop(self, failure: SyncFailure, attempt: int) -> None:
        """After the ``attempt``-th failure in a row: wait for the next try, or stop (20)."""
        if self.policy.gives_up(attempt) or self.out_of_time():
            raise StopRun(EXIT_NETWORK, failure.code) from failure
        remaining = None if self.deadline is None else self.deadline - time.monotonic()
        self.sleep(self.policy.delay(attempt, failure.retry_after, remaining=remaining))

    def call(self, call: Callable[[], Exchange], kind: str,
             check: Callable[[Exchange], T]) -> T:
        """An idempotent exchange, retried; ``check`` turns its reply into checked values
        (sync/replies.py) or refuses it, which stops the run with 40 before anything is
        written."""
        attempt = 0
        while True:
            try:
                reply = call()
            except SyncFailure as failure:
                self.log_exchange(kind, failure.http_status, failure.code, 0, 0)
                if failure.kind not in (RETRY, AMBIGUOUS):
                    if failure.kind == GONE:
                        raise
                    raise self.stop_for(failure) from failure
                attempt += 1
                self.retry_or_stop(failure, attempt)
                continue
            self.log_exchange(kind, reply.http_status, "ok", reply.bytes_sent,
                              int(reply.rtt_s * 1000))
            return self.checked(check, reply)

    def checked(self, check: Callable[[Any], T], reply: Any) -> T:
        """``check(reply)``, a refused value stopping the run with 40 (nothing written)."""
        try:
            return check(reply)
        except BadUpstreamValue as bad:
            self.log.write("bad_upstream_value", detail=bad.detail)
            raise StopRun(EXIT_HUMAN, bad.code, bad.detail) from bad

    def stop_for(self, failure: SyncFailure) -> StopRun:
        if failure.kind == AUTH:
            if failure.code == "revoked":
                self.db.write(_mark_revoked)
            return StopRun(EXIT_AUTH, failure.code)
        if failure.kind == REFUSED:
            return StopRun(EXIT_HUMAN, failure.code)
        if failure.kind in (RETRY, AMBIGUOUS):
            return StopRun(EXIT_NETWORK, failure.code)
        return StopRun(EXIT_INTERNAL, failure.code)

    def log_exchange(self, kind: str, status: int, outcome: str, sent: int, rtt_ms: int) -> None:
        attempt = SyncAttempt(at=utcnow(), kind=kind, http_status=status, outcome=outcome,
                              bytes_wire=sent, rtt_ms=rtt_ms)
        self.log.write(kind, http_status=status, outcome=outcome, rtt_ms=rtt_ms)
        self.db.write(lambda s: s.add(attempt))

    def log_batch(self, attempt: SyncAttempt) -> None:
        """One batch exchange (its seq range and sizes) in both logs."""
        self.log.write(attempt.kind, batch_id=attempt.batch_id, first_seq=attempt.first_seq,
                       last_seq=attempt.last_seq, records=attempt.records,
                       bytes_raw=attempt.bytes_raw, bytes_wire=attempt.bytes_wire,
                       http_status=attempt.http_status, outcome=attempt.outcome)
        self.db.write(lambda s: s.add(attempt))


def _mark_revoked(session: Session) -> None:
    row = session.get(SyncState, 1)
    row.revoked = True
    session.add(row)
