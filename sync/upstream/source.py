"""Where the forwarder's dossiers come from (docs/upstream.md, "Sources").

The forwarder's ledger (``upstream_step`` keyed by our event id, ``upstream_dossier``) is the
same wherever it runs; what differs is where the events live:

* :class:`RelaySource` — a province's relay: the mutations its desks pushed
  (``district_mutation``, applied only) **and** the changes the district recorded for a dossier
  (``district_change``: a result back, a status change, a correction), each one event, keyed by
  its ``change_id``;
* a desk that forwards its own database (``ccdesk sync forward``) implements the same two
  calls over its dossiers and events.

A source only reads. Both calls work on many dossiers at once: the forwarder's throughput is
one query per group, not one per dossier.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, Text, case, cast, func, insert, literal, select
from sqlalchemy.engine import Connection

from ccdesk.domain.vocabulary import CorrectableField
from ccdesk.i18n import t
from sync.server.files import links
from sync.server.models import DistrictChange, DistrictDevice, DistrictMutation
from sync.upstream import mapping
from sync.upstream.mapping import VIETNAM
from sync.upstream.tables import STEP

M = DistrictMutation.__table__
C = DistrictChange.__table__
DEV = DistrictDevice.__table__
# District changes that concern one dossier (the holiday schedule is a change too, for no one).
DOSSIER_CHANGES = ("result", "status", "correction")


@dataclass(frozen=True)
class NewEvent:
    """An event the ledger has not seen: its id, dossier, commune, demo flag and order key."""

    event_id: str
    dossier_code: str
    commune_code: str
    demo: bool
    sort_key: str


class Source(ABC):
    """What the forwarder reads; the ledger tables live in the same database."""

    @abstractmethod
    def new_events(self, conn: Connection, limit: int) -> list[NewEvent]:
        """Up to ``limit`` events not in the ledger yet."""

    @abstractmethod
    def events(self, conn: Connection, codes: Iterable[str]) -> dict[str, list[mapping.Event]]:
        """Every event of each of ``codes``, in the ledger's order, the create first."""

    @abstractmethod
    def ratings(self, conn: Connection, include_demo: bool) -> list[tuple[str, str]]:
        """``(event time, level)`` of every citizen's rating (``rate`` events)."""

    def histories(self, conn: Connection, codes: Iterable[str]) -> dict[str, mapping.History]:
        return {code: mapping.replay(code, events)
                for code, events in self.events(conn, codes).items()}

    def copy_new(self, conn: Connection, limit: int, now: datetime) -> list[str] | None:
        """Copy up to ``limit`` new events into the ledger (``pending``) in the database, in
        one statement, and return the dossier code of each; None where this source (or this
        database) has no such copy: :meth:`new_events` then does it row by row."""
        return None

    def dossiers_of(self, conn: Connection, codes: list[str]) -> dict[str, tuple[str, bool]]:
        """``(commune, demo)`` of each of the dossiers ``codes`` that :meth:`copy_new` copied
        events of (demo: any of its events is)."""
        return {}


def sort_key(at: str, seq: int, event_id: str) -> str:
    """Event time first (several desks may act on one dossier), then the device's order."""
    return f"{at[:26]}|{int(seq):020d}|{event_id}"


def event_at(payload: str) -> str:
    """The event's time as the desk wrote it ("" where it is not a string: the copy in the
    database, :func:`sort_key_sql`, reads it the same way)."""
    try:
        at = (orjson.loads(payload).get("event") or {}).get("at")
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    return at if isinstance(at, str) else ""


def sort_key_sql(dialect: str) -> Any:
    """:func:`sort_key` of a relay mutation computed by the database (SQLite, PostgreSQL),
    None for any other: the ledger's copy then goes row by row. The payloads of applied
    mutations are JSON objects (written by the relay)."""
    payload, seq = M.c.payload, M.c.device_seq
    at: Any
    digits: Any
    if dialect == "sqlite":
        at = case((func.json_type(payload, "$.event.at") == "text",
                   func.json_extract(payload, "$.event.at")), else_="")
        digits = func.printf("%020d", seq)
    elif dialect == "postgresql":
        event = cast(payload, JSON)["event"]
        at = case((func.json_typeof(event["at"]) == "string", event["at"].as_string()),
                  else_="")
        digits = case((seq < 0, "-" + func.lpad(cast(-seq, Text), 19, "0")),
                      else_=func.lpad(cast(seq, Text), 20, "0"))
    else:
        return None
    return func.substr(at, 1, 26) + "|" + digits + "|" + M.c.mutation_id


class RelaySource(Source):
    """The relay's applied mutations and district changes."""

    def new_events(self, conn: Connection, limit: int) -> list[NewEvent]:
        rows = conn.execute(
            select(M.c.mutation_id, M.c.entity_id, M.c.commune_code, M.c.device_id,
                   M.c.device_seq, M.c.payload)
            .select_from(M.outerjoin(STEP, STEP.c.mutation_id == M.c.mutation_id))
            .where(STEP.c.mutation_id.is_(None), M.c.result == "applied")
            .limit(limit)).all()
        demo = dict(conn.execute(select(DEV.c.device_id, DEV.c.demo)).all()) if rows else {}
        out = [NewEvent(r.mutation_id, r.entity_id, r.commune_code, bool(demo.get(r.device_id)),
                        sort_key(event_at(r.payload), r.device_seq, r.mutation_id))
               for r in rows]
        if len(out) < limit:
            changes = conn.execute(
                select(C.c.change_id, C.c.dossier_code, C.c.commune_code, C.c.seq,
                       C.c.created_at)
                .select_from(C.outerjoin(STEP, STEP.c.mutation_id == C.c.change_id))
                .where(STEP.c.mutation_id.is_(None), C.c.kind.in_(DOSSIER_CHANGES),
                       C.c.dossier_code != "")
                .limit(limit - len(out))).all()
            # Demo follows the dossier (a district change has no device): set on ingest.
            out += [NewEvent(r.change_id, r.dossier_code, r.commune_code, False,
                             sort_key(_local(r.created_at), r.seq, r.change_id))
                    for r in changes]
        return out

    def copy_new(self, conn: Connection, limit: int, now: datetime) -> list[str] | None:
        """The desks' mutations by ``INSERT … SELECT``, their order keys computed by the
        database: no payload crosses into Python (docs/upstream.md, "Figures")."""
        key = sort_key_sql(conn.dialect.name)
        if key is None or not conn.dialect.insert_returning:   # SQLite before 3.35
            return None
        new = (select(M.c.mutation_id, M.c.entity_id, key, literal("pending"),
                      literal(now, DateTime))
               .select_from(M.outerjoin(STEP, STEP.c.mutation_id == M.c.mutation_id))
               .where(STEP.c.mutation_id.is_(None), M.c.result == "applied").limit(limit))
        return list(conn.execute(
            insert(STEP).from_select(["mutation_id", "dossier_code", "sort_key", "state",
                                      "created_at"], new)
            .returning(STEP.c.dossier_code)).scalars())

    def dossiers_of(self, conn: Connection, codes: list[str]) -> dict[str, tuple[str, bool]]:
        demo = func.max(case((DEV.c.demo.is_(True), 1), else_=0))
        return {r.entity_id: (r.commune, bool(r.demo)) for r in conn.execute(
            select(M.c.entity_id, func.max(M.c.commune_code).label("commune"),
                   demo.label("demo"))
            .select_from(M.outerjoin(DEV, DEV.c.device_id == M.c.device_id))
            .where(M.c.entity_id.in_(codes), M.c.result == "applied")
            .group_by(M.c.entity_id))}

    def events(self, conn: Connection, codes: Iterable[str]) -> dict[str, list[mapping.Event]]:
        codes = list(codes)
        found: dict[str, list[tuple[str, mapping.Event]]] = {code: [] for code in codes}
        for r in conn.execute(
                select(M.c.mutation_id, M.c.entity_id, M.c.op, M.c.payload, STEP.c.sort_key)
                .join(STEP, STEP.c.mutation_id == M.c.mutation_id)
                .where(M.c.entity_id.in_(codes), M.c.result == "applied")):
            found[r.entity_id].append((r.sort_key, mapping.Event(
                r.mutation_id, orjson.loads(r.payload), r.op == "dossier.create")))
        for r in conn.execute(
                select(C, STEP.c.sort_key).join(STEP, STEP.c.mutation_id == C.c.change_id)
                .where(C.c.dossier_code.in_(codes), C.c.kind.in_(DOSSIER_CHANGES))):
            found[r.dossier_code].append((r.sort_key, change_event(r._mapping)))
        # A create always comes first, whatever the clocks said (the relay refuses events
        # before it).
        return {code: [e for _k, e in sorted(items, key=lambda p: (not p[1].create, p[0]))]
                for code, items in found.items()}

    def histories(self, conn: Connection, codes: Iterable[str]) -> dict[str, mapping.History]:
        """Each dossier replayed, with the scans the relay has whole (docs/upstream.md,
        "Files")."""
        found = super().histories(conn, codes)
        for code, files in links(conn, list(found)).items():
            found[code].files = files
        return found

    def ratings(self, conn: Connection, include_demo: bool) -> list[tuple[str, str]]:
        query = (select(M.c.payload).where(M.c.result == "applied",
                                           M.c.op == "dossier.event",
                                           M.c.payload.like('%"action":"rate"%')))
        if not include_demo:
            query = query.join(DEV, DEV.c.device_id == M.c.device_id).where(
                DEV.c.demo.is_(False))
        return [pair for (payload,) in conn.execute(query)
                if (pair := rating_of(payload)) is not None]


def rating_of(payload: str) -> tuple[str, str] | None:
    """``(at, level)`` of a ``rate`` event's payload, None for anything else."""
    try:
        event = orjson.loads(payload).get("event") or {}
    except (orjson.JSONDecodeError, AttributeError):
        return None
    level = (event.get("data") or {}).get("level") if isinstance(event, dict) else None
    if event.get("action") != "rate" or not isinstance(level, str):
        return None
    return str(event.get("at") or ""), level


def _local(moment: datetime) -> str:
    """The relay's naive UTC time as the desk's naive Vietnam wall-clock time (ISO)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC).astimezone(VIETNAM).replace(tzinfo=None).isoformat()


def change_event(row: Any) -> mapping.Event:
    """A district change as the event the desk records when it pulls it (``upstream_update``,
    sync/inbox.py): the status it sets and the fields a correction changes."""
    data = orjson.loads(row["data"] or "{}")
    changes: dict[str, Any] = {"status": row["status"]}
    reason = t(f"vocab.change_kind.{row['kind']}", lang="vi")
    if row["kind"] == "correction" and isinstance(data, dict):
        changes.update({k: v for k, v in data.items() if k in mapping.CORRECTABLE})
        # Which fields: two corrections of one dossier in one second stay two steps upstream.
        reason += ": " + ", ".join(CorrectableField(k).label("vi") for k in sorted(changes)
                                   if k in mapping.CORRECTABLE)
    event = {"action": "upstream_update", "at": _local(row["created_at"]),
             "from_status": row["base_status"], "to_status": row["status"], "reason": reason,
             "data": {"kind": row["kind"]}, "officer": ""}
    return mapping.Event(row["change_id"], {"code": row["dossier_code"], "event": event,
                                            "changes": changes})
