"""Applying upstream changes to the desk (pull): results back, status changes, corrections,
and online filings waiting for reception (kept by ccdesk/services/online_filings.py).

Each change is applied in the desk's transaction together with its ``upstream_update`` event,
an audit line, the inbox row that makes a re-delivery harmless, and the cursor move. If the desk
has moved the dossier on since the district's view (``base_status``), nothing is overwritten: a
conflict is stored for a person (SF-LOST-CONFLICT). Upstream changes write no outbox row: the
district already has them, and echoing them back would only cost airtime.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlmodel import Session, select

from ccdesk.domain.lifecycle import Action
from ccdesk.domain.vocabulary import ChangeKind, CorrectableField, Status
from ccdesk.models import Dossier, DossierEvent
from ccdesk.services.context import SYSTEM, DeskContext
from ccdesk.services.online_filings import store_filing
from ccdesk.services.recording import audit
from ccdesk.storage.outbox.write import canonical_json, utcnow
from sync.replies import FILING_KIND, SCHEDULE_KIND
from sync.state import SyncConflict, SyncInbox

CORRECTABLE = CorrectableField.values()
DATETIME_FIELDS = ("due_at",)


def apply_change(session: Session, ctx: DeskContext, change: dict[str, Any]) -> str:
    """Apply one change; returns ``applied``, ``conflict``, ``unknown`` or ``seen``."""
    change_id = str(change["change_id"])
    if session.get(SyncInbox, change_id) is not None:
        return "seen"
    if change["kind"] == SCHEDULE_KIND:   # applied before the page's transaction (sync/pull.py)
        outcome = str(change.get("outcome", "not_applied"))
        session.add(SyncInbox(change_id=change_id, seq=int(change["seq"]), dossier_code="",
                              outcome=f"calendar:{outcome}", at=utcnow()))
        return "applied" if outcome == "applied" else "calendar"
    if change["kind"] == FILING_KIND:   # a portal filing waiting for reception, or its close
        outcome = store_filing(session, change["data"], change_id, utcnow())
        session.add(SyncInbox(change_id=change_id, seq=int(change["seq"]),
                              dossier_code=change["dossier_code"], outcome=f"filing:{outcome}",
                              at=utcnow()))
        return "applied" if outcome in ("applied", "closed") else "filing"
    code = str(change["dossier_code"])
    dossier = session.exec(select(Dossier).where(Dossier.code == code)).first()
    if dossier is None:
        outcome = "unknown"     # another desk of the commune holds it
    elif dossier.status not in (change["base_status"], change["status"]):
        session.add(SyncConflict(at=utcnow(), side="pull", dossier_code=code,
                                 change_id=change_id, local_status=dossier.status,
                                 upstream_status=change["status"],
                                 detail=orjson.dumps(change).decode()))
        outcome = "conflict"
    else:
        write_upstream_update(session, ctx, dossier, change)
        outcome = "applied"
    session.add(SyncInbox(change_id=change_id, seq=int(change["seq"]), dossier_code=code,
                          outcome=outcome, at=utcnow()))
    return outcome


def write_upstream_update(session: Session, ctx: DeskContext, dossier: Dossier,
                          change: dict[str, Any]) -> DossierEvent:
    """Change the dossier as the district says and record the ``upstream_update`` event."""
    now = ctx.now()
    from_status = dossier.status
    data = change.get("data") or {}
    changed: dict[str, Any] = {}
    if change.get("kind") == ChangeKind.CORRECTION:
        for name in CORRECTABLE:
            if name in data:
                value = data[name]
                if name in DATETIME_FIELDS and isinstance(value, str):
                    value = datetime.fromisoformat(value)
                setattr(dossier, name, value)
                changed[name] = data[name]
    if change.get("kind") == ChangeKind.RESULT and from_status == Status.HANDED_OFF:
        dossier.result_back_at = now
        changed["result_back_at"] = now.isoformat()
    if change["status"] != from_status:
        dossier.status = change["status"]
        changed["status"] = change["status"]
    dossier.updated_at = now
    session.add(dossier)
    session.flush()
    event = DossierEvent(dossier_id=dossier.id, at=now, officer_id=None,
                         action=Action.UPSTREAM_UPDATE.value, from_status=from_status,
                         to_status=dossier.status, reason="",
                         data=canonical_json({"change_id": change["change_id"],
                                              "kind": change.get("kind"),
                                              "upstream": data, "changed": changed}).decode())
    session.add(event)
    audit(session, ctx, SYSTEM, Action.UPSTREAM_UPDATE.value, dossier.code)
    return event
