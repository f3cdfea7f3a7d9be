"""Push and pull runs (docs/sync.md, "Client behaviour").

A run takes the sync lock (one process at a time, SF-STUCK-IN-FLIGHT), returns rows a crash
left in flight to pending, says hello (sync/handshake.py), drains the outbox (sync/push.py),
applies the upstream's changes (sync/pull.py) and drops acknowledged rows past the retention
window.
Exchanges are retried by the one retry policy (sync/link.py, ccdesk/retry.py); every value a
reply carries is checked first (sync/replies.py). The exit code follows the contract in
``docs/sync.md``: 0 synced, 10 partial, 20 network unavailable, 30 auth/revoked, 40 needs a
human, 50 internal error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, func, select

from ccdesk.domain.errors import StorageError
from ccdesk.models import Office
from ccdesk.retry import RetryPolicy
from ccdesk.services.context import DeskContext
from ccdesk.storage.outbox import retention
from ccdesk.storage.outbox import states as outbox
from ccdesk.storage.outbox.write import utcnow
from sync import files, replies, session
from sync.client import SyncClient, timeouts
from sync.files import FileSender
from sync.handshake import handshake
from sync.joblog import JsonLineLog
from sync.link import Link
from sync.lock import LockBusy, SyncLock
from sync.outcome import (
    EXIT_AUTH,
    EXIT_HUMAN,
    EXIT_INTERNAL,
    EXIT_NETWORK,
    EXIT_OK,
    EXIT_PARTIAL,
    RunResult,
    StopRun,
)
from sync.pull import ScheduleSink
from sync.pull import pull as pull_changes
from sync.push import Pusher
from sync.state import SyncConflict, SyncState

__all__ = ["EXIT_AUTH", "EXIT_HUMAN", "EXIT_INTERNAL", "EXIT_NETWORK", "EXIT_OK",
           "EXIT_PARTIAL", "Backoff", "EngineOptions", "RunResult", "StopRun", "SyncEngine",
           "lock_path_for"]

# The retry policy under the name the engine's options have always used.
Backoff = RetryPolicy


@dataclass
class EngineOptions:
    max_time: float | None = None          # seconds for the whole run (cron slots)
    max_attempts: int = 8                  # consecutive failures of one exchange before stopping
    backoff: RetryPolicy = field(default_factory=RetryPolicy)
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    lock_wait: float = 120.0
    batch_seconds: float = 8.0             # aim for batches that take about this long to send
    max_records: int = 5000
    encoding: str = "zstd"
    # Days acknowledged rows are kept (0: forever); None: the default, or the desk's config
    # (``sync_retention_days``) when the engine comes from ``sync.service.make_engine``.
    retention_days: int | None = None
    # Files go after the records of every run, for at most this long and this many bytes
    # (None: no limit but the run's own ``max_time``); a file cut off resumes next run
    # (docs/sync.md, "Files"). ``push_files=False`` sends records only.
    file_seconds: float | None = 120.0
    file_bytes: int | None = None
    push_files: bool = True

    def retry_policy(self) -> RetryPolicy:
        return replace(self.backoff, max_attempts=self.max_attempts)


def lock_path_for(db_path: Path) -> Path:
    """The sync lock file beside a desk database."""
    return db_path.with_name(db_path.name + ".sync.lock")


class SyncEngine:
    """Push/pull for one desk database."""

    def __init__(self, ctx: DeskContext, *, options: EngineOptions | None = None,
                 client_factory: Callable[[SyncState], SyncClient] | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 utc_clock: Callable[[], datetime] = utcnow,
                 log_path: Path | None = None,
                 on_schedule: ScheduleSink | None = None) -> None:
        self.ctx = ctx
        self.on_schedule = on_schedule   # applies the official schedule from the feed
        self.db = ctx.db
        self.options = options or EngineOptions()
        self.sleep = sleep
        self.utc_clock = utc_clock
        self._client_factory = client_factory or self._default_client
        self._deadline: float | None = None
        self.log = JsonLineLog(log_path)

    # ---- public runs ----------------------------------------------------------------------
    def push(self, *, dry_run: bool = False,
             progress: Callable[[int, int], None] | None = None) -> RunResult:
        """Send waiting rows (``dry_run`` only counts them)."""
        return self._run(push=True, pull=False, dry_run=dry_run, progress=progress)

    def pull(self) -> RunResult:
        """Apply the upstream's changes for this commune."""
        return self._run(push=False, pull=True)

    def run(self, progress: Callable[[int, int], None] | None = None) -> RunResult:
        """Push then pull (what cron and the desk's sync button call)."""
        return self._run(push=True, pull=True, progress=progress)

    def _run(self, *, push: bool, pull: bool, dry_run: bool = False,
             progress: Callable[[int, int], None] | None = None) -> RunResult:
        result = RunResult()
        started = time.monotonic()
        self._deadline = started + self.options.max_time if self.options.max_time else None
        try:
            with self._locked():
                self.db.write(outbox.recover_in_flight)
                state = self._ready_state()
                if dry_run:
                    result.pending = self._pending_count()
                    return result
                self._exchange_all(state, result, push=push, pull=pull, progress=progress)
                self._finish(result, error="")
                if push and not result.pruned_lost_seqs:
                    self._prune(result)
        except StopRun as stop:
            result.error, result.detail = stop.code, stop.detail
            result.exit_code = self._stop_code(stop, result)
            self._record_outcome(stop.code)
            self.log.write("stopped", error=stop.code, exit_code=result.exit_code)
        except LockBusy:
            result.exit_code, result.error = EXIT_PARTIAL, "locked"
        except StorageError as err:
            # The desk's own database (full disk, read-only, damaged): data is safe, a person
            # must act; the same message the desk shows.
            result.exit_code, result.error = EXIT_HUMAN, err.key.rsplit(".", 1)[-1]
            self.log.write("stopped", error=result.error, exit_code=result.exit_code)
        except Exception as exc:  # noqa: BLE001 - contract: 50 and a code, never a traceback
            result.exit_code, result.error = EXIT_INTERNAL, f"internal:{type(exc).__name__}"
            self.log.write("stopped", error=result.error, exit_code=result.exit_code)
        finally:
            if result.pruned_lost_seqs:
                self._report_lost(result)
            try:
                result.pending = self._pending_count()
                result.files_pending, result.file_bytes_pending = files.pending(self.db)
            except Exception:  # noqa: BLE001 - a broken database already set the outcome
                result.pending = -1
            result.seconds = round(time.monotonic() - started, 3)
        return result

    def _exchange_all(self, state: SyncState, result: RunResult, *, push: bool, pull: bool,
                      progress: Callable[[int, int], None] | None) -> None:
        opts = self.options
        client = self._client_factory(state)
        try:
            link = Link(self.db, client, opts.retry_policy(), self.sleep, self.log,
                        self._deadline)
            if push:
                hello = self._push_all(link, state, result, progress)
            else:
                hello = self._hello(link, state, result)
            if pull:
                pull_changes(link, self.ctx, state.pull_cursor, result,
                             self.on_schedule)
            if push and opts.push_files and hello.max_file_chunk_bytes:
                # After every record of the run, pushed and pulled: files never hold them up.
                # Only to a relay whose hello says it takes files (an older one would answer
                # the unknown path like a captive portal).
                FileSender(link, self.db, seconds=opts.file_seconds, max_bytes=opts.file_bytes,
                           max_chunk=hello.max_file_chunk_bytes).run(result)
        finally:
            client.close()

    def _hello(self, link: Link, state: SyncState, result: RunResult) -> replies.Hello:
        """Say hello and keep its answer for the runs that may skip it (sync/session.py)."""
        hello = handshake(link, state, self.utc_clock, result)
        session.save(self.db.path, state.upstream_url, state.device_id, hello)
        return hello

    def _push_all(self, link: Link, state: SyncState, result: RunResult,
                  progress: Callable[[int, int], None] | None) -> replies.Hello:
        """Drain the outbox: without a hello while the last one holds and rows wait, the
        first batch then carrying what the relay must hold; else after a hello (which may
        return rows to pending: a relay restored from a backup)."""
        opts = self.options
        kept = session.load(self.db.path, state.upstream_url, state.device_id,
                            state.server_epoch) if self._pending_count() else None
        expect: tuple[str, int] | None = None
        if kept is not None:
            with self.db.session() as s:
                through = outbox.max_acked_seq(s)
            hello, expect = kept.hello(through), (kept.epoch, through)
        else:
            hello = self._hello(link, state, result)
        pending = self._pending_count()
        try:
            Pusher(link, state, hello, max_records=opts.max_records, encoding=opts.encoding,
                   batch_seconds=opts.batch_seconds, expect=expect).drain(result, pending,
                                                                          progress)
        except session.HelloNeeded:
            self.log.write("hello_needed")
            session.forget(self.db.path)
            hello = self._hello(link, state, result)
            Pusher(link, state, hello, max_records=opts.max_records, encoding=opts.encoding,
                   batch_seconds=opts.batch_seconds).drain(result, self._pending_count(),
                                                           progress)
        return hello

    # ---- preparation ----------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        with SyncLock(lock_path_for(self.db.path), wait=self.options.lock_wait):
            yield

    def _ready_state(self) -> SyncState:
        with self.db.session() as session:
            office = session.get(Office, 1)
            state = session.get(SyncState, 1)
        if office is not None and office.is_training:
            raise StopRun(EXIT_HUMAN, "training")
        if state is None or not state.upstream_url or not state.private_key \
                or state.enrolled_at is None:
            raise StopRun(EXIT_HUMAN, "not_enrolled")
        if state.revoked:
            raise StopRun(EXIT_AUTH, "revoked")
        return state

    def _default_client(self, state: SyncState) -> SyncClient:
        return SyncClient(state.upstream_url, state.device_id, state.private_key,
                          timeout=timeouts(self.options.connect_timeout,
                                           self.options.read_timeout))

    # ---- the end of a run -----------------------------------------------------------------
    def _stop_code(self, stop: StopRun, result: RunResult) -> int:
        if stop.exit_code == EXIT_NETWORK and result.acked > 0:
            return EXIT_PARTIAL       # some went through before the link dropped
        return stop.exit_code

    def _finish(self, result: RunResult, error: str) -> None:
        with self.db.session() as session:
            counts = outbox.counts_by_state(session)
            open_conflicts = _open_conflicts(session)
        if counts[outbox.QUARANTINED] or open_conflicts:
            result.exit_code = EXIT_HUMAN
            result.error = "needs_attention"
        self._record_outcome(error)

    def _prune(self, result: RunResult) -> None:
        """Drop acknowledged rows past the retention window (cheap when none are due). It
        stops with the run's time limit and resumes next run; it never fails the run, whose
        records are already safe upstream: a failure is logged and the rows wait."""
        try:
            days = self.options.retention_days
            done = retention.prune(self.db, retention.DEFAULT_DAYS if days is None else days,
                                   should_stop=self._out_of_time)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            self.log.write("prune_failed", error=type(exc).__name__)
            return
        result.pruned, result.pruned_bytes = done.rows, done.bytes
        if done.rows:
            self.log.write("pruned", rows=done.rows, bytes=done.bytes, first_seq=done.first_seq,
                           last_seq=done.last_seq, chunks=done.chunks,
                           window_days=done.window_days, complete=done.complete)

    def _out_of_time(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _report_lost(self, result: RunResult) -> None:
        """The upstream lost rows this desk no longer has: never pretend they were sent. The
        run needs a human (40) with this as its error, over a success, a partial run, a
        network failure or held rows; a run that stopped for a reason a person must see first
        (auth, a broken database, an internal error) keeps that error. Either way the
        ``pruned_lost`` counts stay in ``sync status``."""
        result.pruned_lost = sum(last - first + 1 for first, last in result.pruned_lost_seqs)
        self.log.write("pruned_lost", rows=result.pruned_lost,
                       first_seq=result.pruned_lost_seqs[0][0],
                       last_seq=result.pruned_lost_seqs[-1][1])
        if result.exit_code not in (EXIT_OK, EXIT_PARTIAL, EXIT_NETWORK) \
                and result.error != "needs_attention":
            return
        result.exit_code, result.error = EXIT_HUMAN, "pruned_lost"
        self._record_outcome("pruned_lost")

    def _record_outcome(self, error: str) -> None:
        def work(session: Session) -> None:
            row = session.get(SyncState, 1)
            if row is None:
                return
            if error:
                row.last_error, row.last_error_at = error, utcnow()
            else:
                row.last_error = ""
            session.add(row)

        try:
            self.db.write(work)
        except Exception:   # noqa: BLE001 - a full disk must not hide the run's own outcome
            pass

    def _pending_count(self) -> int:
        with self.db.session() as session:
            counts = outbox.counts_by_state(session)
        return counts[outbox.PENDING] + counts[outbox.IN_FLIGHT]


def _open_conflicts(session: Session) -> int:
    return session.exec(select(func.count()).select_from(SyncConflict)
                        .where(SyncConflict.resolved_at.is_(None))).one()
