"""The transport of any profile (docs/upstream.md, "Profiles"): dvcqg and façade from
``transport``, each further profile from a module of its own (``igate``), so a profile is
added here and in its module without touching the others."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy.engine import Engine

from sync.upstream.igate import IgateTransport
from sync.upstream.profiles import IGATE, Profile
from sync.upstream.transport import Credentials, Transport
from sync.upstream.transport import make_transport as base_transport


def make_transport(profile: Profile, creds: Credentials, client: httpx.Client | None = None,
                   *, engine: Engine | None = None, files_dir: Path | None = None) -> Transport:
    """``engine``: the forwarder's database, where igate keeps the codes the upstream mints;
    ``files_dir``: the relay's scans, which igate uploads (beside a SQLite relay when None)."""
    if profile.name == IGATE:
        return IgateTransport(profile, creds, client, engine=engine, files_dir=files_dir)
    return base_transport(profile, creds, client)
