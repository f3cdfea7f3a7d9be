"""The bulk writer of demo data: numbers the played dossiers and stores them with their
checklists, events, supplement rounds, extensions, ratings and outbox rows.

Rows go in through driver-level ``executemany`` inside the caller's ``BEGIN IMMEDIATE``
transaction (ORM sessions cost ~2.4 ms per intake, far too slow for a million dossiers).
Outbox rows are built by the outbox package's own row builder, so they are
what real intake writes (``client_time`` in UTC).
"""

from __future__ import annotations

import operator
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, func, select, text
from sqlmodel import Session

from ccdesk.demo.steps import Played
from ccdesk.domain.codes import counter_key, format_code
from ccdesk.models import (
    ChecklistItem,
    CodeCounter,
    Dossier,
    DossierEvent,
    Extension,
    Office,
    Outbox,
    Rating,
    SupplementRound,
)
from ccdesk.storage.outbox.write import PRIVATE_COLUMNS, canonical_json, local_to_utc, row_values
from ccdesk.text import fold

_SNAPSHOT_COLUMNS = tuple(c.name for c in Dossier.__table__.columns
                          if c.name not in PRIVATE_COLUMNS)


class BulkWriter:
    """Numbers the played dossiers and writes them with Core ``executemany``."""

    def __init__(self, session: Session, office: Office, outbox: bool) -> None:
        self.session, self.office, self.outbox = session, office, outbox
        self.conn = session.connection()
        self.next_id = (self.conn.execute(select(func.max(Dossier.id))).scalar() or 0) + 1
        self.counters = {row.key: row.last_seq for row in
                         self.conn.execute(select(CodeCounter.key, CodeCounter.last_seq))}
        self.touched: set[str] = set()
        self.counts = dict.fromkeys(("events", "checklist", "ratings", "extensions",
                                     "supplements", "outbox"), 0)
        self.by_status: dict[str, int] = {}

    def _code(self, day: date) -> str:
        o = self.office
        key = counter_key(o.code_pattern, o.agency_code, o.device_prefix, day)
        seq = self.counters.get(key, 0) + 1
        self.counters[key] = seq
        self.touched.add(key)
        return format_code(o.code_pattern, o.agency_code, o.device_prefix, day, seq)

    def write(self, played: list[Played]) -> None:
        dossiers, items, events, rounds, exts, ratings, outbox = [], [], [], [], [], [], []
        for p in played:
            d = p.dossier
            d["id"] = self.next_id
            self.next_id += 1
            d["code"] = self._code(d["received_at"].date())
            # the same key as an intake's (services/intake.py search_text)
            d["search_text"] = fold(" ".join(filter(None, (
                d["code"], d["portal_code"], d["applicant_name"], d["owner_name"],
                d["applicant_id_number"], d["applicant_phone"], d["owner_id_number"],
                d["owner_tax_code"], d["party2_name"], d["party2_id_number"]))))
            dossiers.append(d)
            self.by_status[d["status"]] = self.by_status.get(d["status"], 0) + 1
            items += [item | {"dossier_id": d["id"]} for item in p.checklist]
            for event in p.events:
                events.append(event | {"dossier_id": d["id"],
                                       "data": canonical_json(event["data"]).decode()})
            rounds += [r | {"dossier_id": d["id"]} for r in p.supplements]
            exts += [e | {"dossier_id": d["id"]} for e in p.extensions]
            if p.rating:
                ratings.append(p.rating | {"dossier_id": d["id"]})
            if self.outbox:
                outbox += outbox_rows(p)
        # Extensions before events: the events' trigger judges an end against them
        # (migration 0010_report_facts).
        for model, rows, name in ((Dossier, dossiers, None), (ChecklistItem, items, "checklist"),
                                  (Extension, exts, "extensions"),
                                  (DossierEvent, events, "events"),
                                  (SupplementRound, rounds, "supplements"),
                                  (Rating, ratings, "ratings"), (Outbox, outbox, "outbox")):
            if rows:
                _insert_many(self.conn, model.__table__, rows)
                if name:
                    self.counts[name] += len(rows)

    def finish(self) -> None:
        """Move the day counters past the numbers used, so real intake never reuses a code."""
        rows = [{"key": k, "last_seq": self.counters[k]} for k in sorted(self.touched)]
        if rows:
            self.conn.execute(text(
                "INSERT INTO codecounter(key, last_seq) VALUES (:key, :last_seq) "
                "ON CONFLICT(key) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)"),
                rows)


def _insert_many(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """One driver-level ``executemany``: SQLAlchemy's per-row parameter processing costs more
    than SQLite's insert itself at a million rows. Values are stored as SQLAlchemy's SQLite
    types store them, so the ORM reads these rows back as its own: datetimes as
    ``YYYY-MM-DD HH:MM:SS.ffffff``, dates ISO, booleans 0/1."""
    columns = list(rows[0])
    types = {c.name: c.type for c in table.columns}
    stamps = [i for i, c in enumerate(columns) if isinstance(types[c], (DateTime, Date))]
    get = operator.itemgetter(*columns)
    values = []
    for row in rows:
        item = list(get(row))
        for i in stamps:
            if item[i] is not None:
                item[i] = (item[i].isoformat(" ", "microseconds")
                           if isinstance(item[i], datetime) else item[i].isoformat())
        values.append(tuple(item))
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
           f"VALUES ({', '.join('?' * len(columns))})")
    conn.exec_driver_sql(sql, values)


def outbox_rows(p: Played) -> list[dict[str, Any]]:
    """The rows real intake and actions would have written (the payload contract is in
    ccdesk/storage/outbox/write.py)."""
    d = p.dossier
    rows = []
    created = {k: d[k] for k in _SNAPSHOT_COLUMNS}
    created.update(p.changes[0])  # snapshot at intake: later changes are separate mutations
    for key in _later_keys(p):
        created[key] = _intake_value(p, key)
    created["updated_at"] = p.events[0]["at"]
    for i, event in enumerate(p.events):
        event_payload = {"action": event["action"], "at": event["at"],
                         "from_status": event["from_status"], "to_status": event["to_status"],
                         "reason": event["reason"], "data": event["data"],
                         "officer": "demo"}
        if i == 0:
            op, payload = "dossier.create", {
                "dossier": created, "checklist": [
                    {k: v for k, v in item.items() if k not in ("id", "dossier_id")}
                    for item in p.checklist],
                "event": event_payload}
        else:
            op, payload = "dossier.event", {"code": d["code"], "event": event_payload,
                                            "changes": p.changes[i]}
        # The event happened at a local time; the outbox keeps UTC, as real intake writes it.
        rows.append(row_values(entity="dossier", entity_id=d["code"], op=op, payload=payload,
                               changed_fields=list(p.changes[i]),
                               client_time=local_to_utc(event["at"])))
    return rows


_INTAKE_DEFAULTS = {"accepted_at": None, "due_at": None, "original_due_at": None,
                    "paused_at": None, "resume_status": None, "supplement_rounds": 0,
                    "handed_off_at": None, "result_back_at": None, "ready_at": None,
                    "returned_at": None, "closed_at": None, "fee_amount": 0, "extensions": 0}


def _later_keys(p: Played) -> set[str]:
    keys: set[str] = set()
    for changes in p.changes[1:]:
        keys.update(changes)
    return keys - set(p.changes[0])


def _intake_value(p: Played, key: str) -> Any:
    if key == "status":
        return p.events[0]["to_status"]
    if key == "updated_at":
        return p.events[0]["at"]
    return _INTAKE_DEFAULTS.get(key, p.dossier[key])
