"""Writing outbox rows (docs/sync.md, "Client storage").

Every domain change calls :func:`record_change` inside the same transaction as the change, so a
dossier is never committed without its outbox row nor the reverse. Payloads are canonical JSON
(sorted keys, compact, ISO dates) hashed with sha256; a trigger keeps them immutable, so an edit
is always a new mutation. Training databases write no outbox rows at all.

Payload contract (what ``sync`` sends upstream):

* ``op = "dossier.create"``: ``{"dossier": {...all Dossier columns but id and search_text...},
  "checklist": [...], "event": {...}}``
* ``op = "dossier.event"``: ``{"code": ..., "event": {...}, "changes": {...changed columns...}}``

Sync state (migration ``0005_outbox_ranges``): a row is written ``pending`` and, on the happy
path, that stored value never changes (the transitions are in :mod:`.states`).

``client_time`` is UTC (naive), like every stored timestamp of the outbox: a writer that only
knows the desk's local time (the demo generator replays events at local times) converts it
with :func:`local_to_utc`. Every writer builds its row with :func:`row_values`, so the intake
path and the bulk demo writer cannot drift apart.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlmodel import Session

from ccdesk.ids import uuid7
from ccdesk.models import Office, Outbox

PRIVATE_COLUMNS = frozenset({"id", "search_text", "received_by", "procedure_version_id"})


def _default(value: object) -> object:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def canonical_json(payload: dict[str, Any]) -> bytes:
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=_default)


def utcnow() -> datetime:
    """Naive UTC, as stored in the outbox and audit tables."""
    return datetime.now(UTC).replace(tzinfo=None)


def local_to_utc(local: datetime) -> datetime:
    """A naive local wall-clock time (the desk's ``ctx.now()``) as naive UTC."""
    return local.astimezone(UTC).replace(tzinfo=None)


def row_values(*, entity: str, entity_id: str, op: str, payload: dict[str, Any],
               changed_fields: list[str], client_time: datetime) -> dict[str, Any]:
    """The column values of one new outbox row (``client_time`` in UTC), stored ``pending``."""
    blob = canonical_json(payload)
    return {"mutation_id": uuid7(), "entity": entity, "entity_id": entity_id, "op": op,
            "payload": blob.decode(), "payload_sha256": hashlib.sha256(blob).hexdigest(),
            "changed_fields": orjson.dumps(sorted(changed_fields)).decode(),
            "client_time": client_time, "state": "pending", "attempts": 0, "last_error": ""}


def record_change(session: Session, office: Office, *, entity: str, entity_id: str, op: str,
                  payload: dict[str, Any], changed_fields: list[str]) -> Outbox | None:
    """Add the outbox row for one change, in the caller's transaction (none in training)."""
    if office.is_training:
        return None
    row = Outbox(**row_values(entity=entity, entity_id=entity_id, op=op, payload=payload,
                              changed_fields=changed_fields, client_time=utcnow()))
    session.add(row)
    return row
