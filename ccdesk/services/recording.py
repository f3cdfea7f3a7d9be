"""The three rows every domain change writes in its own transaction: event, audit, outbox."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson
from sqlmodel import Session, select

from ccdesk.domain.errors import NotFound
from ccdesk.models import AuditLog, ChecklistItem, Dossier, DossierEvent, Office
from ccdesk.services.context import Actor, DeskContext
from ccdesk.storage.outbox import PRIVATE_COLUMNS, canonical_json, record_change, utcnow


def load_office(session: Session) -> Office:
    office = session.get(Office, 1)
    if office is None:
        raise NotFound("core.err.no_office")
    return office


def dossier_snapshot(dossier: Dossier) -> dict[str, Any]:
    return {k: v for k, v in dossier.model_dump().items() if k not in PRIVATE_COLUMNS}


def checklist_snapshot(items: list[ChecklistItem]) -> list[dict[str, Any]]:
    return [item.model_dump(exclude={"id", "dossier_id"}) for item in items]


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, (datetime, date)) else value


def audit(session: Session, ctx: DeskContext, actor: Actor, action: str,
          dossier_code: str | None = None, detail: str = "") -> None:
    """Append to the audit trail. ``detail`` must never hold personal data."""
    session.add(AuditLog(at=utcnow(), officer_id=actor.officer_id,
                         officer_username=actor.username, action=action,
                         dossier_code=dossier_code, terminal=ctx.terminal, detail=detail))


def record_event(session: Session, ctx: DeskContext, actor: Actor, office: Office,
                 dossier: Dossier, action: str, *, from_status: str | None,
                 changes: dict[str, Any], reason: str = "",
                 data: dict[str, Any] | None = None,
                 files: list[dict[str, Any]] | None = None) -> DossierEvent:
    """Write the event, its audit line and its outbox row for a change to ``dossier``.

    ``files``: the dossier's digitised papers as metadata (services/attachments.py), added to
    the outbox payload when given (docs/attachments.md, "What travels")."""
    event = DossierEvent(dossier_id=dossier.id, at=ctx.now(), officer_id=actor.officer_id,
                         action=action, from_status=from_status, to_status=dossier.status,
                         reason=reason, data=canonical_json(data or {}).decode())
    session.add(event)
    audit(session, ctx, actor, action, dossier.code)
    event_payload = {"action": action, "at": event.at, "from_status": from_status,
                     "to_status": dossier.status, "reason": reason, "data": data or {},
                     "officer": actor.username}
    if from_status is None:
        items = session.exec(select(ChecklistItem).where(
            ChecklistItem.dossier_id == dossier.id).order_by(ChecklistItem.position)).all()
        record_change(session, office, entity="dossier", entity_id=dossier.code,
                      op="dossier.create",
                      payload={"dossier": dossier_snapshot(dossier),
                               "checklist": checklist_snapshot(list(items)),
                               "event": event_payload, **_files(files)},
                      changed_fields=sorted(changes))
    else:
        record_change(session, office, entity="dossier", entity_id=dossier.code,
                      op="dossier.event",
                      payload={"code": dossier.code, "event": event_payload,
                               "changes": {k: _jsonable(v) for k, v in changes.items()},
                               **_files(files)},
                      changed_fields=sorted(changes))
    return event


def _files(files: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {} if files is None else {"files": files}


def event_data(event: DossierEvent) -> dict[str, Any]:
    return orjson.loads(event.data or "{}")
