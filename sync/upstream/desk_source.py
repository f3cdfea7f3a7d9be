"""The forwarder's source on a desk that forwards its own database (``ccdesk sync forward``,
docs/upstream.md "A desk without a relay").

The desk's outbox holds every change exactly as a push would send it to a relay (the same
``dossier.create`` / ``dossier.event`` payloads, the same mutation ids), so the forwarder
reads the outbox: the ledger's keys are the ids a relay would have used, and the mapping is
the relay's. A desk that forwards directly has no relay to acknowledge its rows, so retention
never prunes them (only acknowledged rows are pruned). Demo and training data are demo: they go
only to an upstream set with ``--accept-demo``.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from sqlalchemy import column, select, table
from sqlalchemy.engine import Connection

from sync.upstream import mapping
from sync.upstream.source import NewEvent, Source, event_at, rating_of, sort_key
from sync.upstream.tables import STEP

OUTBOX = table("outbox", column("device_seq"), column("mutation_id"), column("entity"),
               column("entity_id"), column("op"), column("payload"))
OFFICE = table("office", column("commune_code"), column("is_demo"), column("is_training"))
DOSSIER_OPS = ("dossier.create", "dossier.event")


class DeskSource(Source):
    """The desk's outbox (dossier changes only)."""

    def _office(self, conn: Connection) -> tuple[str, bool]:
        row = conn.execute(select(OFFICE.c.commune_code, OFFICE.c.is_demo,
                                  OFFICE.c.is_training)).first()
        if row is None:
            return "", False
        return str(row.commune_code or ""), bool(row.is_demo or row.is_training)

    def new_events(self, conn: Connection, limit: int) -> list[NewEvent]:
        commune, demo = self._office(conn)
        rows = conn.execute(
            select(OUTBOX.c.mutation_id, OUTBOX.c.entity_id, OUTBOX.c.device_seq,
                   OUTBOX.c.payload)
            .select_from(OUTBOX.outerjoin(STEP, STEP.c.mutation_id == OUTBOX.c.mutation_id))
            .where(STEP.c.mutation_id.is_(None), OUTBOX.c.entity == "dossier",
                   OUTBOX.c.op.in_(DOSSIER_OPS))
            .order_by(OUTBOX.c.device_seq).limit(limit)).all()
        return [NewEvent(r.mutation_id, r.entity_id, commune, demo,
                         sort_key(event_at(r.payload), r.device_seq, r.mutation_id))
                for r in rows]

    def events(self, conn: Connection, codes: Iterable[str]) -> dict[str, list[mapping.Event]]:
        codes = list(codes)
        found: dict[str, list[tuple[str, mapping.Event]]] = {code: [] for code in codes}
        for r in conn.execute(
                select(OUTBOX.c.mutation_id, OUTBOX.c.entity_id, OUTBOX.c.op, OUTBOX.c.payload,
                       STEP.c.sort_key)
                .join(STEP, STEP.c.mutation_id == OUTBOX.c.mutation_id)
                .where(OUTBOX.c.entity_id.in_(codes), OUTBOX.c.entity == "dossier")):
            found[r.entity_id].append((r.sort_key, mapping.Event(
                r.mutation_id, orjson.loads(r.payload), r.op == "dossier.create")))
        return {code: [e for _k, e in sorted(items, key=lambda p: (not p[1].create, p[0]))]
                for code, items in found.items()}

    def ratings(self, conn: Connection, include_demo: bool) -> list[tuple[str, str]]:
        _commune, demo = self._office(conn)
        if demo and not include_demo:
            return []
        rows = conn.execute(select(OUTBOX.c.payload).where(
            OUTBOX.c.entity == "dossier", OUTBOX.c.op == "dossier.event",
            OUTBOX.c.payload.like('%"action":"rate"%')))
        return [pair for (payload,) in rows if (pair := rating_of(payload)) is not None]
