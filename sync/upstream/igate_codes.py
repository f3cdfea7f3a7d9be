"""What an upstream that mints its own codes (the ``igate`` profile) gave back, kept in the
forwarder's database beside our own records (relay migration ``d0009_igate_codes``, desk
migration ``0028_igate_codes``; docs/upstream.md, "igate"):

* ``upstream_minted_code``: our dossier code -> the code the upstream minted for it. Written in
  its own commit as soon as a create is answered; everything after (updates, steps, look-ups)
  goes under the minted code. A crash between the create and this commit is repaired by the
  look-up by our reference (the forwarder's ``sending`` snapshot asks before creating again).
* ``upstream_uploaded_file``: a scan's SHA-256 -> the id the upstream gave the uploaded bytes,
  so a file goes up once whatever number of dossiers or snapshots list it.
"""

from __future__ import annotations

import threading

from sqlalchemy import BigInteger, Column, DateTime, String, Table, insert, select, update
from sqlalchemy.engine import Engine

from sync.server.store import utcnow
from sync.upstream.tables import METADATA

MINTED = Table(
    "upstream_minted_code", METADATA,
    Column("code", String, primary_key=True),          # ours (the relay's dossier code)
    Column("upstream_code", String, nullable=False),   # theirs
    Column("minted_at", DateTime, nullable=False),
)

UPLOADED = Table(
    "upstream_uploaded_file", METADATA,
    Column("sha256", String, primary_key=True),
    Column("upstream_id", String, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("uploaded_at", DateTime, nullable=False),
)


class CodeBook:
    """The two tables above, read once per code and cached for the run. Writes commit at once
    (a create or an upload already happened upstream: it must not wait for the next batch)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._codes: dict[str, str] = {}
        self._files: dict[str, str] = {}
        self._lock = threading.Lock()

    def minted(self, code: str) -> str | None:
        """The upstream's code for our ``code``, if it minted one."""
        with self._lock:
            if code in self._codes:
                return self._codes[code]
        with self.engine.connect() as conn:
            found = conn.execute(select(MINTED.c.upstream_code)
                                 .where(MINTED.c.code == code)).scalar()
        if found is not None:
            with self._lock:
                self._codes[code] = found
        return found

    def keep_minted(self, code: str, upstream_code: str) -> None:
        with self.engine.begin() as conn:
            if conn.execute(select(MINTED.c.code).where(MINTED.c.code == code)).first():
                conn.execute(update(MINTED).where(MINTED.c.code == code)
                             .values(upstream_code=upstream_code, minted_at=utcnow()))
            else:
                conn.execute(insert(MINTED).values(code=code, upstream_code=upstream_code,
                                                   minted_at=utcnow()))
        with self._lock:
            self._codes[code] = upstream_code

    def uploaded(self, sha256: str) -> str | None:
        with self._lock:
            if sha256 in self._files:
                return self._files[sha256]
        with self.engine.connect() as conn:
            found = conn.execute(select(UPLOADED.c.upstream_id)
                                 .where(UPLOADED.c.sha256 == sha256)).scalar()
        if found is not None:
            with self._lock:
                self._files[sha256] = found
        return found

    def keep_uploaded(self, sha256: str, upstream_id: str, size: int) -> None:
        with self.engine.begin() as conn:
            if conn.execute(select(UPLOADED.c.sha256).where(UPLOADED.c.sha256 == sha256)).first():
                conn.execute(update(UPLOADED).where(UPLOADED.c.sha256 == sha256)
                             .values(upstream_id=upstream_id, size=size, uploaded_at=utcnow()))
            else:
                conn.execute(insert(UPLOADED).values(sha256=sha256, upstream_id=upstream_id,
                                                     size=size, uploaded_at=utcnow()))
        with self._lock:
            self._files[sha256] = upstream_id
