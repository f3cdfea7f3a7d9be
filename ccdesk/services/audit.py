"""Reading the audit trail: who did what to which dossier, when, and from which terminal.

The trail itself is written by every service in the same transaction as the change
(``recording.audit``) and protected by triggers refusing UPDATE and DELETE (migration 0001).
Reading it is itself recorded (``audit.view``): looking at who handled a citizen's dossier is
something an inspector may ask about.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, select

from ccdesk.domain.errors import NotFound, ValidationError
from ccdesk.models import AuditLog, Officer
from ccdesk.services.context import Actor, DeskContext
from ccdesk.services.recording import audit
from ccdesk.text import fold, nfc

MAX_ROWS = 100_000


@dataclass(frozen=True)
class AuditFilter:
    """What to show; empty fields do not filter. ``since``/``until`` are local calendar days."""

    dossier: str | None = None
    officer: str | None = None
    since: date | None = None
    until: date | None = None
    limit: int = 1000


@dataclass(frozen=True)
class AuditEntry:
    at: datetime                 # local wall-clock time, for display
    at_utc: datetime
    officer: str
    action: str
    dossier: str | None
    terminal: str
    detail: str


def local_day_start_utc(day: date) -> datetime:
    """Midnight of ``day`` on this machine's clock, as the naive UTC the trail stores."""
    return datetime.combine(day, time()).astimezone().astimezone(UTC).replace(tzinfo=None)


def to_local(at_utc: datetime) -> datetime:
    return at_utc.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


class AuditService:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    def trail(self, actor: Actor, flt: AuditFilter) -> list[AuditEntry]:
        """Rows matching every given filter, oldest first; raises if ``actor`` may not look."""
        actor.require("audit")
        if not 1 <= flt.limit <= MAX_ROWS:
            raise ValidationError("reliability.err.limit", low=1, high=MAX_ROWS)
        if flt.since and flt.until and flt.until < flt.since:
            raise ValidationError("reliability.err.until_before_since")

        def work(session: Session) -> list[AuditEntry]:
            query = select(AuditLog)
            if flt.dossier:
                code = nfc(flt.dossier)  # as typed, or upper-cased (agency codes are)
                query = query.where(col(AuditLog.dossier_code).in_({code, code.upper()}))
            if flt.officer:
                query = query.where(col(AuditLog.officer_username).in_(
                    self._usernames(session, flt.officer)))
            if flt.since:
                query = query.where(AuditLog.at >= local_day_start_utc(flt.since))
            if flt.until:
                query = query.where(
                    AuditLog.at < local_day_start_utc(flt.until + timedelta(days=1)))
            rows = session.exec(query.order_by(col(AuditLog.id).desc()).limit(flt.limit)).all()
            audit(session, self.ctx, actor, "audit.view", dossier_code=None,
                  detail=_describe(flt))
            return [AuditEntry(at=to_local(r.at), at_utc=r.at, officer=r.officer_username,
                               action=r.action, dossier=r.dossier_code, terminal=r.terminal,
                               detail=r.detail) for r in reversed(rows)]

        return self.ctx.db.write(work)

    def _usernames(self, session: Session, name: str) -> list[str]:
        """``name`` is a username or an officer's full name (accents and case ignored)."""
        wanted = nfc(name).lower()
        folded = fold(name)
        officers = session.exec(select(Officer)).all()  # a commune has a handful
        matches = [o.username for o in officers
                   if o.username == wanted or fold(o.full_name) == folded]
        # "system" and deleted accounts appear in the trail without an officer row.
        known = session.exec(select(AuditLog.officer_username)
                             .where(AuditLog.officer_username == wanted).limit(1)).first()
        if known:
            matches.append(wanted)
        if not matches:
            if " " in nfc(name):
                # Looks like a full name, maybe a citizen's typed here by mistake: not echoed
                # into an error report.
                raise NotFound("reliability.err.no_officer_name")
            raise NotFound("core.err.no_officer", username=name)
        return sorted(set(matches))


def _describe(flt: AuditFilter) -> str:
    """The filters, for the ``audit.view`` line (codes and usernames only, no names)."""
    parts = []
    if flt.dossier:
        parts.append(f"dossier={nfc(flt.dossier).upper()}")
    if flt.officer:
        parts.append("officer=" + ("<name>" if " " in nfc(flt.officer) else nfc(flt.officer)))
    if flt.since:
        parts.append(f"since={flt.since.isoformat()}")
    if flt.until:
        parts.append(f"until={flt.until.isoformat()}")
    return " ".join(parts)


# ---- tamper evidence: the chain and the guards (storage/auditchain.py) -----------------------

@dataclass(frozen=True)
class TrailCheck:
    """What a check of the trail found: the lines checked, the first broken line (if any) and
    the guards (triggers) that were missing and have been recreated."""

    checked: int
    broken_id: int | None
    restored_triggers: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.broken_id is None and not self.restored_triggers


def _raw(db_path: str):  # noqa: ANN202 - sqlite3.Connection
    import sqlite3

    return sqlite3.connect(db_path, timeout=15, isolation_level=None)


def verify_trail(ctx: DeskContext, *, full: bool) -> TrailCheck:
    """Check the chain: from the first line (``full``, ``ccdesk audit --verify``) or only the
    lines after the last verified checkpoint (start-up: a day's lines, not the whole table),
    then move the checkpoint. Missing guards are recreated either way."""
    from contextlib import closing

    from ccdesk.storage import auditchain

    path = str(ctx.db.path)
    key = auditchain.key_for(path)
    with closing(_raw(path)) as con:
        con.execute("BEGIN IMMEDIATE")  # nobody writes a line while the tail is checked
        try:
            restored = tuple(auditchain.restore_triggers(con))
            seal = con.execute("SELECT checked_id, checked_chain FROM audit_seal "
                               "WHERE id = 1").fetchone()
            start_id, start_chain = (0, auditchain.GENESIS)
            if seal is not None and not full:
                start_id, start_chain = seal
                row = con.execute("SELECT chain FROM auditlog WHERE id = ?",
                                  (start_id,)).fetchone()
                if start_id and (row is None or row[0] != start_chain):
                    # The checkpoint's line is gone or changed: the break is at or before it.
                    start_id, start_chain = 0, auditchain.GENESIS
            result = auditchain.verify_rows(key, auditchain.iter_rows(con, start_id),
                                            start_id, start_chain)
            if result.ok:
                con.execute("UPDATE audit_seal SET checked_id = ?, checked_chain = ?, "
                            "checked_at = CURRENT_TIMESTAMP WHERE id = 1",
                            (result.last_id, result.last_chain))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return TrailCheck(result.checked, result.broken_id, restored)


def start_check(ctx: DeskContext) -> str | None:
    """The start-up check of the trail; a warning for IT (logged, and shown) or ``None``.
    Never stops the desk: the citizens waiting still need to be served."""
    import logging
    import sqlite3

    from ccdesk.i18n import t
    from ccdesk.services.context import SYSTEM

    log = logging.getLogger(__name__)
    try:
        check = verify_trail(ctx, full=False)
    except sqlite3.OperationalError as exc:  # read-only file, busy past the timeout: next start
        log.warning("audit chain not checked", extra={"reason": type(exc).__name__})
        return None
    if check.ok:
        return None
    if check.restored_triggers:
        log.error("audit guards were missing and are recreated",
                  extra={"triggers": ",".join(check.restored_triggers)})
        ctx.db.write(lambda session: audit(session, ctx, SYSTEM, "audit.guards_restored",
                                           detail=",".join(check.restored_triggers)))
    if check.broken_id is not None:
        log.error("audit chain broken", extra={"line": check.broken_id})
        return t("reliability.security.chain_broken", line=check.broken_id)
    return t("reliability.security.guards_restored",
             triggers=", ".join(check.restored_triggers))
