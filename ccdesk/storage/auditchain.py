"""The audit trail's chain: each line carries a MAC of the previous line's chain value and its
own content, keyed by the desk key (``storage/deskkey.py``), which lives outside the database.

So a line deleted, changed or inserted with plain ``sqlite3`` breaks the chain at that line, and
a forged line cannot be given a valid value without the key file. What the chain cannot show
alone: lines cut off the *end* (the checkpoint in ``audit_seal`` notices a cut below it), and
anything done by someone who also holds the key file (docs/operations.md, "Threat model").

The triggers refusing UPDATE and DELETE are recreated at start when someone dropped them.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from ccdesk.storage.deskkey import derive, registered_key

GENESIS = "0" * 64
UNKEYED = b"ccdesk-audit-unkeyed"  # databases opened without a key file (tests, tools)
COLUMNS = ("id", "at", "officer_id", "officer_username", "action", "dossier_code", "terminal",
           "detail", "chain")

# The guards from migrations 0001 and 0006, by name, as created there.
TRIGGERS = {
    **{f"{table}_no_{verb.lower()}":
       f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
       for table in ("dossierevent", "auditlog") for verb in ("UPDATE", "DELETE")},
    "outbox_immutable":
        "CREATE TRIGGER outbox_immutable BEFORE UPDATE OF mutation_id, entity, entity_id, op, "
        "payload, payload_sha256, device_seq ON outbox "
        "BEGIN SELECT RAISE(ABORT, 'outbox payloads are immutable'); END",
    "outbox_keep_unacked":
        "CREATE TRIGGER outbox_keep_unacked BEFORE DELETE ON outbox WHEN NOT ("
        "old.state = 'acked' OR (old.state = 'pending' AND COALESCE((SELECT a.last_seq "
        "FROM outbox_acked a WHERE a.first_seq <= old.device_seq ORDER BY a.first_seq DESC "
        "LIMIT 1) >= old.device_seq, 0))) "
        "BEGIN SELECT RAISE(ABORT, 'only acknowledged outbox rows may be deleted'); END",
}


def chain_key(desk_key: bytes | None) -> bytes:
    return derive(desk_key, "audit-chain") if desk_key else UNKEYED


def _text(value: object) -> str:
    if value is None:
        return "\x00"
    if isinstance(value, datetime):  # exactly as SQLAlchemy stores it in SQLite
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return str(value)


def line_chain(key: bytes, previous: str, at: object, officer_id: object, username: object,
               action: object, dossier_code: object, terminal: object, detail: object) -> str:
    """The chain value of one line: MAC(previous chain value, the line's content)."""
    fields = [previous, *(_text(v) for v in (at, officer_id, username, action, dossier_code,
                                              terminal, detail))]
    return hmac.new(key, "\x1f".join(fields).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of a check: ``broken_id`` is the first line that does not verify."""

    checked: int
    last_id: int
    last_chain: str
    broken_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify_rows(key: bytes, rows: Iterable[tuple], start_id: int = 0,
                start_chain: str = GENESIS) -> ChainCheck:
    """Walk ``rows`` (COLUMNS, by id) from the line after ``start_id``."""
    previous, last_id, count = start_chain, start_id, 0
    for row in rows:
        row_id, at, officer_id, username, action, code, terminal, detail, chain = row
        expected = line_chain(key, previous, at, officer_id, username, action, code, terminal,
                              detail)
        if chain is None or not hmac.compare_digest(str(chain), expected):
            return ChainCheck(count, last_id, previous, broken_id=row_id)
        previous, last_id, count = chain, row_id, count + 1
    return ChainCheck(count, last_id, previous)


def iter_rows(con: sqlite3.Connection, after_id: int, batch: int = 5000) -> Iterator[tuple]:
    """Audit lines after ``after_id`` in id order, read in batches (a year is ~100,000)."""
    cols = ", ".join(COLUMNS)
    while True:
        rows = con.execute(f"SELECT {cols} FROM auditlog WHERE id > ? ORDER BY id LIMIT ?",
                           (after_id, batch)).fetchall()
        yield from rows
        if len(rows) < batch:
            return
        after_id = rows[-1][0]


def missing_triggers(con: sqlite3.Connection) -> list[str]:
    present = {row[0] for row in con.execute("SELECT name FROM sqlite_master "
                                             "WHERE type = 'trigger'")}
    return [name for name in TRIGGERS if name not in present]


def restore_triggers(con: sqlite3.Connection) -> list[str]:
    """Recreate the guards someone dropped; returns their names."""
    missing = missing_triggers(con)
    for name in missing:
        con.execute(TRIGGERS[name])
    return missing


# ---- writing: every new line gets its chain value in the flush that inserts it ------------

def key_for(db_path: str) -> bytes:
    return chain_key(registered_key(db_path))


def tail_chain(con: sqlite3.Connection) -> tuple[int, str]:
    row = con.execute("SELECT id, chain FROM auditlog ORDER BY id DESC LIMIT 1").fetchone()
    return (row[0], row[1] or GENESIS) if row else (0, GENESIS)


def chain_new_lines(session, _context, _instances) -> None:  # noqa: ANN001 - SQLAlchemy hook
    """``before_flush``: give the audit lines about to be inserted their chain values, in the
    order they were added, after the newest line already stored. Writes run in ``BEGIN
    IMMEDIATE`` transactions, so no other desk can add a line in between."""
    from sqlalchemy.orm.attributes import instance_state

    from ccdesk.models import AuditLog

    new = [obj for obj in session.new if isinstance(obj, AuditLog)]
    if not new:
        return
    new.sort(key=lambda obj: instance_state(obj).insert_order)
    connection = session.connection()
    key = key_for(connection.engine.url.database or "")
    row = connection.exec_driver_sql(
        "SELECT chain FROM auditlog ORDER BY id DESC LIMIT 1").fetchone()
    previous = (row[0] or GENESIS) if row else GENESIS
    for line in new:
        line.chain = line_chain(key, previous, line.at, line.officer_id, line.officer_username,
                                line.action, line.dossier_code, line.terminal, line.detail)
        previous = line.chain
