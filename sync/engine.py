"""Push and pull runs (sync.md, "Client behaviour").

A run takes the sync lock (one process at a time, F7), returns rows a crash left in flight to
pending, says hello (auth, epoch, clock offset, limits), then drains the outbox in batches sized
by bytes, each batch marked in flight in one transaction and settled from the per-record results
in another (F2). Network failures back off with full jitter and honour ``Retry-After``; a reply
that may have been lost is recovered with ``GET /batches/{id}`` before anything is re-sent (F1);
413 halves the batch (F4); auth failures stop the run (F9). The exit code follows the contract in
``docs/sync.md``: 0 synced, 10 partial, 20 network unavailable, 30 auth/revoked, 40 needs a human,
50 internal error.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, func, select

from ccdesk.domain.errors import StorageError
from ccdesk.ids import uuid7
from ccdesk.models import Office
from ccdesk.services.context import DeskContext
from ccdesk.services.intake import move_counters_past
from ccdesk.storage.outbox import utcnow
from sync import outbox, protocol, retention
from sync.client import (
    AMBIGUOUS,
    AUTH,
    GONE,
    REFUSED,
    RETRY,
    TOO_LARGE,
    Exchange,
    SyncClient,
    SyncFailure,
    timeouts,
)
from sync.inbox import apply_change
from sync.joblog import JsonLineLog
from sync.lock import LockBusy, SyncLock
from sync.state import SyncAttempt, SyncConflict, SyncState

EXIT_OK, EXIT_PARTIAL, EXIT_NETWORK, EXIT_AUTH, EXIT_HUMAN, EXIT_INTERNAL = 0, 10, 20, 30, 40, 50
MIN_WIRE_TARGET = 2 * 1024
CRASH_ENV = "CCDESK_SYNC_CRASH_AT"


@dataclass(frozen=True)
class _Prepared:
    """A batch built and marked in flight, not yet answered."""

    batch_id: str
    batch: list[outbox.OutboxRow]
    raw: bytes
    wire: bytes


class StopRun(Exception):
    """Ends a run early with an exit code and a stable error code."""

    def __init__(self, exit_code: int, code: str) -> None:
        super().__init__(code)
        self.exit_code, self.code = exit_code, code


@dataclass
class RunResult:
    """What one run did; ``to_json`` is the ``--json`` output of push/pull/run."""

    exit_code: int = EXIT_OK
    error: str = ""
    records_sent: int = 0
    acked: int = 0
    duplicates: int = 0
    quarantined: int = 0
    conflicts: int = 0
    pulled: int = 0
    pull_conflicts: int = 0
    bytes_raw: int = 0
    bytes_wire: int = 0
    bytes_received: int = 0
    batches: int = 0
    resent_after_restore: int = 0
    # Dossier codes the upstream holds from this desk that its file no longer has (the file was
    # restored from an older backup): the code counters now skip them.
    codes_upstream_only: int = 0
    upstream_only_codes: list[str] = field(default_factory=list)
    # Acknowledged rows dropped at the end of this run (retention window, sync/retention.py).
    pruned: int = 0
    pruned_bytes: int = 0
    # Rows the upstream lost (restored from a backup) that this desk had already dropped after
    # the retention window: they cannot be sent again; the run ends with 40 and names them.
    pruned_lost: int = 0
    pruned_lost_seqs: list[tuple[int, int]] = field(default_factory=list)
    pending: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Backoff:
    """Full-jitter exponential backoff with a cap (AWS architecture blog, 2015)."""

    base: float = 0.5
    cap: float = 60.0
    retry_after_cap: float = 900.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        return random.uniform(0.0, min(self.cap, self.base * (2 ** attempt)))


@dataclass
class EngineOptions:
    max_time: float | None = None          # seconds for the whole run (cron slots)
    max_attempts: int = 8                  # consecutive failures of one exchange before stopping
    backoff: Backoff = field(default_factory=Backoff)
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    lock_wait: float = 120.0
    batch_seconds: float = 8.0             # aim for batches that take about this long to send
    max_records: int = 5000
    encoding: str = "zstd"
    # Days acknowledged rows are kept (0: forever); None: the default, or the desk's config
    # (``sync_retention_days``) when the engine comes from ``sync.service.make_engine``.
    retention_days: int | None = None


def crash_point(name: str) -> None:
    """Fault injection for the kill -9 tests: SIGKILL ourselves at a named point."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def lock_path_for(db_path: Path) -> Path:
    """The sync lock file beside a desk database."""
    return db_path.with_name(db_path.name + ".sync.lock")


class SyncEngine:
    """Push/pull for one desk database."""

    def __init__(self, ctx: DeskContext, *, options: EngineOptions | None = None,
                 client_factory: Callable[[SyncState], SyncClient] | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 utc_clock: Callable[[], datetime] = utcnow,
                 log_path: Path | None = None) -> None:
        self.ctx = ctx
        self.db = ctx.db
        self.options = options or EngineOptions()
        self.sleep = sleep
        self.utc_clock = utc_clock
        self._client_factory = client_factory or self._default_client
        self._deadline: float | None = None
        self._preferred = protocol.DEFAULT_PREFERRED_BATCH_BYTES
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
                    result.exit_code = EXIT_OK
                    return result
                client = self._client_factory(state)
                try:
                    hello = self._handshake(client, state, result)
                    if push:
                        self._drain(client, state, hello, result, progress)
                    if pull:
                        self._pull(client, state, result)
                finally:
                    client.close()
                self._finish(result, error="")
                if push and not result.pruned_lost_seqs:
                    self._prune(result)
        except StopRun as stop:
            result.error = stop.code
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
            except Exception:  # noqa: BLE001 - a broken database already set the outcome
                result.pending = -1
            result.seconds = round(time.monotonic() - started, 3)
        return result

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
        if state is None or not state.upstream_url or not state.private_key:
            raise StopRun(EXIT_HUMAN, "not_enrolled")
        if state.revoked:
            raise StopRun(EXIT_AUTH, "revoked")
        return state

    def _default_client(self, state: SyncState) -> SyncClient:
        return SyncClient(state.upstream_url, state.device_id, state.private_key,
                          timeout=timeouts(self.options.connect_timeout,
                                           self.options.read_timeout))

    def _handshake(self, client: SyncClient, state: SyncState, result: RunResult) -> dict:
        """``GET /hello``: auth, limits, clock offset, and the server-restore check (F3)."""
        status = _desk_status(self.db.path)   # for the relay's `district health`
        reply = self._exchange(lambda: client.hello(status), "hello")
        data = reply.data
        with self.db.session() as session:
            office = session.get(Office, 1)
        if office is not None and office.is_demo and not data.get("accept_demo"):
            raise StopRun(EXIT_HUMAN, "demo_refused")
        through = int(data.get("device", {}).get("received_through_seq") or 0)
        server_time = _parse_utc(data.get("server_time"))
        offset = (server_time - self.utc_clock()).total_seconds() if server_time else None
        issued = self._codes_issued_beyond_this_file(client, through)

        def work(session: Session) -> int:
            row = session.get(SyncState, 1)
            resent = 0
            epoch_changed = bool(row.server_epoch) and row.server_epoch != data["epoch"]
            if epoch_changed or through < outbox.max_acked_seq(session):
                resent = outbox.resend_after(session, through)
                result.pruned_lost_seqs = retention.note_lost(session, through)
            if epoch_changed:
                row.pull_cursor = 0
            # The desk itself was restored from an older backup: the server has seen seqs this
            # file never wrote. Move the counter past them so a seq never names two mutations.
            if through:
                conn = session.connection()
                conn.exec_driver_sql(
                    "UPDATE sqlite_sequence SET seq = ? WHERE name = 'outbox' AND seq < ?",
                    (through, through))
                conn.exec_driver_sql(
                    "INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox', ? WHERE NOT EXISTS "
                    "(SELECT 1 FROM sqlite_sequence WHERE name = 'outbox')", (through,))
            if issued:
                result.upstream_only_codes = move_counters_past(
                    session, session.get(Office, 1), issued)
                result.codes_upstream_only = len(result.upstream_only_codes)
            row.server_epoch = data["epoch"]
            row.clock_offset_s = offset
            row.last_attempt_at = utcnow()
            session.add(row)
            return resent

        result.resent_after_restore = self.db.write(work)
        state.pull_cursor = self._state().pull_cursor
        return data

    def _codes_issued_beyond_this_file(self, client: SyncClient, through: int) -> list[str]:
        """The dossier codes among the seqs the server has from this device but this file never
        wrote (restored from an older backup), so the counters can move past them."""
        with self.db.session() as session:
            written = session.connection().exec_driver_sql(
                "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").scalar() or 0
        codes: list[str] = []
        after = written
        while after < through:
            data = self._exchange(lambda after=after: client.issued_codes(after),
                                  "issued_codes").data
            codes += [code for code in data["codes"] if isinstance(code, str)]
            if not data.get("more"):
                break
            after = int(data["after_seq"])
        if codes:
            self.log.write("codes_skipped", count=len(codes), written_seq=written,
                           server_seq=through)
        return codes

    # ---- push -----------------------------------------------------------------------------
    def _drain(self, client: SyncClient, state: SyncState, hello: dict, result: RunResult,
               progress: Callable[[int, int], None] | None) -> None:
        limits = hello.get("limits", {})
        preferred = int(limits.get("preferred_batch_bytes")
                        or protocol.DEFAULT_PREFERRED_BATCH_BYTES)
        hard_max = int(limits.get("max_batch_bytes") or protocol.DEFAULT_MAX_BATCH_BYTES)
        wire_target = min(state.batch_bytes or preferred, preferred)
        self._preferred = preferred
        ratio = 8.0
        total = self._pending_count()
        done = 0
        if progress:
            progress(0, total)
        buffer: list[outbox.OutboxRow] = []
        current: _Prepared | None = None
        future: Future[tuple[Exchange, int] | None] | None = None
        # Pipelining: while one batch is on the wire (worker thread, one request at a time),
        # the next is read, built, compressed and marked in flight here; once a reply is in,
        # the next batch goes on the wire before this thread settles the answered one.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ccdesk-sync") as pool:
            while True:
                if future is None:
                    if self._deadline is not None and time.monotonic() > self._deadline:
                        if current is not None:
                            self._unmark(current, "max_time")
                        raise StopRun(EXIT_PARTIAL, "max_time")
                    if current is None:
                        buffer = buffer or self._refill(result)
                        if not buffer:
                            break
                        current = self._prepare(buffer, state, wire_target, ratio, hard_max)
                        buffer = buffer[len(current.batch):]
                    future = pool.submit(self._send_batch, client, current, result)
                upcoming: _Prepared | None = None
                try:
                    buffer = buffer or self._refill(result)
                    if buffer:
                        upcoming = self._prepare(buffer, state, wire_target, ratio, hard_max)
                        buffer = buffer[len(upcoming.batch):]
                finally:
                    try:
                        outcome = future.result()
                    except BaseException:
                        if upcoming is not None:
                            self._unmark(upcoming, "not_sent")
                        raise
                future = None
                if outcome is None:            # 413: halve and try again (F4)
                    if upcoming is not None:
                        self._unmark(upcoming, "not_sent")
                    buffer = []
                    if len(current.batch) == 1:
                        self.db.write(lambda s, seq=current.batch[0].seq: outbox.quarantine(
                            s, seq, "too_large: record exceeds the server's limit"))
                        result.quarantined += 1
                    wire_target = max(MIN_WIRE_TARGET // 2, len(current.wire) // 2)
                    current = None
                    continue
                reply, wire_target = outcome
                ratio = max(1.0, len(current.raw) / max(1, len(current.wire)))
                answered, current = current, upcoming
                if current is not None and not self._out_of_time():
                    future = pool.submit(self._send_batch, client, current, result)
                try:
                    self._settle(answered.batch, reply, answered.raw, answered.wire, result,
                                 wire_target)
                except BaseException:
                    if future is not None:
                        # Let the request on the wire end; its rows stay in flight and return
                        # to pending at the next start, like after a crash (F7).
                        futures_wait([future])
                    raise
                result.batches += 1
                done += len(answered.batch)
                if progress:
                    progress(min(done, total), max(total, done))

    def _refill(self, result: RunResult) -> list[outbox.OutboxRow]:
        with self.db.session() as session:
            rows = outbox.pending_rows(session, self.options.max_records, one_gap=True)
        return self._drop_damaged(rows, result) if rows else []

    def _prepare(self, buffer: list[outbox.OutboxRow], state: SyncState, wire_target: int,
                 ratio: float, hard_max: int) -> _Prepared:
        """Build the next batch and mark its rows in flight (one transaction)."""
        batch_id, batch, raw, wire = self._build(buffer, state, wire_target, ratio, hard_max)
        seqs = [row.seq for row in batch]
        self.db.write(lambda s: outbox.mark_in_flight(s, seqs, batch_id))
        crash_point("after_mark")
        return _Prepared(batch_id, batch, raw, wire)

    def _unmark(self, prepared: _Prepared, reason: str) -> None:
        """The prepared batch will not be sent: its rows wait again (``reason`` is logged)."""
        self.db.write(lambda s: outbox.back_to_pending(s, prepared.batch_id))
        self.log.write("unmarked", batch_id=prepared.batch_id, reason=reason)

    def _drop_damaged(self, rows: list[outbox.OutboxRow],
                      result: RunResult) -> list[outbox.OutboxRow]:
        """A payload that no longer matches its digest is quarantined, never sent (F6, F8)."""
        intact = [row.intact for row in rows]   # one sha256 per payload, not two
        damaged = [row.seq for row, ok in zip(rows, intact, strict=True) if not ok]
        if damaged:
            def work(session: Session) -> None:
                for seq in damaged:
                    outbox.quarantine(session, seq, "damaged_payload: sha256 mismatch")

            self.db.write(work)
            result.quarantined += len(damaged)
        return [row for row, ok in zip(rows, intact, strict=True) if ok] if damaged else rows

    def _build(self, rows: list[outbox.OutboxRow], state: SyncState, wire_target: int,
               ratio: float, hard_max: int) -> tuple[str, list[outbox.OutboxRow], bytes, bytes]:
        """Take as many rows as fit ``wire_target`` compressed bytes (estimated by ``ratio``)."""
        budget = max(1, int(wire_target * ratio))
        while True:
            size, count = 0, 0
            for row in rows:
                size += len(row.payload) + 160
                count += 1
                if size >= budget:
                    break
            batch = rows[:count]
            records = [protocol.record_json(r.seq, r.mutation_id, r.op, r.entity_id,
                                            r.client_time, r.payload) for r in batch]
            batch_id = uuid7()
            raw = protocol.batch_json(batch_id, state.device_id, state.commune_code,
                                      self._is_demo(), state.pull_cursor, batch[0].seq,
                                      batch[-1].seq, records)
            wire = protocol.compress(raw, self.options.encoding)
            if len(wire) <= hard_max * 0.9 or count == 1:
                return batch_id, batch, raw, wire
            budget = max(1, budget // 2)

    def _is_demo(self) -> bool:
        with self.db.session() as session:
            office = session.get(Office, 1)
        return bool(office and office.is_demo)

    def _send_batch(self, client: SyncClient, prepared: _Prepared,
                    result: RunResult) -> tuple[Exchange, int] | None:
        """Send one batch until it has a result; None on 413 (rows back to pending). Returns
        the reply (the caller settles it) and the next batch's size in wire bytes, sized to
        take ``batch_seconds`` at the throughput just measured (small on 2G, large on a LAN)."""
        batch_id, batch, raw, wire = (prepared.batch_id, prepared.batch, prepared.raw,
                                      prepared.wire)
        digest = protocol.sha256_hex(wire)
        ambiguous = False
        attempt = 0
        while True:
            try:
                reply = None
                if ambiguous:
                    reply = client.get_batch(batch_id, digest)
                if reply is None:
                    result.records_sent += len(batch)
                    result.bytes_raw += len(raw)
                    result.bytes_wire += len(wire)
                    reply = client.post_batch(batch_id, wire, self.options.encoding)
                break
            except SyncFailure as failure:
                self._log_attempt("batch", batch_id, batch, raw, wire, failure.http_status,
                                  failure.code, 0)
                if failure.kind == TOO_LARGE:
                    self.db.write(lambda s: outbox.back_to_pending(s, batch_id))
                    return None
                if failure.kind in (RETRY, AMBIGUOUS):
                    ambiguous = ambiguous or failure.kind == AMBIGUOUS
                    attempt += 1
                    if attempt >= self.options.max_attempts or self._out_of_time():
                        self.db.write(lambda s: outbox.back_to_pending(s, batch_id))
                        raise StopRun(EXIT_NETWORK, failure.code) from failure
                    self._wait(attempt, failure.retry_after)
                    continue
                self.db.write(lambda s: outbox.back_to_pending(s, batch_id))
                raise self._stop_for(failure) from failure
        crash_point("after_reply")
        result.bytes_received += reply.bytes_received
        throughput = len(wire) / max(reply.rtt_s, 1e-3)
        target = int(min(self._preferred, max(MIN_WIRE_TARGET,
                                              throughput * self.options.batch_seconds)))
        return reply, target

    def _settle(self, batch: list[outbox.OutboxRow], reply: Exchange, raw: bytes, wire: bytes,
                result: RunResult, wire_target: int) -> None:
        by_seq = {r.get("seq"): r for r in reply.data["results"] if isinstance(r, dict)}
        batch_id = reply.data["batch_id"]
        now = utcnow()

        def work(session: Session) -> None:
            outcomes: list[tuple[int, str, str]] = []
            missing: list[int] = []
            for row in batch:
                r = by_seq.get(row.seq)
                kind = r.get("result") if r and r.get("id") in (row.mutation_id, None) else None
                if kind in (protocol.APPLIED, protocol.DUPLICATE):
                    outcomes.append((row.seq, outbox.ACKED, ""))
                    if kind == protocol.DUPLICATE:
                        result.duplicates += 1
                    result.acked += 1
                elif kind == protocol.CONFLICT:
                    outcomes.append((row.seq, outbox.CONFLICT, f"conflict: {r.get('code', '')}"))
                    session.add(SyncConflict(at=now, side="push", dossier_code=row.entity_id,
                                             mutation_id=row.mutation_id,
                                             upstream_status=str(r.get("upstream_status", "")),
                                             detail=protocol.dumps(r).decode()))
                    result.conflicts += 1
                elif kind == protocol.REJECTED:
                    reason = f"{r.get('code', 'rejected')}: {r.get('message', '')}"[:300]
                    outcomes.append((row.seq, outbox.QUARANTINED, reason))
                    result.quarantined += 1
                else:
                    missing.append(row.seq)   # no result for it: never acked without one (F2)
            # Acked rows become a seq range and the batch's flight ends: no row is rewritten.
            outbox.settle(session, outcomes, now, batch_id=batch_id)
            if missing:
                outbox.note_error(session, missing, "no_result")
            session.add(SyncAttempt(at=now, kind="batch", batch_id=batch_id,
                                    first_seq=batch[0].seq, last_seq=batch[-1].seq,
                                    records=len(batch), bytes_raw=len(raw), bytes_wire=len(wire),
                                    http_status=reply.http_status, outcome="ok",
                                    rtt_ms=int(reply.rtt_s * 1000)))
            state = session.get(SyncState, 1)
            state.last_success_at = now
            state.batch_bytes = wire_target
            session.add(state)

        self.db.write(work)
        self.log.write("batch", batch_id=batch_id, first_seq=batch[0].seq,
                       last_seq=batch[-1].seq, records=len(batch), bytes_raw=len(raw),
                       bytes_wire=len(wire), http_status=reply.http_status, outcome="ok",
                       rtt_ms=int(reply.rtt_s * 1000), acked=result.acked,
                       quarantined=result.quarantined, conflicts=result.conflicts)

    # ---- pull -----------------------------------------------------------------------------
    def _pull(self, client: SyncClient, state: SyncState, result: RunResult) -> None:
        cursor = state.pull_cursor
        resynced = False
        while True:
            try:
                reply = self._exchange(lambda c=cursor: client.changes(c), "changes")
            except StopRun:
                raise
            except SyncFailure as failure:
                if failure.kind == GONE and not resynced:
                    cursor, resynced = 0, True   # the server lost our cursor: start over
                    continue
                raise self._stop_for(failure) from failure
            data = reply.data
            changes = data["changes"]
            new_cursor = int(data.get("cursor") or cursor)

            def work(session: Session, changes: list = changes, new_cursor: int = new_cursor,
                     reset: bool = resynced) -> None:
                for change in changes:
                    outcome = apply_change(session, self.ctx, change)
                    if outcome == "applied":
                        result.pulled += 1
                    elif outcome == "conflict":
                        result.pull_conflicts += 1
                row = session.get(SyncState, 1)
                # Cursors only move forward, except the resync the server asked for (410).
                row.pull_cursor = new_cursor if reset else max(row.pull_cursor, new_cursor)
                row.last_success_at = utcnow()
                session.add(row)

            self.db.write(work)
            cursor = new_cursor
            if not data.get("more"):
                break

    # ---- helpers --------------------------------------------------------------------------
    def _exchange(self, call: Callable[[], Exchange], kind: str) -> Exchange:
        """An idempotent exchange, retried with backoff; stops the run when it cannot be done."""
        attempt = 0
        while True:
            try:
                reply = call()
                self._log_simple(kind, reply.http_status, "ok", reply.bytes_sent,
                                 int(reply.rtt_s * 1000))
                return reply
            except SyncFailure as failure:
                self._log_simple(kind, failure.http_status, failure.code, 0, 0)
                if failure.kind not in (RETRY, AMBIGUOUS):
                    if failure.kind == GONE:
                        raise
                    raise self._stop_for(failure) from failure
                attempt += 1
                if attempt >= self.options.max_attempts or self._out_of_time():
                    raise StopRun(EXIT_NETWORK, failure.code) from failure
                self._wait(attempt, failure.retry_after)

    def _stop_for(self, failure: SyncFailure) -> StopRun:
        if failure.kind == AUTH:
            if failure.code == "revoked":
                self.db.write(_mark_revoked)
            return StopRun(EXIT_AUTH, failure.code)
        if failure.kind == REFUSED:
            return StopRun(EXIT_HUMAN, failure.code)
        if failure.kind in (RETRY, AMBIGUOUS):
            return StopRun(EXIT_NETWORK, failure.code)
        return StopRun(EXIT_INTERNAL, failure.code)

    def _wait(self, attempt: int, retry_after: float | None) -> None:
        delay = self.options.backoff.delay(attempt, retry_after)
        if self._deadline is not None:
            delay = min(delay, max(0.0, self._deadline - time.monotonic()))
        self.sleep(delay)

    def _out_of_time(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

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

    def _state(self) -> SyncState:
        with self.db.session() as session:
            return session.get(SyncState, 1)

    def _pending_count(self) -> int:
        with self.db.session() as session:
            counts = outbox.counts_by_state(session)
        return counts[outbox.PENDING] + counts[outbox.IN_FLIGHT]

    def _log_attempt(self, kind: str, batch_id: str, batch: list[outbox.OutboxRow], raw: bytes,
                     wire: bytes, status: int, outcome: str, rtt_ms: int) -> None:
        attempt = SyncAttempt(at=utcnow(), kind=kind, batch_id=batch_id,
                              first_seq=batch[0].seq, last_seq=batch[-1].seq,
                              records=len(batch), bytes_raw=len(raw), bytes_wire=len(wire),
                              http_status=status, outcome=outcome, rtt_ms=rtt_ms)
        self.log.write(kind, batch_id=batch_id, first_seq=attempt.first_seq,
                       last_seq=attempt.last_seq, records=len(batch), bytes_raw=len(raw),
                       bytes_wire=len(wire), http_status=status, outcome=outcome)
        self.db.write(lambda s: s.add(attempt))

    def _log_simple(self, kind: str, status: int, outcome: str, sent: int, rtt_ms: int) -> None:
        attempt = SyncAttempt(at=utcnow(), kind=kind, http_status=status, outcome=outcome,
                              bytes_wire=sent, rtt_ms=rtt_ms)
        self.log.write(kind, http_status=status, outcome=outcome, rtt_ms=rtt_ms)
        self.db.write(lambda s: s.add(attempt))


def _mark_revoked(session: Session) -> None:
    row = session.get(SyncState, 1)
    row.revoked = True
    session.add(row)


def _open_conflicts(session: Session) -> int:
    return session.exec(select(func.count()).select_from(SyncConflict)
                        .where(SyncConflict.resolved_at.is_(None))).one()


def _parse_utc(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.removesuffix("Z")).replace(tzinfo=None)
    except ValueError:
        return None


def _desk_status(db_path: Path) -> dict[str, int] | None:
    """This desk's own counts, sent in the signed ``/hello`` query so the relay's
    ``district health`` shows which communes are stuck (docs/relay-security.md)."""
    from sync.status import read_status_file

    status = read_status_file(db_path)
    if status is None:
        return None
    counts = {"pending": status.pending + status.in_flight, "quarantined": status.quarantined,
              "conflicts": status.conflicts}
    if status.oldest_pending_age_s is not None:
        counts["oldest_pending_s"] = status.oldest_pending_age_s
    return counts
