"""The forwarder's ledger (docs/upstream.md, "Delivery"): the source's events copied into
``upstream_step`` keyed by our event id, the dossiers' delivery rows, and the predicates and
audit every part of the forwarder shares. The ledger is what keeps steps exactly once: the
upstream's steps have no id."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import exists, insert, select, update
from sqlalchemy.engine import Connection, Engine

from sync.server.store import utcnow
from sync.upstream import mapping
from sync.upstream.source import RelaySource, Source
from sync.upstream.tables import AUDIT, DEAD, DOSSIER, STEP

RELAY = RelaySource()
INGEST_CHUNK = 2000
# Events copied by one INSERT … SELECT (one transaction; the dossier codes come back).
COPY_CHUNK = 50_000
# Ledger states of a step that still has to go (``sending``: it may have gone; in doubt).
OPEN_STEP = ("pending", "sending")


def ingest(engine: Engine, source: Source = RELAY) -> int:
    """Copy the source's events not in the ledger yet into it (``pending``); mark their
    dossiers' snapshots pending. Returns how many were added.

    Where the source can, the copy is one ``INSERT … SELECT`` a chunk (no row through Python:
    it was a quarter of a run's forwarder CPU); what is left (a relay's district changes, a
    desk's outbox) goes row by row."""
    added = 0
    while True:
        with engine.begin() as conn:
            now = utcnow()
            codes = source.copy_new(conn, COPY_CHUNK, now)
            if not codes:
                break
            _dossiers(conn, set(codes), source.dossiers_of, now)
            added += len(codes)
    while True:
        with engine.begin() as conn:
            rows = source.new_events(conn, INGEST_CHUNK)
            if not rows:
                return added
            now = utcnow()
            conn.execute(insert(STEP), [
                {"mutation_id": r.event_id, "dossier_code": r.dossier_code,
                 "sort_key": r.sort_key, "state": "pending", "created_at": now} for r in rows])
            # A district change carries no device: a dossier is demo if any of its events is.
            demo = {r.dossier_code for r in rows if r.demo}
            info = {r.dossier_code: (r.commune_code, r.dossier_code in demo) for r in rows}
            _dossiers(conn, set(info), _described(info), now)
            added += len(rows)


def _described(info: dict[str, tuple[str, bool]]
               ) -> Callable[[Connection, list[str]], dict[str, tuple[str, bool]]]:
    """What the rows read already say of each dossier (commune, demo)."""
    return lambda _conn, fresh: {code: info[code] for code in fresh}


def _dossiers(conn: Connection, codes: set[str],
              describe: Callable[[Connection, list[str]], dict[str, tuple[str, bool]]],
              now: datetime) -> None:
    """The delivery rows of the dossiers with new events: a new row for each one not seen
    (``describe``: their commune and demo flag), the snapshot of the others pending again."""
    ordered = sorted(codes)
    for start in range(0, len(ordered), INGEST_CHUNK):   # bounded IN lists
        chunk = ordered[start:start + INGEST_CHUNK]
        known = set(conn.execute(select(DOSSIER.c.code)
                                 .where(DOSSIER.c.code.in_(chunk))).scalars())
        fresh = [c for c in chunk if c not in known]
        if fresh:
            info = describe(conn, fresh)
            conn.execute(insert(DOSSIER), [
                {"code": c, "commune_code": info[c][0], "demo": info[c][1],
                 "known_upstream": False, "snapshot_state": "pending", "sent_hash": "",
                 "pending_since": now, "attempts": 0} for c in fresh])
        if known:
            conn.execute(update(DOSSIER).where(DOSSIER.c.code.in_(list(known)),
                                               DOSSIER.c.snapshot_state == "sent")
                         .values(snapshot_state="pending"))
            conn.execute(update(DOSSIER).where(DOSSIER.c.code.in_(list(known)),
                                               DOSSIER.c.pending_since.is_(None))
                         .values(pending_since=now))


def history(conn: Connection, code: str, source: Source = RELAY) -> mapping.History:
    """The dossier's events, in the ledger's order, replayed."""
    return source.histories(conn, [code])[code]


def step_key(step: dict[str, Any]) -> tuple[str, str, str]:
    """How a step is recognised upstream, where steps have no id: time, status, content."""
    return (step["ThoiDiemXuLy"], step["TrangThai"], step["NoiDungXuLy"])


def digest(item: dict[str, Any]) -> str:
    """The hash of a snapshot: sent again only when it differs from the last one delivered."""
    return hashlib.sha256(orjson.dumps(item, option=orjson.OPT_SORT_KEYS)).hexdigest()


def open_dead(code_column: Any) -> Any:
    """The dossier has a dead letter no person has settled: it is blocked."""
    return exists().where(DEAD.c.dossier_code == code_column, DEAD.c.resolved_at.is_(None))


def has_open_steps(code_column: Any) -> Any:
    return exists().where(STEP.c.dossier_code == code_column, STEP.c.state.in_(OPEN_STEP))


def audit(conn: Connection, action: str, code: str | None, detail: str = "") -> None:
    """Append to ``upstream_audit``: configuration changes and every human decision."""
    conn.execute(insert(AUDIT).values(at=utcnow(), action=action, dossier_code=code,
                                      detail=detail))
