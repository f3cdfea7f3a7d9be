"""``GET /hello`` at the start of every run: auth, limits, clock offset, and the restore checks
(SF-SERVER-RESTORED, docs/design/sync-failures.md).

Two restores show here. The server's: it says it holds this device's seqs only up to
``received_through_seq``, below what the desk saw acknowledged (or under a new epoch), so the
rows past it are sent again. The desk's own: the file came back from an older backup and the
server holds seqs (and dossier codes) this file never wrote, so the outbox counter and the code
counters move past them. Every value comes through :mod:`sync.replies` first, and the whole
outcome is written in one transaction whose work only touches the session and returns what it
did: the run's counters are set from it after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from ccdesk.domain.codes import split_code
from ccdesk.models import Office
from ccdesk.services.intake import move_counters_past
from ccdesk.storage.outbox import retention
from ccdesk.storage.outbox import states as outbox
from ccdesk.storage.outbox.write import utcnow
from sync import dictionaries, replies
from sync.link import Link
from sync.outcome import EXIT_HUMAN, RunResult, StopRun
from sync.state import SyncState


@dataclass(frozen=True)
class _Outcome:
    """What the handshake's transaction did."""

    resent: int = 0
    lost_seqs: list[tuple[int, int]] = field(default_factory=list)
    upstream_only_codes: list[str] = field(default_factory=list)
    pull_cursor: int = 0


def handshake(link: Link, state: SyncState, utc_clock: Callable[[], datetime],
              result: RunResult) -> replies.Hello:
    """Say hello and settle what a restore on either side changed; returns the checked reply
    (``state`` gets the pull cursor as it now stands)."""
    db = link.db
    status = desk_status(db.path)   # for the relay's `district health`
    offered = dictionaries.available()
    hello = link.call(lambda: link.client.hello(status, offered), "hello",
                      lambda reply: replies.hello(reply.data, offered))
    with db.session() as session:
        office = session.get(Office, 1)
    if office is not None and office.is_demo and not hello.accept_demo:
        raise StopRun(EXIT_HUMAN, "demo_refused")
    through = hello.received_through_seq
    offset = ((hello.server_time - utc_clock()).total_seconds()
              if hello.server_time else None)
    issued = _codes_issued_beyond_this_file(link, through)
    if issued and office is not None:
        link.checked(lambda _: _check_counters(office, issued), None)

    def work(session: Session) -> _Outcome:
        row = session.get(SyncState, 1)
        resent, lost = 0, []
        epoch_changed = bool(row.server_epoch) and row.server_epoch != hello.epoch
        if epoch_changed or through < outbox.max_acked_seq(session):
            resent = outbox.resend_after(session, through)
            lost = retention.note_lost(session, through)
        if epoch_changed:
            row.pull_cursor = 0
        if through:
            _move_seq_past(session, through)
        upstream_only = (move_counters_past(session, session.get(Office, 1), issued)
                         if issued else [])
        row.server_epoch = hello.epoch
        row.clock_offset_s = offset
        row.last_attempt_at = utcnow()
        session.add(row)
        return _Outcome(resent, lost, upstream_only, row.pull_cursor)

    done = db.write(work)
    result.resent_after_restore = done.resent
    result.pruned_lost_seqs = done.lost_seqs
    result.upstream_only_codes = done.upstream_only_codes
    result.codes_upstream_only = len(done.upstream_only_codes)
    state.pull_cursor = done.pull_cursor
    return hello


def _move_seq_past(session: Session, through: int) -> None:
    """The desk was restored from an older backup: the server has seen seqs this file never
    wrote. Move the counter past them so a seq never names two mutations (``through`` is
    bounded by sync/replies.py, so the counter keeps room to grow)."""
    conn = session.connection()
    conn.exec_driver_sql(
        "UPDATE sqlite_sequence SET seq = ? WHERE name = 'outbox' AND seq < ?", (through, through))
    conn.exec_driver_sql(
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox', ? WHERE NOT EXISTS "
        "(SELECT 1 FROM sqlite_sequence WHERE name = 'outbox')", (through,))


def _codes_issued_beyond_this_file(link: Link, through: int) -> list[str]:
    """The dossier codes among the seqs the server has from this device but this file never
    wrote (restored from an older backup), so the counters can move past them."""
    with link.db.session() as session:
        written = session.connection().exec_driver_sql(
            "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").scalar() or 0
    codes: list[str] = []
    after = written
    while after < through:
        page = link.call(lambda after=after: link.client.issued_codes(after), "issued_codes",
                         lambda reply, after=after: replies.issued_codes(reply.data, after,
                                                                          through))
        codes += page.codes
        if not page.more:
            break
        after = page.after_seq
    if codes:
        link.log.write("codes_skipped", count=len(codes), written_seq=written,
                       server_seq=through)
    return codes


def _check_counters(office: Office, codes: list[str]) -> None:
    """Every code of this desk's pattern must carry a counter in range, or none is used."""
    for code in codes:
        parts = split_code(office.code_pattern, office.agency_code, office.device_prefix, code)
        if parts is not None:
            replies.code_counter(code, parts[1])


def desk_status(db_path: Path) -> dict[str, int] | None:
    """This desk's own counts, sent in the signed ``/hello`` query so the relay's
    ``district health`` shows which communes are stuck (docs/relay-security.md)."""
    from ccdesk.storage.outbox.status import read_status_file

    status = read_status_file(db_path)
    if status is None:
        return None
    counts = {"pending": status.pending + status.in_flight, "quarantined": status.quarantined,
              "conflicts": status.conflicts}
    if status.oldest_pending_age_s is not None:
        counts["oldest_pending_s"] = status.oldest_pending_age_s
    return counts
