"""The items that need a person (docs/upstream.md, "Delivery"): list them, send them again
(``retry``) or close them without sending (``drop``), each decision audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from sync.server.store import utcnow
from sync.upstream import mapping
from sync.upstream.config import UpstreamConfig
from sync.upstream.ledger import RELAY, audit, digest, history
from sync.upstream.source import Source
from sync.upstream.status import iso
from sync.upstream.tables import DEAD, DOSSIER, RATING, STEP


def rating_key(month: str) -> str:
    """The dead-letter "code" of a month's aggregate (``retry``/``drop`` take it)."""
    return f"rating:{month}"


def dead_letters(engine: Engine) -> list[dict[str, Any]]:
    """The open dead letters, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(DEAD).where(DEAD.c.resolved_at.is_(None))
                            .order_by(DEAD.c.id)).mappings().all()
    return [{"id": r["id"], "dossier_code": r["dossier_code"], "kind": r["kind"],
             "item_id": r["item_id"], "reason_code": r["reason_code"],
             "message": r["message"], "created_at": iso(r["created_at"])} for r in rows]


def retry(engine: Engine, code: str | None) -> int:
    """Reopen the dead letters of ``code`` (all with None): their items are sent again on the
    next run. Returns how many were reopened; audited."""
    with engine.begin() as conn:
        letters = _open_letters(conn, code)
        for letter in letters:
            if letter.kind == "step":
                conn.execute(update(STEP).where(STEP.c.mutation_id.in_(
                    letter.item_id.split(","))).values(state="pending"))
            elif letter.kind == "rating":
                conn.execute(update(RATING).where(RATING.c.month == letter.item_id)
                             .values(state="pending"))
            else:
                conn.execute(update(DOSSIER).where(DOSSIER.c.code == letter.dossier_code)
                             .values(snapshot_state="pending"))
            _resolve(conn, letter.id, "retry", "")
            audit(conn, "dead_letter_retry", letter.dossier_code,
                  f"{letter.kind} {letter.reason_code}")
    return len(letters)


def drop(engine: Engine, code: str, reason: str,
         current_hash: Callable[[Connection, str], str]) -> int:
    """Close the dead letters of ``code`` without sending: a rejected step is never sent
    (``dropped``); an in-doubt step the person found upstream counts as ``sent``; a snapshot is
    taken as delivered as it is now (a later change is sent again). Audited with the person's
    ``reason``."""
    with engine.begin() as conn:
        letters = _open_letters(conn, code)
        for letter in letters:
            if letter.kind == "step":
                found = letter.reason_code == "in_doubt"
                conn.execute(update(STEP).where(STEP.c.mutation_id.in_(
                    letter.item_id.split(","))).values(state="sent" if found else "dropped",
                                                       sent_at=utcnow() if found else None))
            elif letter.kind == "rating":
                # Taken as settled as it is now; a rating recorded later sends it again.
                conn.execute(update(RATING).where(RATING.c.month == letter.item_id)
                             .values(state="sent"))
            else:
                conn.execute(update(DOSSIER).where(DOSSIER.c.code == code).values(
                    snapshot_state="sent", sent_hash=current_hash(conn, code)))
            _resolve(conn, letter.id, "drop", reason)
            audit(conn, "dead_letter_drop", code, f"{letter.kind} {letter.reason_code}: "
                  f"{reason[:200]}")
    return len(letters)


def _open_letters(conn: Connection, code: str | None) -> list[Any]:
    query = select(DEAD).where(DEAD.c.resolved_at.is_(None)).order_by(DEAD.c.id)
    if code is not None:
        query = query.where(DEAD.c.dossier_code == code)
    return list(conn.execute(query).all())


def _resolve(conn: Connection, letter_id: int, how: str, reason: str) -> None:
    conn.execute(update(DEAD).where(DEAD.c.id == letter_id).values(
        resolved_at=utcnow(), resolution=how, resolution_reason=reason[:1000]))


def snapshot_hash(config: UpstreamConfig,
                  source: Source = RELAY) -> Callable[[Connection, str], str]:
    """What :func:`drop` records as delivered: the hash the forwarder would compare."""
    def current(conn: Connection, code: str) -> str:
        hist = history(conn, code, source)
        if not hist.events or not hist.events[0].create:
            return ""
        return digest(mapping.snapshot(hist, config.profile, config.creds.unit_code))
    return current
