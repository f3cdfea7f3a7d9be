"""The desk's side of file sync: scans follow their dossiers in resumable, bounded chunks
(docs/sync.md, "Files").

A run sends files only after its records (push and pull), oldest first, and only for as long
as its file budget lasts (``EngineOptions.file_seconds`` and ``file_bytes``): a slow link
moves the records of every run and the files in what is left, each file resuming next run
where the relay's count says. Per file:

1. ``PATCH /files/{sha256}?offset=N`` with the chunk at the desk's own count
   (``stored_file.sent_bytes``; for a file of more than one small chunk never confirmed yet,
   the count from ``GET /files/{sha256}`` first), read from the desk's store; its size
   follows the measured throughput (about ``CHUNK_SECONDS`` per chunk, cut to the budget's
   end). The answer is the relay's count: ``not_referenced`` means its dossier has not
   reached the relay yet (the file waits for a later run), ``too_large`` that it never will
   be taken;
2. after every answer ``stored_file.sent_bytes`` is the relay's count, and ``sent_at`` is set
   once the relay has the whole file, verified;
3. after a failure (a dropped connection, a lost reply, ``409 offset_mismatch``) the desk
   asks ``GET /files/{sha256}`` for the relay's count after the retry policy's wait, and goes
   on from there: a chunk is never trusted to have arrived, nor assumed lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlmodel import Session

from ccdesk.storage.filestore import FileStore, store_root_for
from ccdesk.storage.outbox.sql import FILES_PENDING_SQL
from ccdesk.storage.outbox.write import utcnow
from sync.client import AMBIGUOUS, RETRY, TOO_LARGE, SyncFailure
from sync.link import Link
from sync.outcome import EXIT_HUMAN, StopRun

if TYPE_CHECKING:
    from ccdesk.storage.engine import Database
    from sync.outcome import RunResult

FIRST_CHUNK = 64 * 1024
MIN_CHUNK = 16 * 1024
MAX_CHUNK = 256 * 1024            # the relay's limit (sync/server/body.py, max_file_chunk_bytes)
CHUNK_SECONDS = 20.0              # long enough that the round trip and headers cost < 5 %
# Answers that leave a file for a later run rather than fail the run.
WAIT_CODES = frozenset({"not_referenced", "files_unavailable", "too_many_partial"})

UNSENT_SQL = ("SELECT sha256, size, sent_bytes FROM stored_file WHERE sent_at IS NULL "
              "AND EXISTS (SELECT 1 FROM attachment a WHERE a.sha256 = stored_file.sha256) "
              "ORDER BY stored_at, sha256")


@dataclass(frozen=True)
class Unsent:
    sha256: str
    size: int
    sent_bytes: int


def unsent(db: Database) -> list[Unsent]:
    """Files of the desk's dossiers the relay does not have whole yet, oldest first."""
    with db.session() as session:
        rows = session.connection().execute(text(UNSENT_SQL)).all()
    return [Unsent(r[0], int(r[1]), int(r[2])) for r in rows]


def pending(db: Database) -> tuple[int, int]:
    """How many files wait for the relay, and how many of their bytes."""
    with db.session() as session:
        count, size = session.connection().execute(text(FILES_PENDING_SQL)).one()
    return int(count), int(size)


def mark(db: Database, sha256: str, received: int, complete: bool) -> None:
    """The relay's count for one file (and ``sent_at`` once it has all of it, verified)."""
    def work(session: Session) -> None:
        session.connection().execute(
            text("UPDATE stored_file SET sent_bytes = :n, sent_at = COALESCE(sent_at, :at) "
                 "WHERE sha256 = :sha") if complete else
            text("UPDATE stored_file SET sent_bytes = :n WHERE sha256 = :sha"),
            {"n": received, "sha": sha256, "at": utcnow()})

    db.write(work)


class FileSender:
    """Sends the desk's unsent files for one run, within its budget."""

    def __init__(self, link: Link, db: Database, *, seconds: float | None,
                 max_bytes: int | None, chunk_bytes: int = FIRST_CHUNK,
                 max_chunk: int = MAX_CHUNK,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.link, self.db, self.clock = link, db, clock
        self.store = FileStore(store_root_for(db.path))
        started = clock()
        ends = [t for t in (link.deadline, None if seconds is None else started + seconds)
                if t is not None]
        self.deadline = min(ends) if ends else None
        self.max_bytes = max_bytes
        # The relay's limit from its hello, never beyond ours.
        self.max_chunk = max(MIN_CHUNK, min(MAX_CHUNK, max_chunk))
        self.chunk = max(MIN_CHUNK, min(self.max_chunk, chunk_bytes))
        self.sent = 0
        self.failures = 0          # consecutive failed exchanges (the retry policy's count)
        self.rate: float | None = None   # bytes per second of the last chunk

    def out_of_budget(self) -> bool:
        return (self.deadline is not None and self.clock() >= self.deadline) or (
            self.max_bytes is not None and self.sent >= self.max_bytes)

    def run(self, result: RunResult) -> None:
        """Send files oldest first until none is left or the budget is spent."""
        for file in unsent(self.db):
            if self.out_of_budget():
                result.files_budget_spent = True
                return
            self._send(file, result)

    # ---- one file ------------------------------------------------------------------------
    def _send(self, file: Unsent, result: RunResult) -> None:
        """From the desk's own count, without a question first for a small file (a round trip
        of 0.8 s on a slow link is the whole cost of a small scan); a file the relay has never
        confirmed a byte of, larger than one small chunk, is asked about first: its dossier
        may not be there yet (quarantined, or a later run's), or the relay may have it whole
        already (a reused paper, a USB bundle), and either would otherwise cost a chunk's
        airtime for nothing. The relay's answer to each chunk corrects the count (``409
        offset_mismatch`` after a relay restore)."""
        received = file.sent_bytes
        if received == 0 and file.size > MIN_CHUNK:
            state = self._status(file.sha256)
            if state is None:
                result.files_waiting += 1
                return
            received = state["received"]
        else:
            state = None
        while state is None or not state["complete"]:
            if self.out_of_budget():
                result.files_budget_spent = True
                return
            state = self._chunk(file, received, result)
            if state is None:
                result.files_waiting += 1
                return
            received = state["received"]
            if not state["complete"]:
                mark(self.db, file.sha256, received, False)
        mark(self.db, file.sha256, file.size, True)
        result.files_sent += 1

    def _status(self, sha256: str) -> dict[str, Any] | None:
        """The relay's count for the file, retried; None when it cannot take it now."""
        while True:
            try:
                reply = self.link.client.file_status(sha256)
            except SyncFailure as failure:
                self.link.log_exchange("file", failure.http_status, failure.code, 0, 0)
                if failure.code in WAIT_CODES or failure.kind == TOO_LARGE:
                    return None
                self._after_failure(failure)
                continue
            # ``failures`` stays: only a chunk that arrives ends a run of failures, else a
            # link that answers GETs but drops every chunk would never give up.
            self.link.log_exchange("file", reply.http_status, "ok", 0,
                                   int(reply.rtt_s * 1000))
            return _checked(reply.data, sha256)

    def _chunk(self, file: Unsent, offset: int, result: RunResult) -> dict[str, Any] | None:
        """Send the chunk at ``offset``; the relay's state after it (or after a failure)."""
        if offset >= file.size:     # the desk's count says all of it: ask whether it is whole
            return self._status(file.sha256)
        size = min(self._budgeted(self.chunk), file.size - offset)
        if self.max_bytes is not None:
            size = max(1, min(size, self.max_bytes - self.sent))
        data = self._read(file.sha256, offset, size)
        if data is None:
            return None
        if len(data) < size:        # shorter than its row says: damaged on the desk
            raise StopRun(EXIT_HUMAN, "file_damaged", file.sha256[:12])
        try:
            reply = self.link.client.file_chunk(file.sha256, offset, data)
        except SyncFailure as failure:
            return self._failed_chunk(failure, file, data, result)
        self.failures = 0
        self.link.log_exchange("file", reply.http_status, "ok", len(data),
                               int(reply.rtt_s * 1000))
        self.sent += len(data)
        result.file_bytes_sent += len(data)
        result.file_bytes_wire += reply.bytes_sent + reply.bytes_received
        self._adapt(len(data), reply.rtt_s)
        return _checked(reply.data, file.sha256)

    def _failed_chunk(self, failure: SyncFailure, file: Unsent, data: bytes,
                      result: RunResult) -> dict[str, Any] | None:
        """What follows a chunk the relay did not take: the relay's count (after the retry
        policy's wait), or None when the file waits for a later run."""
        self.link.log_exchange("file", failure.http_status, failure.code, len(data), 0)
        self.sent += failure.bytes_wire
        if failure.code == "hash_mismatch":
            # The relay found the whole file does not hash to its name: it started again.
            # A desk file damaged on disk is a person's matter; a transit fault retries.
            mark(self.db, file.sha256, 0, False)
            if not self.store.verify(file.sha256):
                raise StopRun(EXIT_HUMAN, "file_damaged", file.sha256[:12]) from failure
            result.files_refused += 1
            return None
        if failure.kind == TOO_LARGE and len(data) > MIN_CHUNK:
            self.chunk = max(MIN_CHUNK, len(data) // 2)   # a relay with a smaller limit
            return self._status(file.sha256)
        if failure.code in WAIT_CODES or failure.kind == TOO_LARGE:
            return None
        if failure.code != "offset_mismatch":
            self._after_failure(failure)
        return self._status(file.sha256)

    def _read(self, sha256: str, offset: int, size: int) -> bytes | None:
        try:
            with self.store.open(sha256) as source:
                source.seek(offset)
                return source.read(size)
        except OSError:
            self.link.log.write("file_missing", sha256=sha256[:12])
            return None

    def _after_failure(self, failure: SyncFailure) -> None:
        """Wait before trying again (20 when the policy or the run's time gives up)."""
        if failure.kind not in (RETRY, AMBIGUOUS):
            raise self.link.stop_for(failure) from failure
        self.failures += 1
        self.link.retry_or_stop(failure, self.failures)

    def _adapt(self, nbytes: int, seconds: float) -> None:
        """The next chunk about ``CHUNK_SECONDS`` long at the throughput just measured."""
        if seconds > 0:
            self.rate = nbytes / seconds
            self.chunk = max(MIN_CHUNK, min(self.max_chunk, int(self.rate * CHUNK_SECONDS)))

    def _budgeted(self, size: int) -> int:
        """``size``, cut so the chunk ends about when the time budget does (a chunk begun
        just before the end would otherwise overrun it by a whole chunk's airtime)."""
        if self.deadline is None or self.rate is None:
            return size
        remaining = self.deadline - self.clock()
        return max(MIN_CHUNK, min(size, int(self.rate * remaining)))


def _checked(data: Any, sha256: str) -> dict[str, Any]:
    """The relay's file state, refused (a portal, a proxy's page) unless it is one."""
    if not (isinstance(data, dict) and data.get("sha256") == sha256
            and type(data.get("received")) is int and type(data.get("size")) is int
            and 0 <= data["received"] <= data["size"]
            and isinstance(data.get("complete"), bool)):
        raise StopRun(EXIT_HUMAN, "bad_upstream_value", "file state")
    return data
