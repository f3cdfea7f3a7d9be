"""Delivery of the relay's dossiers to the upstream (docs/upstream.md, "Delivery").

The upstream guarantees nothing (no idempotency, steps without ids), so the guarantees are here:

* **per-dossier order**: a dossier's snapshot goes before its steps, its steps in event order;
  an unresolved item (an open dead letter) blocks that dossier only;
* **snapshots coalesce**: only the latest state is sent, and only when it differs from what was
  last delivered (a hash); create or update follows the ``known_upstream`` flag, an
  "already exists" answer switches to update; after a crash mid-create, ``TraCuuHoSo`` (where the
  profile has it) or the "already exists" answer decides;
* **steps exactly once**: the ledger (``upstream_step``) is keyed by our mutation id. A step is
  marked ``sending`` and committed before the call; the reply is recorded in one transaction
  with the step's ``sent`` state. A step found ``sending`` afterwards (a crash or a lost reply
  between the two) is *in doubt*: the upstream cannot be asked whether it has it, so by
  default it is held as a dead letter for a person to check and ``retry`` or ``drop``
  (profile setting ``in_doubt_steps = "resend"`` trades that for at-least-once);
* **retries** with back-off (:class:`ccdesk.retry.RetryPolicy`) only for transport failures and
  expired sessions; a business reject is a dead letter with the upstream's message.

This module is the run: passes over the work queue, retries, exit codes. The parts live beside
it: ``ledger`` (events into the ledger), ``queue`` (which dossiers, what each sends),
``groups`` and ``one_dossier`` (the calls), ``in_doubt`` (settling what a crash left),
``records`` (what is written about it), ``rating_delivery``, ``lease``, ``dead_letters``,
``status``, ``config``, ``outcome``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import Engine

from ccdesk.retry import RetryPolicy
from sync.upstream.config import UpstreamConfig
from sync.upstream.context import ForwardContext
from sync.upstream.groups import GroupSender
from sync.upstream.lease import Lease
from sync.upstream.ledger import RELAY, ingest
from sync.upstream.one_dossier import DossierSender
from sync.upstream.outcome import (
    EXIT_AUTH,
    EXIT_HUMAN,
    EXIT_NETWORK,
    EXIT_OK,
    EXIT_PARTIAL,
    ForwardResult,
    Stop,
)
from sync.upstream.queue import Plan, WorkQueue
from sync.upstream.rating_delivery import RatingSender
from sync.upstream.records import Recorder
from sync.upstream.source import Source
from sync.upstream.status import status
from sync.upstream.transport import AuthRefused, Down, Transport
from sync.upstream.transports import make_transport

POLL_S = 5.0


class Forwarder:
    """One relay's forwarder; :meth:`run` is ``ccdesk district forward``."""

    def __init__(self, engine: Engine, config: UpstreamConfig, *,
                 transport: Transport | None = None, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 source: Source = RELAY) -> None:
        self.engine, self.config, self.source = engine, config, source
        self.profile = config.profile
        self.transport = transport or make_transport(config.profile, config.creds, engine=engine)
        self.policy = policy or RetryPolicy(base=0.5, cap=30.0, max_attempts=6)
        self.sleep, self.clock = sleep, clock
        self.recorder = Recorder(engine)
        self.lease = Lease(self.recorder, clock)
        ctx = ForwardContext(config, source, self.transport, self.recorder)
        self.one = DossierSender(ctx)
        self.groups = GroupSender(ctx, self.one)
        self.ratings = RatingSender(ctx)
        self._failures = 0

    def close(self) -> None:
        self.transport.close()

    def run(self, *, once: bool = True, max_time: float | None = None) -> ForwardResult:
        """Passes until nothing is left (``once``) or ``max_time`` runs out (a daemon without
        either). The exit code is the contract of docs/upstream.md."""
        start = self.clock()
        deadline = start + max_time if max_time else None
        result = ForwardResult()
        try:
            if not self.lease.take():
                result.exit_code, result.error = EXIT_PARTIAL, "locked"
                return result
            while True:
                result.passes += 1
                try:
                    self._pass(result, deadline)
                    outage = None
                except Stop as stop:
                    # A service rides out an outage; a one-shot run reports it.
                    if once or stop.exit_code != EXIT_NETWORK:
                        raise
                    self.recorder.error(stop.error)
                    outage = stop
                if once or (deadline is not None and self.clock() >= deadline):
                    if outage is not None:
                        raise outage
                    break
                self.sleep(POLL_S if deadline is None
                           else min(POLL_S, max(0.0, deadline - self.clock())))
        except Stop as stop:
            result.exit_code, result.error = stop.exit_code, stop.error
            if stop.exit_code == EXIT_NETWORK and result.delivered_any:
                result.exit_code = EXIT_PARTIAL
            self.recorder.error(stop.error)
        finally:
            self.lease.release()
            result.seconds = round(self.clock() - start, 3)
        counts = status(self.engine)
        result.pending = counts["pending"]
        if result.exit_code == EXIT_OK:
            if counts["dead_letter"]:
                result.exit_code, result.error = EXIT_HUMAN, "dead_letters"
            elif result.pending:
                result.exit_code, result.error = EXIT_PARTIAL, "time_limit"
        return result

    def _pass(self, result: ForwardResult, deadline: float | None) -> None:
        """One sweep over the dossiers with work, in code order (each at most once).

        Each group's read (which dossiers, their histories, mapping and pre-flight: most of
        the forwarder's own work) runs ahead in a thread while the previous group's calls are
        out, so the forwarder and the upstream work at the same time instead of in turn. The
        read of a group concerns only dossiers after the previous one's (the recorded-later
        writes are flushed first, for what an earlier pass left): nothing it reads is being
        written. A retry of a group reads it again."""
        ingest(self.engine, self.source)
        self.recorder.flush()
        queue = WorkQueue(self.recorder, self.config.accept_demo, result)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="forward-read") as reader:
            ahead = reader.submit(self._read_group, queue)
            while True:
                codes, planned = ahead.result()
                if not codes or (deadline is not None and self.clock() >= deadline):
                    # What the last calls did is recorded now, not after the poll's sleep.
                    self.recorder.flush()
                    break
                ahead = reader.submit(self._read_group, queue)
                self.lease.renew()
                once = [planned]
                self._with_retries(
                    lambda c=codes, o=once: self.groups.deliver(c, result, o), deadline)
        if not codes:
            self._with_retries(lambda: self.ratings.send(result), deadline)

    def _read_group(self, queue: WorkQueue) -> tuple[list[str], tuple[list[Plan], list[str]]]:
        """The next group of the queue: its codes and its plans."""
        codes = queue.take(self.profile.snapshot_batch)
        return codes, (self.groups.read(codes) if codes else ([], []))

    def _with_retries(self, work: Callable[[], None], deadline: float | None) -> None:
        """``work`` again after a transport failure, with back-off, until the policy or the
        run's time gives up (then the run ends 20/10)."""
        while True:
            try:
                work()
                self._failures = 0
                return
            except Down as exc:
                self._failures += 1
                self.recorder.error(str(exc))
                remaining = None if deadline is None else deadline - self.clock()
                if self.policy.gives_up(self._failures) or (remaining is not None
                                                            and remaining <= 0):
                    raise Stop(EXIT_NETWORK, f"upstream_unreachable: {exc}") from exc
                self.sleep(self.policy.delay(self._failures, exc.retry_after,
                                             remaining=remaining))
            except AuthRefused as exc:
                raise Stop(EXIT_AUTH, f"auth_refused: {exc}") from exc
