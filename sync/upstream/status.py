"""``upstream status``: what waits, what went, what needs a person (the JSON keys are a
contract, docs/upstream.md "Commands")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Engine

from sync.server.store import utcnow
from sync.upstream.ledger import has_open_steps, open_dead
from sync.upstream.tables import CONFIG, DEAD, DOSSIER, STEP


def status(engine: Engine) -> dict[str, Any]:
    """``district upstream status --json``."""
    d = DOSSIER
    now = utcnow()
    with engine.connect() as conn:
        cfg = conn.execute(select(CONFIG).where(CONFIG.c.id == 1)).mappings().first()
        demo_ok = bool(cfg and cfg["accept_demo"])
        waiting = and_(or_(d.c.snapshot_state != "sent", has_open_steps(d.c.code)),
                       ~open_dead(d.c.code))
        if not demo_ok:
            waiting = and_(waiting, d.c.demo.is_(False))
        pending = conn.execute(select(func.count()).select_from(d).where(waiting)).scalar_one()
        oldest = conn.execute(select(func.min(d.c.pending_since)).where(waiting)).scalar()
        delivered = conn.execute(select(func.count()).select_from(d).where(
            d.c.snapshot_state == "sent", ~has_open_steps(d.c.code),
            ~open_dead(d.c.code))).scalar_one()
        sent = conn.execute(select(func.count()).select_from(STEP)
                            .where(STEP.c.state == "sent")).scalar_one()
        dead = conn.execute(select(func.count()).select_from(DEAD)
                            .where(DEAD.c.resolved_at.is_(None))).scalar_one()
    if isinstance(oldest, str):   # SQLite aggregates return text
        oldest = datetime.fromisoformat(oldest)
    return {"profile": cfg["profile"] if cfg else None, "pending": int(pending),
            "delivered": int(delivered), "steps_sent": int(sent), "dead_letter": int(dead),
            "oldest_pending_age_s": int((now - oldest).total_seconds()) if oldest else None,
            "last_success_at": iso(cfg["last_success_at"]) if cfg else None,
            "last_error": (cfg["last_error"] or None) if cfg else None}


def iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None
