"""Pushing the outbox (docs/sync.md, "Client behaviour").

Rows go in batches sized by compressed bytes, each batch marked in flight in one transaction
and settled from the per-record results in another (SF-EARLY-ACK). A reply that may have been
lost is recovered with ``GET /batches/{id}`` before anything is re-sent (SF-LOST-REPLY); 413
halves the batch (SF-BATCH-TOO-LARGE).
Each transaction's work only touches the session and returns what it did; the run's counters
move after the commit, so a transaction retried on a lock error counts once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass

from sqlmodel import Session

from ccdesk.ids import uuid7
from ccdesk.models import Office
from ccdesk.storage import crashpoint
from ccdesk.storage.outbox import states as outbox
from ccdesk.storage.outbox.write import utcnow
from sync import compact, protocol, replies, session
from sync.client import AMBIGUOUS, RETRY, TOO_LARGE, Exchange, SyncFailure
from sync.link import Link
from sync.outcome import EXIT_PARTIAL, RunResult, StopRun
from sync.state import SyncAttempt, SyncConflict, SyncState

MIN_WIRE_TARGET = 2 * 1024


@dataclass(frozen=True)
class Prepared:
    """A batch built and marked in flight, not yet answered."""

    batch_id: str
    batch: list[outbox.OutboxRow]
    raw: bytes
    wire: bytes
    dictionary: str | None = None      # the one ``wire`` was compressed with
    expect: tuple[str, int] | None = None  # what the relay must hold (no hello, session.py)
    compact: bool = False              # records of schema 2 or later (sync/compact.py)
    estimate: int = 0                  # the rows' size as schema 1 (sizes the next batch)

    def attempt(self, kind: str, status: int, outcome: str, rtt_ms: int = 0) -> SyncAttempt:
        return SyncAttempt(at=utcnow(), kind=kind, batch_id=self.batch_id,
                           first_seq=self.batch[0].seq, last_seq=self.batch[-1].seq,
                           records=len(self.batch), bytes_raw=len(self.raw),
                           bytes_wire=len(self.wire), http_status=status, outcome=outcome,
                           rtt_ms=rtt_ms)


@dataclass(frozen=True)
class Answered:
    """A batch's checked reply and the next batch's size (wire bytes) it suggests."""

    reply: Exchange
    results: dict[int, replies.RecordResult]
    wire_target: int


class Pusher:
    """Drains the outbox through one run's :class:`Link`."""

    def __init__(self, link: Link, state: SyncState, hello: replies.Hello, *,
                 max_records: int, encoding: str, batch_seconds: float,
                 expect: tuple[str, int] | None = None) -> None:
        self.link, self.db, self.state = link, link.db, state
        self.max_records, self.encoding, self.batch_seconds = (max_records, encoding,
                                                               batch_seconds)
        self.preferred = hello.preferred_batch_bytes
        self.hard_max = hello.max_batch_bytes
        # zstd only: a dictionary is negotiated for zstd bodies (sync/dictionaries).
        self.dictionary = hello.dictionary if encoding == "zstd" else None
        # The record schema both sides read (sync/compact.py): 1 is the full JSON.
        self.records = min(hello.records, compact.REVISION)
        self.small_push = False         # set by drain: compact every batch of a small push
        self.measured = False           # set by drain: a throughput was measured
        # Without a hello (sync/session.py) the first batch carries what the relay must hold.
        self.expect = expect
        with self.db.session() as session:
            office = session.get(Office, 1)
        self.demo = bool(office and office.is_demo)

    def drain(self, result: RunResult, pending: int,
              progress: Callable[[int, int], None] | None) -> None:
        # A desk without history starts small (the link may be 2G) and grows by measurement.
        wire_target = min(self.state.batch_bytes or protocol.FIRST_BATCH_BYTES, self.preferred)
        # Compaction costs ~0.1 ms of CPU a row on each side: bounded for a small push, too
        # much for a bulk one on a fast link (docs/sync.md, "Compact records").
        self.small_push = pending <= protocol.COMPACT_PUSH_ROWS
        self.measured = bool(self.state.batch_bytes)    # the link's speed is known
        ratio = 8.0
        total, done = pending, 0
        if progress:
            progress(0, total)
        buffer: list[outbox.OutboxRow] = []
        current: Prepared | None = None
        future: Future[Answered | None] | None = None
        # Pipelining: while one batch is on the wire (worker thread, one request at a time),
        # the next is read, built, compressed and marked in flight here; once a reply is in,
        # the next batch goes on the wire before this thread settles the answered one.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ccdesk-sync") as pool:
            while True:
                if future is None:
                    if self.link.out_of_time():
                        if current is not None:
                            self._unmark(current, "max_time")
                        raise StopRun(EXIT_PARTIAL, "max_time")
                    if current is None:
                        buffer = buffer or self._refill(result)
                        if not buffer:
                            break
                        current = self._prepare(buffer, wire_target, ratio)
                        buffer = buffer[len(current.batch):]
                    future = pool.submit(self._send, current, result)
                upcoming: Prepared | None = None
                try:
                    buffer = buffer or self._refill(result)
                    if buffer:
                        upcoming = self._prepare(buffer, wire_target, ratio)
                        buffer = buffer[len(upcoming.batch):]
                finally:
                    try:
                        answered = future.result()
                    except BaseException:
                        if upcoming is not None:
                            self._unmark(upcoming, "not_sent")
                        raise
                future = None
                if answered is None:            # 413: halve and try again (SF-BATCH-TOO-LARGE)
                    if upcoming is not None:
                        self._unmark(upcoming, "not_sent")
                    buffer = []
                    if len(current.batch) == 1:
                        self.db.write(lambda s, seq=current.batch[0].seq: outbox.quarantine(
                            s, seq, "too_large: record exceeds the server's limit"))
                        result.quarantined += 1
                    wire_target = max(MIN_WIRE_TARGET // 2, len(current.wire) // 2)
                    self.expect = self.expect or current.expect   # nothing was applied
                    current = None
                    continue
                wire_target = answered.wire_target
                self.measured = True
                ratio = max(1.0, (current.estimate or len(current.raw))
                            / max(1, len(current.wire)))
                settling, current = current, upcoming
                if current is not None and not self.link.out_of_time():
                    future = pool.submit(self._send, current, result)
                try:
                    self._settle(settling, answered, result)
                except BaseException:
                    if future is not None:
                        # Let the request on the wire end; its rows stay in flight and return
                        # to pending at the next start, like after a crash (SF-STUCK-IN-FLIGHT).
                        futures_wait([future])
                    raise
                result.batches += 1
                done += len(settling.batch)
                if progress:
                    progress(min(done, total), max(total, done))

    # ---- building ---------------------------------------------------------------------------
    def _refill(self, result: RunResult) -> list[outbox.OutboxRow]:
        with self.db.session() as session:
            rows = outbox.pending_rows(session, self.max_records, one_gap=True)
        return self._drop_damaged(rows, result) if rows else []

    def _drop_damaged(self, rows: list[outbox.OutboxRow],
                      result: RunResult) -> list[outbox.OutboxRow]:
        """A payload that no longer matches its digest is quarantined, never sent
        (SF-POISON-RECORD, SF-EDIT-AFTER-SEND)."""
        intact = [row.intact for row in rows]   # one sha256 per payload, not two
        damaged = [row.seq for row, ok in zip(rows, intact, strict=True) if not ok]
        if not damaged:
            return rows

        def work(session: Session) -> None:
            for seq in damaged:
                outbox.quarantine(session, seq, "damaged_payload: sha256 mismatch")

        self.db.write(work)
        result.quarantined += len(damaged)
        return [row for row, ok in zip(rows, intact, strict=True) if ok]

    def _prepare(self, buffer: list[outbox.OutboxRow], wire_target: int,
                 ratio: float) -> Prepared:
        """Build the next batch and mark its rows in flight (one transaction)."""
        prepared = self._build(buffer, wire_target, ratio)
        seqs = [row.seq for row in prepared.batch]
        self.db.write(lambda s: outbox.mark_in_flight(s, seqs, prepared.batch_id))
        crashpoint.crash_point("after_mark")
        return prepared

    def _unmark(self, prepared: Prepared, reason: str) -> None:
        """The prepared batch will not be sent: its rows wait again (``reason`` is logged)."""
        self.db.write(lambda s: outbox.back_to_pending(s, prepared.batch_id))
        self.link.log.write("unmarked", batch_id=prepared.batch_id, reason=reason)

    def _build(self, rows: list[outbox.OutboxRow], wire_target: int, ratio: float) -> Prepared:
        """Take as many rows as fit ``wire_target`` compressed bytes (estimated by ``ratio``)."""
        budget = max(1, int(wire_target * ratio))
        state = self.state
        while True:
            size, count = 0, 0
            for row in rows:
                size += len(row.payload) + 160
                count += 1
                if size >= budget:
                    break
            batch = rows[:count]
            batch_id = uuid7()
            # Small batches and slow links, where bytes cost more than CPU, go with the
            # dictionary. Compact records: every batch of a push of at most
            # COMPACT_PUSH_ROWS rows, small batches, and a link measured slow (a bulk push
            # starts without a measurement: its first batches are small only by default).
            # A bulk push on a fast link keeps schema 1 and zstd-9.
            small = self._worth_a_dictionary(size, wire_target)
            packed = self.records >= 2 and (
                self.small_push or size <= protocol.DICT_SMALL_RAW or (small and self.measured))
            if packed:
                raw = compact.batch_json(
                    batch_id, state.commune_code, self.demo, state.pull_cursor, self.expect,
                    self.records, [row[:6] for row in batch])
                dictionary = self.dictionary if small else None
            else:
                # (seq, mutation id, op, entity id, client time, payload): a row's first six.
                raw = protocol.batch_json(batch_id, state.device_id, state.commune_code,
                                          self.demo, state.pull_cursor, batch[0].seq,
                                          batch[-1].seq,
                                          protocol.records_json(row[:6] for row in batch),
                                          self.expect)
                dictionary = self.dictionary if self._worth_a_dictionary(len(raw), wire_target) \
                    else None
            wire = protocol.compress(raw, self.encoding, dictionary)
            if len(wire) <= self.hard_max * 0.9 or count == 1:
                # Only the first batch: the next one is built while this one is on the wire.
                expect, self.expect = self.expect, None
                return Prepared(batch_id, batch, raw, wire, dictionary, expect,
                                compact=packed, estimate=size if packed else 0)
            budget = max(1, budget // 2)

    def _worth_a_dictionary(self, raw_bytes: int, wire_target: int) -> bool:
        """Dictionary and level 15 for small batches and on slow links (the wire target below
        the relay's cap: throughput-limited); see ``protocol.DICT_LEVEL``."""
        slow_link = wire_target < self.preferred
        return raw_bytes <= (protocol.DICT_MAX_RAW if slow_link else protocol.DICT_SMALL_RAW)

    # ---- on the wire ------------------------------------------------------------------------
    def _send(self, prepared: Prepared, result: RunResult) -> Answered | None:
        """Send one batch until it has a checked result; None on 413 (rows back to pending).
        The next batch is sized to take ``batch_seconds`` at the throughput just measured
        (small on 2G, large on a LAN)."""
        client, link = self.link.client, self.link
        digest = protocol.sha256_hex(prepared.wire)
        ambiguous = False
        attempt = 0
        while True:
            try:
                reply = client.get_batch(prepared.batch_id, digest) if ambiguous else None
                if reply is None:
                    result.records_sent += len(prepared.batch)
                    result.bytes_raw += len(prepared.raw)
                    result.bytes_wire += len(prepared.wire)
                    reply = client.post_batch(prepared.batch_id, prepared.wire, self.encoding,
                                              prepared.dictionary, prepared.compact)
                break
            except SyncFailure as failure:
                link.log_batch(prepared.attempt("batch", failure.http_status, failure.code))
                if failure.kind == TOO_LARGE:
                    self.db.write(lambda s: outbox.back_to_pending(s, prepared.batch_id))
                    return None
                if failure.code == session.HELLO_NEEDED and prepared.expect is not None:
                    # Nothing applied: the rows go again after the hello, counted then.
                    self.db.write(lambda s: outbox.back_to_pending(s, prepared.batch_id))
                    result.records_sent -= len(prepared.batch)
                    result.bytes_raw -= len(prepared.raw)
                    result.bytes_wire -= len(prepared.wire)
                    raise session.HelloNeeded from failure
                if failure.kind in (RETRY, AMBIGUOUS):
                    ambiguous = ambiguous or failure.kind == AMBIGUOUS
                    attempt += 1
                    try:
                        link.retry_or_stop(failure, attempt)
                    except StopRun:
                        self.db.write(lambda s: outbox.back_to_pending(s, prepared.batch_id))
                        raise
                    continue
                self.db.write(lambda s: outbox.back_to_pending(s, prepared.batch_id))
                raise link.stop_for(failure) from failure
        crashpoint.crash_point("after_reply")
        result.bytes_received += reply.bytes_received
        try:
            seqs = [row.seq for row in prepared.batch]
            results = link.checked(lambda r: replies.batch_results("batch", r.data, seqs), reply)
        except StopRun:
            self.db.write(lambda s: outbox.back_to_pending(s, prepared.batch_id))
            raise
        throughput = len(prepared.wire) / max(reply.rtt_s, 1e-3)
        target = int(min(self.preferred, max(MIN_WIRE_TARGET, throughput * self.batch_seconds)))
        return Answered(reply, results, target)

    def _settle(self, prepared: Prepared, answered: Answered, result: RunResult) -> None:
        """Apply the per-record results in one transaction; count them after its commit."""
        reply, by_seq, batch = answered.reply, answered.results, prepared.batch
        batch_id = prepared.batch_id      # a compact reply echoes only the digest
        now = utcnow()

        def work(session: Session) -> Counter[str]:
            counts: Counter[str] = Counter()
            outcomes: list[tuple[int, str, str]] = []
            missing: list[int] = []
            for row in batch:
                r = by_seq.get(row.seq)
                kind = (r.result if r is not None and r.mutation_id in (row.mutation_id, None)
                        else None)
                if kind in (protocol.APPLIED, protocol.DUPLICATE):
                    outcomes.append((row.seq, outbox.ACKED, ""))
                elif kind == protocol.CONFLICT:
                    outcomes.append((row.seq, outbox.CONFLICT, f"conflict: {r.code}"))
                    session.add(SyncConflict(at=now, side="push", dossier_code=row.entity_id,
                                             mutation_id=row.mutation_id,
                                             upstream_status=r.upstream_status,
                                             detail=protocol.dumps(replies.as_sent(r)).decode()))
                elif kind == protocol.REJECTED:
                    reason = f"{r.code or 'rejected'}: {r.message}"[:300]
                    outcomes.append((row.seq, outbox.QUARANTINED, reason))
                else:
                    # No result for it: never acknowledged without one (SF-EARLY-ACK).
                    missing.append(row.seq)
                    continue
                counts[kind] += 1
            # Acked rows become a seq range and the batch's flight ends: no row is rewritten.
            outbox.settle(session, outcomes, now, batch_id=batch_id)
            if missing:
                outbox.note_error(session, missing, "no_result")
            session.add(prepared.attempt("batch", reply.http_status, "ok",
                                         int(reply.rtt_s * 1000)))
            row_state = session.get(SyncState, 1)
            row_state.last_success_at = now
            row_state.batch_bytes = answered.wire_target
            session.add(row_state)
            return counts

        counts = self.db.write(work)
        result.duplicates += counts[protocol.DUPLICATE]
        result.acked += counts[protocol.APPLIED] + counts[protocol.DUPLICATE]
        result.conflicts += counts[protocol.CONFLICT]
        result.quarantined += counts[protocol.REJECTED]
        self.link.log.write("batch", batch_id=batch_id, first_seq=batch[0].seq,
                            last_seq=batch[-1].seq, records=len(batch),
                            bytes_raw=len(prepared.raw), bytes_wire=len(prepared.wire),
                            http_status=reply.http_status, outcome="ok",
                            rtt_ms=int(reply.rtt_s * 1000), acked=result.acked,
                            quarantined=result.quarantined, conflicts=result.conflicts)
