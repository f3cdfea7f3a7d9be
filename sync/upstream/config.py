"""The one upstream a relay (or a desk) forwards to: stored by ``upstream set``, read by every
run (docs/upstream.md, "Commands" and "Profiles")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from sync.server.store import utcnow
from sync.upstream.ledger import audit
from sync.upstream.profiles import Profile, load_profile
from sync.upstream.tables import CONFIG
from sync.upstream.transport import Credentials


class NotConfigured(Exception):
    """``district upstream set`` has not been run on this relay."""


@dataclass(frozen=True)
class UpstreamConfig:
    profile: Profile
    creds: Credentials
    accept_demo: bool
    in_doubt_steps: str            # hold | resend


def save_config(engine: Engine, *, profile: str, url: str, unit_code: str, username: str,
                password: str, accept_demo: bool, version: str = "2023",
                settings: dict[str, Any] | None = None) -> None:
    """Store the upstream (one per relay); a profile error is raised before anything is kept."""
    load_profile(profile, version, {k: v for k, v in (settings or {}).items()
                                    if k != "in_doubt_steps"})
    values = {"profile": profile, "version": version, "url": url.rstrip("/"),
              "unit_code": unit_code, "username": username, "password": password,
              "accept_demo": accept_demo, "settings": orjson.dumps(settings or {}).decode(),
              "updated_at": utcnow()}
    with engine.begin() as conn:
        if conn.execute(select(CONFIG.c.id).where(CONFIG.c.id == 1)).first():
            conn.execute(update(CONFIG).where(CONFIG.c.id == 1).values(**values))
        else:
            conn.execute(insert(CONFIG).values(id=1, **values))
        audit(conn, "upstream_set", None, f"profile={profile} unit={unit_code} "
              f"accept_demo={accept_demo}")


def load_config(engine: Engine) -> UpstreamConfig:
    with engine.connect() as conn:
        row = conn.execute(select(CONFIG).where(CONFIG.c.id == 1)).mappings().first()
    if row is None:
        raise NotConfigured
    settings = orjson.loads(row["settings"] or "{}")
    in_doubt = settings.pop("in_doubt_steps", "hold")
    profile = load_profile(row["profile"], row["version"], settings)
    return UpstreamConfig(profile, Credentials(row["url"], row["unit_code"], row["username"],
                                               row["password"]),
                          bool(row["accept_demo"]), "resend" if in_doubt == "resend" else "hold")
