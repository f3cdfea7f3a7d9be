"""The district server's rules, independent of HTTP: enrolment, idempotent batch apply, upstream
changes, bundles and statistics. One database transaction per batch (SF-LOST-REPLY, SF-EARLY-ACK).

Idempotency works at two levels: a batch id replays its stored reply (SF-LOST-REPLY), and each
``mutation_id`` is a primary key, so a record re-sent in another batch comes back ``duplicate``.
Rejected records are not stored: the desk quarantines them with the reason (SF-POISON-RECORD),
and a person may send them again after a fix. Conflicts are stored and answered ``conflict``
(SF-LOST-CONFLICT).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from sqlalchemy import bindparam, create_engine, event, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from ccdesk.domain.vocabulary import ChangeKind, CorrectableField, Status
from ccdesk.ids import uuid7
from sync import keys, protocol
from sync.protocol import APPLIED, CONFLICT, DUPLICATE, OP_CREATE, OP_EVENT, REJECTED
from sync.server.basics import Device, DistrictError, utcnow
from sync.server.basics import locked as _locked
from sync.server.filerefs import note_references
from sync.server.filing_close import PortalClaims
from sync.server.models import (
    DistrictBatch,
    DistrictChange,
    DistrictDevice,
    DistrictDossier,
    DistrictEnrollCode,
    DistrictMeta,
    DistrictMutation,
    DistrictNonce,
)

B = DistrictBatch.__table__
C = DistrictChange.__table__
D = DistrictDevice.__table__
E = DistrictEnrollCode.__table__
M = DistrictMutation.__table__
META = DistrictMeta.__table__
N = DistrictNonce.__table__
X = DistrictDossier.__table__

STATUSES = Status.values()
CHANGE_KINDS = ChangeKind.values()
CORRECTABLE = CorrectableField.values()
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I: read aloud over the phone

# What the relay accepts from outside before any of it reaches SQL (docs/relay-security.md).
# Dossier codes: the desk's code pattern is ``{agency}-{yymmdd}-{seq}`` by default; agency codes
# are letters, digits, dots and dashes (ccdesk/domain/codes.py). No slash, no space, no markup.
DOSSIER_CODE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-]{0,94}[A-Za-z0-9])?")
TOKEN = re.compile(r"[A-Za-z0-9._:\-]{1,80}")          # mutation, batch and device ids
PUBLIC_KEY = re.compile(r"[A-Za-z0-9_\-]{43}")          # raw Ed25519 public key, base64url
COMMUNE = re.compile(r"\d{5}")
MAX_INT64 = 2**63 - 1                                   # BIGINT columns on both databases
# The official holiday schedule travels in the change feed as a row of its own kind, addressed
# to every commune (docs/calendar.md); no dossier code, no statuses.
SCHEDULE_KIND = "calendar_schedule"
EVERY_COMMUNE = "*"
log = logging.getLogger(__name__)


def default_url(data_dir: Any) -> str:
    return f"sqlite:///{data_dir}/district.sqlite3"


# Pages of 16 KiB for a database the relay creates (SQLite ignores the setting for an existing
# file): a batch of thousands of ~1 kB mutation rows commits as a quarter of the WAL frames,
# and SQLite writes each frame with two system calls, copies it again at the checkpoint. At
# 4 KiB a 20,000-dossier push made ~150,000 write calls on the relay, at 16 KiB ~30,000
# (-10 % of its CPU); the rows themselves and their durability are the same.
SQLITE_PAGE_SIZE = 16384


def _sqlite_pragmas(dbapi_conn: Any, _record: object) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")    # before WAL: a new file only
    cur.execute("PRAGMA busy_timeout = 30000")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = FULL")
    cur.close()


def make_engine(url: str) -> Engine:
    """SQLite with WAL and ``BEGIN IMMEDIATE`` (one writer, no upgrade deadlock), or PostgreSQL.

    ``hide_parameters``: a database error must never print a batch's values (names, ID numbers,
    phones) into the server's log or a traceback (docs/relay-security.md)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return create_engine(url, pool_size=8, max_overflow=16, pool_pre_ping=True,
                         hide_parameters=True)


def private_sqlite_file(path: Path) -> None:
    """Make the district's SQLite file owner-only (0600): it holds every commune's personal data
    and the server's signing key. Missing folders are created 0700; an existing folder is never
    chmodded, and only a regular file this user owns is (never ``/dev/…`` or a stranger's)."""
    missing = []
    folder = path.parent
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=0o700)
        except FileExistsError:
            continue
        created.chmod(0o700)   # mkdir's mode is filtered by the umask
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            info = file.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid() \
                and stat.S_IMODE(info.st_mode) & 0o077:
            file.chmod(0o600)


def files_dir_for(db_file: Path) -> Path:
    """The relay's file store beside its SQLite database."""
    return db_file.parent / "district-files"


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class DistrictStore:
    """All server state behind one engine."""

    def __init__(self, engine: Engine, *, accept_demo: bool = False,
                 preferred_batch_bytes: int = protocol.DEFAULT_PREFERRED_BATCH_BYTES,
                 max_batch_bytes: int = protocol.DEFAULT_MAX_BATCH_BYTES,
                 replay_window_s: int = protocol.REPLAY_WINDOW_S,
                 files_dir: Path | None = None) -> None:
        self.engine = engine
        # Where the scans the desks send are kept (docs/sync.md, "Files"): beside a SQLite
        # database by default, the data dir for PostgreSQL (``ccdesk district serve``).
        self.files_dir = files_dir
        self.accept_demo = accept_demo
        self.preferred_batch_bytes = preferred_batch_bytes
        self.max_batch_bytes = max_batch_bytes
        self.replay_window_s = replay_window_s
        self._signing_key = ""
        self._utf8: bool | None = None

    @classmethod
    def open(cls, url: str, **options: Any) -> DistrictStore:
        """Migrate the database at ``url`` and load (or create) its epoch and signing key."""
        from sync.server.files import SECRET_KEY, new_secret
        from sync.server.migrate import upgrade

        if url.startswith("sqlite:///"):
            db_file = Path(url.removeprefix("sqlite:///").split("?")[0])
            private_sqlite_file(db_file)
            if options.get("files_dir") is None:
                options["files_dir"] = files_dir_for(db_file)
        engine = make_engine(url)
        upgrade(engine)
        store = cls(engine, **options)
        store._meta("epoch", uuid7)
        store._signing_key = store._meta("signing_key", keys.new_private_key)
        store._meta(SECRET_KEY, new_secret)
        return store

    @property
    def files(self) -> Any:
        """The file intake (sync/server/files.py); 404 on a relay given no folder for files."""
        from sync.server.files import FileIntake

        if self.files_dir is None:
            raise DistrictError(404, "files_unavailable", "this relay keeps no files")
        return FileIntake(self.engine, self.files_dir)

    def _meta(self, key: str, make: Any) -> str:
        with self._tx() as conn:
            value = conn.execute(select(META.c.value).where(META.c.key == key)).scalar()
            if value is None:
                value = make()
                conn.execute(insert(META).values(key=key, value=value))
            return value

    def _tx(self) -> Any:
        return self.engine.begin()

    def _retrying(self, work: Any) -> Any:
        """Run ``work(conn)`` in a transaction; a race with a twin request is retried
        (SF-LOST-REPLY)."""
        for attempt in range(6):
            try:
                with self._tx() as conn:
                    return work(conn)
            except (IntegrityError, OperationalError) as exc:
                if attempt == 5 or (isinstance(exc, OperationalError)
                                    and "locked" not in str(exc).lower()
                                    and "deadlock" not in str(exc).lower()
                                    and "serializ" not in str(exc).lower()):
                    raise
        raise AssertionError("unreachable")

    @property
    def epoch(self) -> str:
        """The epoch as the database has it now, read on each reply (one primary-key row): every
        worker process of ``serve --workers N`` answers the same, also after ``district
        new-epoch`` ran beside a running server (docs/operations.md, "Worker processes")."""
        with self.engine.connect() as conn:
            return self._epoch(conn)

    @staticmethod
    def _epoch(conn: Connection) -> str:
        return conn.execute(select(META.c.value).where(META.c.key == "epoch")).scalar() or ""

    @property
    def public_key(self) -> str:
        return keys.public_of(self._signing_key)

    def sign(self, message: bytes) -> str:
        return keys.sign(self._signing_key, message)

    def set_epoch(self, epoch: str | None = None) -> str:
        """Start a new epoch (after restoring from a backup): devices re-send what it lost
        (SF-SERVER-RESTORED)."""
        value = epoch or uuid7()
        with self._tx() as conn:
            conn.execute(update(META).where(META.c.key == "epoch").values(value=value))
        return value

    # ---- administration -------------------------------------------------------------------
    def issue_enroll_code(self, commune_code: str, rebind_device: str | None = None) -> str:
        """A one-time enrolment code for a device of ``commune_code`` (only its hash is kept).

        A plain code enrols only a device id this server has never seen. ``rebind_device``
        makes a re-key code: it replaces the key of that one existing device of the same
        commune (IT rotating a desk's key, docs/relay-security.md)."""
        if not COMMUNE.fullmatch(commune_code):
            raise DistrictError(400, "bad_commune", "commune code must be 5 digits")
        raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
        with self._tx() as conn:
            if rebind_device is not None:
                row = conn.execute(select(D.c.commune_code)
                                   .where(D.c.device_id == rebind_device)).first()
                if row is None:
                    raise DistrictError(404, "unknown_device")
                if row.commune_code != commune_code:
                    raise DistrictError(400, "wrong_commune",
                                        "the device belongs to another commune")
            conn.execute(insert(E).values(code_hash=_hash(raw), commune_code=commune_code,
                                          created_at=utcnow(), rebind_device_id=rebind_device))
        return "-".join(raw[i:i + 4] for i in range(0, 12, 4))

    def new_admin_token(self) -> str:
        """Issue the token district staff use to record changes (replaces the previous one)."""
        token = secrets.token_urlsafe(32)
        with self._tx() as conn:
            conn.execute(META.delete().where(META.c.key == "admin_token"))
            conn.execute(insert(META).values(key="admin_token", value=_hash(token)))
        return token

    def check_admin_token(self, token: str) -> bool:
        with self.engine.connect() as conn:
            stored = conn.execute(select(META.c.value).where(META.c.key == "admin_token")).scalar()
        return bool(stored) and secrets.compare_digest(stored, _hash(token))

    def revoke(self, device_id: str) -> bool:
        with self._tx() as conn:
            done = conn.execute(update(D).where(D.c.device_id == device_id)
                                .values(status="revoked", revoked_at=utcnow())).rowcount
        return bool(done)

    # ---- devices --------------------------------------------------------------------------
    def enroll(self, code: str, device_id: str, public_key: str, demo: bool,
               commune: str = "") -> Device:
        """Exchange a one-time code for an enrolled device. A retry after a lost reply (same
        device, same key) succeeds again; any other reuse of the code is refused.

        An enrolment never rebinds an existing device (that would hand its name, commune and
        dossier codes to whoever holds any unused code): only a re-key code issued for that
        device may. ``commune``, sent by the desk, must be the code's commune; a mismatch is
        refused before the code is spent."""
        self._check_enrolment(code, device_id, public_key, demo, commune)

        def work(conn: Connection) -> Device:
            row = self._usable_code(conn, code, commune)
            if row["used_at"] is not None:
                if row["device_id"] == device_id and row["public_key"] == public_key:
                    return self._device(conn, device_id)
                raise DistrictError(403, "code_used")
            known = conn.execute(_locked(conn, select(D.c.commune_code).where(
                D.c.device_id == device_id))).first()
            if row["rebind_device_id"] != (device_id if known is not None else None):
                # A plain code for a known device, or a re-key code for another device.
                raise DistrictError(403, "device_exists" if known is not None else "bad_code",
                                    "this device is already enrolled: ask the district for a "
                                    "re-key code" if known is not None else "")
            conn.execute(update(E).where(E.c.code_hash == row["code_hash"])
                         .values(used_at=utcnow(), device_id=device_id, public_key=public_key))
            values = {"commune_code": row["commune_code"], "public_key": public_key,
                      "status": "active", "demo": demo, "revoked_at": None}
            if known is not None:
                conn.execute(update(D).where(D.c.device_id == device_id).values(**values))
            else:
                conn.execute(insert(D).values(device_id=device_id, enrolled_at=utcnow(),
                                              **values))
            return self._device(conn, device_id)

        return self._retrying(work)

    def _check_enrolment(self, code: str, device_id: str, public_key: str, demo: bool,
                         commune: str) -> None:
        if not TOKEN.fullmatch(device_id or "") or len(device_id) > 64 \
                or not PUBLIC_KEY.fullmatch(public_key or "") or len(code) > 64:
            raise DistrictError(400, "bad_request")
        if commune and not COMMUNE.fullmatch(commune):
            raise DistrictError(400, "bad_commune", "commune code must be 5 digits")
        if demo and not self.accept_demo:
            raise DistrictError(403, "demo_refused")

    @staticmethod
    def _usable_code(conn: Connection, code: str, commune: str) -> Any:
        """The code's row, locked; refused when unknown or issued for another commune."""
        row = conn.execute(_locked(conn, select(E).where(
            E.c.code_hash == _hash(normalise_code(code))))).mappings().first()
        if row is None:
            raise DistrictError(403, "bad_code")
        if commune and row["commune_code"] != commune:
            raise DistrictError(403, "wrong_commune", "this code was issued for another commune")
        return row

    def _device(self, conn: Connection, device_id: str) -> Device:
        row = conn.execute(select(D.c.device_id, D.c.commune_code, D.c.public_key, D.c.status,
                                  D.c.demo).where(D.c.device_id == device_id)).first()
        if row is None:
            raise DistrictError(401, "unknown_device")
        return Device(*row)

    def device(self, device_id: str) -> Device:
        with self.engine.connect() as conn:
            return self._device(conn, device_id)

    def authenticate(self, device_id: str, message: bytes, signature: str) -> Device:
        """The signing device, or a 401 naming why (unknown, bad signature, revoked)."""
        device = self.device(device_id)
        if not keys.verify(device.public_key, message, signature):
            raise DistrictError(401, "bad_signature")
        if device.status != "active":
            raise DistrictError(401, "revoked")
        return device

    def remember_nonce(self, device_id: str, nonce: str, window: timedelta,
                       seen: dict[str, Any] | None = None) -> None:
        """Record a signed request's nonce; a nonce seen inside the window is a replay (409).
        Nonces older than twice the window are pruned: their timestamps are refused anyway.
        ``seen`` (app version, clock offset) goes on the device's row for ``district health``."""
        now = utcnow()
        try:
            with self._tx() as conn:
                conn.execute(insert(N).values(device_id=device_id, nonce=nonce, seen_at=now))
                conn.execute(update(D).where(D.c.device_id == device_id)
                             .values(last_seen_at=now, **(seen or {})))
        except IntegrityError as exc:
            raise DistrictError(409, "replayed", "this signed request was already received"
                                ) from exc
        if secrets.randbelow(256) == 0:   # now and then: a cheap delete on an indexed column
            with self._tx() as conn:
                conn.execute(N.delete().where(N.c.seen_at < now - 2 * window))

    def received_through(self, conn: Connection, device_id: str) -> int:
        return conn.execute(select(func.max(M.c.device_seq))
                            .where(M.c.device_id == device_id)).scalar() or 0

    def hello(self, device: Device, desk_status: dict[str, int] | None = None
              ) -> dict[str, Any]:
        """The handshake reply; ``desk_status`` (the desk's own counts) is kept for health."""
        if desk_status:
            with self._tx() as conn:
                conn.execute(update(D).where(D.c.device_id == device.device_id).values(
                    desk_status=orjson.dumps(desk_status).decode(), desk_status_at=utcnow()))
        with self.engine.connect() as conn:
            through = self.received_through(conn, device.device_id)
            head = conn.execute(select(func.max(C.c.seq))).scalar() or 0
            epoch = self._epoch(conn)
        return {"service": protocol.SERVICE_NAME, "api": protocol.API_VERSION,
                "epoch": epoch, "server_time": utcnow().isoformat() + "Z",
                "accept_demo": self.accept_demo, "changes_head": head,
                "session_s": protocol.SESSION_S,
                "limits": {"preferred_batch_bytes": self.preferred_batch_bytes,
                           "max_batch_bytes": self.max_batch_bytes,
                           "encodings": list(protocol.ENCODINGS)},
                "device": {"device_id": device.device_id, "commune": device.commune_code,
                           "status": device.status, "received_through_seq": through}}

    def issued_codes(self, device: Device, after_seq: int, limit: int = 1000) -> dict[str, Any]:
        """The dossier codes ``device`` created after its ``after_seq``, as received here: a
        desk restored from an older backup moves its code counters past them."""
        limit = max(1, min(limit, 5000))
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(M.c.device_seq, M.c.entity_id)
                .where(M.c.device_id == device.device_id, M.c.device_seq > after_seq,
                       M.c.op == "dossier.create")
                .order_by(M.c.device_seq).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return {"service": protocol.SERVICE_NAME, "codes": [row[1] for row in rows],
                "after_seq": int(rows[-1][0]) if rows else after_seq, "more": more}

    # ---- batches --------------------------------------------------------------------------
    def apply_batch(self, device: Device, body: Any, digest: str, *,
                    files_listed: bool = True) -> dict[str, Any]:
        """Apply one batch in one transaction and store its reply; a replay returns it.
        ``files_listed=False``: the body's JSON text holds no ``files`` key (see
        :func:`sync.server.body.may_list_files`), so no record references a file."""
        if not isinstance(body, dict) or not isinstance(body.get("batch_id"), str) \
                or not isinstance(body.get("records"), list) \
                or not TOKEN.fullmatch(body["batch_id"]):
            raise DistrictError(400, "bad_batch", "batch_id and records are required")
        return self._retrying(lambda conn: self._apply(conn, device, body, digest,
                                                       files_listed))

    def stored_batch(self, device: Device, batch_id: str) -> dict[str, Any] | None:
        if not TOKEN.fullmatch(batch_id):
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(B.c.result).where(B.c.batch_id == batch_id,
                                                        B.c.device_id == device.device_id)
                               ).first()
        return orjson.loads(row[0]) if row else None

    def _apply(self, conn: Connection, device: Device, body: dict[str, Any],
               digest: str, files_listed: bool = True) -> dict[str, Any]:
        batch_id = body["batch_id"]
        stored = conn.execute(select(B.c.device_id, B.c.digest, B.c.result)
                              .where(B.c.batch_id == batch_id)).first()
        if stored is not None:
            if stored.device_id != device.device_id or stored.digest != digest:
                raise DistrictError(422, "idempotency_mismatch",
                                    "batch id reused with a different body")
            return orjson.loads(stored.result)
        # The epoch through this transaction's own connection: a second connection would wait
        # on the write lock this one holds (SQLite's BEGIN IMMEDIATE).
        _check_expectation(body.get("expect"), self._epoch(conn),
                           lambda: self.received_through(conn, device.device_id))
        if body.get("commune") != device.commune_code:
            raise DistrictError(403, "foreign_commune",
                                "a device may only send its own commune's records")
        if (body.get("demo") or device.demo) and not self.accept_demo:
            raise DistrictError(403, "demo_refused")
        cursor = body.get("seen_cursor")
        seen_cursor = cursor if isinstance(cursor, int) and not isinstance(cursor, bool) else 0
        now = utcnow()
        records = body["records"]
        batch = _Batch(device, batch_id, seen_cursor, _db_time(conn, now), files_listed,
                       utf8_text=self._utf8_sqlite(conn))
        try:
            # The fast path: every row in one executemany, inside a savepoint.
            with conn.begin_nested():
                results = self._apply_all(conn, batch, records, now)
        except OperationalError:
            raise   # a lock or serialisation failure: _retrying runs the batch again
        except DBAPIError:
            # One record the database refused (a value it cannot store): redo the batch a
            # record at a time, each in its own savepoint, so only that record is rejected.
            results = self._apply_each(conn, batch, records, now)
        conn.execute(update(D).where(D.c.device_id == device.device_id)
                     .values(last_push_at=now))
        reply = {"service": protocol.SERVICE_NAME, "batch_id": batch_id, "digest": digest,
                 "epoch": self._epoch(conn), "server_time": now.isoformat() + "Z",
                 "received_through_seq": self.received_through(conn, device.device_id),
                 "results": results}
        conn.execute(insert(B).values(batch_id=batch_id, device_id=device.device_id,
                                      digest=digest, result=orjson.dumps(reply).decode(),
                                      received_at=now))
        return reply

    def _utf8_sqlite(self, conn: Connection) -> bool:
        """SQLite with UTF-8 text (every database the relay creates): text columns may be
        given as UTF-8 bytes (``UTF8_COLUMNS``)."""
        if self._utf8 is None:
            self._utf8 = conn.dialect.name == "sqlite" and str(
                conn.exec_driver_sql("PRAGMA encoding").scalar()).upper() == "UTF-8"
        return self._utf8

    def _load(self, conn: Connection, records: list[Any]) -> _Loaded:
        """The stored results of the batch's mutation ids and its dossiers, the dossier rows
        locked (``FOR UPDATE`` on PostgreSQL, in code order so two batches cannot deadlock):
        under READ COMMITTED a district change committed after a plain read would be
        overwritten without a conflict, and two batches would lose each other's event counts.
        SQLite's ``BEGIN IMMEDIATE`` already serialises writers. Each distinct id and code is
        checked against its pattern once, here; :meth:`_check` looks the verdict up."""
        ids = {r["id"] for r in records if isinstance(r, dict) and isinstance(r.get("id"), str)}
        ids = {rid for rid in ids if TOKEN.fullmatch(rid)}
        existing = dict(_select_in(conn, "SELECT mutation_id, result FROM district_mutation "
                                   "WHERE mutation_id IN ({})", sorted(ids)))
        valid_codes = {r["entity_id"] for r in records if isinstance(r, dict)
                       and isinstance(r.get("entity_id"), str)}
        valid_codes = {code for code in valid_codes if DOSSIER_CODE.fullmatch(code)}
        codes = sorted(valid_codes)
        lock = " ORDER BY code FOR UPDATE" if conn.dialect.name == "postgresql" else ""
        dossiers: dict[str, dict[str, Any]] = {}
        for code, commune, status, last_seq, district_seq, events in _select_in(
                conn, "SELECT code, commune_code, status, last_device_seq, district_seq, events "
                "FROM district_dossier WHERE code IN ({})" + lock, codes):
            dossiers[code] = {"code": code, "commune_code": commune, "status": status,
                              "last_device_seq": last_seq, "district_seq": district_seq,
                              "events": events, "new": False, "dirty": False}
        return _Loaded(existing, dossiers, frozenset(ids), frozenset(valid_codes))

    def _apply_all(self, conn: Connection, batch: _Batch, records: list[Any],
                   now: datetime) -> list[dict[str, Any]]:
        loaded = self._load(conn, records)
        existing, dossiers = loaded.existing, loaded.dossiers
        claims = PortalClaims.load(conn, records)   # online filings: one dossier each
        results: list[dict[str, Any]] = []
        # Rows in MUTATION_COLUMNS order: built as tuples, the driver's executemany takes them
        # as they are (no per-row dict, no per-column lookup).
        mutations: list[tuple[Any, ...]] = []
        for record in records:
            outcome = self._check(record, loaded, batch.device, batch.seen_cursor)
            outcome = claims.check(record, outcome, dossiers)
            results.append(outcome)
            row = _stored_row(record, outcome, dossiers, batch)
            if row is not None:
                mutations.append(row)
                existing[record["id"]] = outcome["result"]
        self._write_dossiers(conn, dossiers, now)
        if mutations:
            _insert_rows(conn, M, MUTATION_COLUMNS, mutations)
        if batch.files_listed:
            note_references(conn, batch.device.commune_code, batch.device.device_id,
                            _applied(records, results), now)
        claims.write(conn, batch.device, records, results, now)
        return results

    def _apply_each(self, conn: Connection, batch: _Batch, records: list[Any],
                    now: datetime) -> list[dict[str, Any]]:
        """The slow path: each stored record (its mutation row and its dossier's row) in its
        own savepoint; a record the database refuses is rejected ``unstorable`` on its own."""
        loaded = self._load(conn, records)
        existing, dossiers = loaded.existing, loaded.dossiers
        claims = PortalClaims.load(conn, records)
        results: list[dict[str, Any]] = []
        for record in records:
            code = record.get("entity_id") if isinstance(record, dict) else None
            before = dict(dossiers[code]) if isinstance(code, str) and code in dossiers else None
            outcome = self._check(record, loaded, batch.device, batch.seen_cursor)
            outcome = claims.check(record, outcome, dossiers)
            row = _stored_row(record, outcome, dossiers, batch)
            if row is not None:
                try:
                    with conn.begin_nested():
                        _insert_rows(conn, M, MUTATION_COLUMNS, [row])
                        self._write_dossiers(conn, {code: dossiers[code]}, now)
                        note_references(conn, batch.device.commune_code,
                                        batch.device.device_id,
                                        _applied([record], [outcome]), now)
                    dossiers[code]["new"] = dossiers[code]["dirty"] = False
                    existing[record["id"]] = outcome["result"]
                except OperationalError:
                    raise
                except DBAPIError as exc:
                    if isinstance(exc, IntegrityError) and _select_in(
                            conn, "SELECT 1 FROM district_mutation WHERE mutation_id IN ({})",
                            [record["id"]]):
                        raise   # a twin request stored it meanwhile: _retrying replays
                    if before is None:
                        dossiers.pop(code, None)
                    else:
                        dossiers[code] = before
                    # The error's class only: its text may quote the record's values.
                    log.warning("record refused by the database: batch %s seq %s (%s)",
                                batch.batch_id, record.get("seq"), type(exc.orig).__name__)
                    outcome = _rejected(record["id"], record["seq"], "unstorable",
                                        "the district could not store this record")
            results.append(outcome)
        claims.write(conn, batch.device, records, results, now)
        return results

    def _check(self, record: Any, loaded: _Loaded, device: Device,
               seen_cursor: int) -> dict[str, Any]:
        """The result for one record; updates the in-memory dossier views it applies to."""
        refused = _malformed(record, loaded.ids)
        if refused is not None:
            return refused
        existing, dossiers = loaded.existing, loaded.dossiers
        rid, seq = record["id"], record["seq"]
        if rid in existing:
            return {"seq": seq, "result": CONFLICT if existing[rid] == CONFLICT else DUPLICATE}
        op, code, payload = record.get("op"), record.get("entity_id"), record.get("payload")
        if op not in (OP_CREATE, OP_EVENT):
            return _rejected(rid, seq, "unknown_op", "unknown operation")
        if not isinstance(code, str) or not isinstance(payload, dict):
            return _rejected(rid, seq, "malformed", "entity_id and payload are required")
        if code not in loaded.codes:      # not of the dossier code's form (_load)
            return _rejected(rid, seq, "bad_code", "not a dossier code (letters, digits, dots "
                             "and dashes, at most 96)")
        current = dossiers.get(code)
        if current is not None and current["commune_code"] != device.commune_code:
            return _rejected(rid, seq, "foreign_dossier", "dossier belongs to another commune")
        if op == OP_CREATE:
            return self._check_create(rid, seq, code, payload, current, dossiers, device)
        return self._check_event(rid, seq, code, payload, current, seen_cursor)

    @staticmethod
    def _check_event(rid: str, seq: int, code: str, payload: dict[str, Any],
                     current: dict[str, Any] | None, seen_cursor: int) -> dict[str, Any]:
        ev = payload.get("event")
        if payload.get("code") != code or not isinstance(ev, dict) \
                or ev.get("to_status") not in STATUSES:
            return _rejected(rid, seq, "malformed", "code and event.to_status are required")
        if current is None:
            return _rejected(rid, seq, "unknown_dossier", "dossier not created upstream yet")
        # Optimistic concurrency: the district changed the dossier after the desk last pulled,
        # and the desk acted from another state: keep both, decide by a person (SF-LOST-CONFLICT).
        if current["district_seq"] > seen_cursor and ev.get("from_status") != current["status"]:
            return {"seq": seq, "id": rid, "result": CONFLICT, "code": "district_changed",
                    "message": f"district set {current['status']}", "_store": True,
                    "upstream_status": current["status"]}
        current["events"] += 1
        current["dirty"] = True
        if seq > current["last_device_seq"]:   # reordered delivery never moves state backwards
            current["status"] = ev["to_status"]
            current["last_device_seq"] = seq
        return {"seq": seq, "result": APPLIED, "_store": True}

    @staticmethod
    def _check_create(rid: str, seq: int, code: str, payload: dict[str, Any],
                      current: dict[str, Any] | None, dossiers: dict[str, dict[str, Any]],
                      device: Device) -> dict[str, Any]:
        snap = payload.get("dossier")
        if not isinstance(snap, dict) or snap.get("code") != code \
                or snap.get("status") not in STATUSES:
            return _rejected(rid, seq, "malformed", "dossier.code and status are required")
        if current is not None:
            return _rejected(rid, seq, "dossier_exists", "dossier already created")
        dossiers[code] = {"code": code, "commune_code": device.commune_code,
                          "status": snap["status"], "last_device_seq": seq,
                          "district_seq": 0, "events": 1, "new": True, "dirty": True,
                          "snapshot": ""}
        return {"seq": seq, "result": APPLIED, "_store": True, "_snapshot_of": code}

    def _write_dossiers(self, conn: Connection, dossiers: dict[str, dict[str, Any]],
                        now: datetime) -> None:
        stamp = _db_time(conn, now)
        new = [(d["code"], d["commune_code"], d["status"], d["last_device_seq"],
                d["district_seq"], d["events"], d["snapshot"], stamp)
               for d in dossiers.values() if d["new"]]
        changed = [{"c": d["code"], "st": d["status"], "ls": d["last_device_seq"],
                    "ev": d["events"], "at": now}
                   for d in dossiers.values() if d["dirty"] and not d["new"]]
        if new:
            _insert_rows(conn, X, DOSSIER_COLUMNS, new)
        if changed:
            conn.execute(update(X).where(X.c.code == bindparam("c"))
                         .values(status=bindparam("st"), last_device_seq=bindparam("ls"),
                                 events=bindparam("ev"), updated_at=bindparam("at")), changed)

    # ---- upstream changes -----------------------------------------------------------------
    def record_change(self, dossier_code: str, kind: str, status: str = "",
                      data: dict[str, Any] | None = None) -> dict[str, Any]:
        """The district records a result, status change or correction for a commune dossier."""
        data = dict(data or {})
        if kind not in CHANGE_KINDS:
            raise DistrictError(400, "bad_kind", f"kind must be one of {CHANGE_KINDS}")
        if status and status not in STATUSES:
            raise DistrictError(400, "bad_status", f"unknown status {status!r}")
        bad = [k for k in data if kind == ChangeKind.CORRECTION and k not in CORRECTABLE]
        if bad:
            raise DistrictError(400, "bad_field", f"not correctable: {', '.join(bad)}")

        if not DOSSIER_CODE.fullmatch(dossier_code):
            raise DistrictError(404, "unknown_dossier")

        def work(conn: Connection) -> dict[str, Any]:
            # Locked: a batch applying a desk event to this dossier waits, then sees this
            # change and answers ``conflict`` (docs/relay-security.md, lost updates).
            row = conn.execute(_locked(conn, select(X.c.commune_code, X.c.status)
                                       .where(X.c.code == dossier_code))).first()
            if row is None:
                raise DistrictError(404, "unknown_dossier")
            new_status = status or row.status
            if kind == ChangeKind.RESULT and not status and row.status == Status.HANDED_OFF:
                new_status = Status.IN_PROGRESS   # the body's result is back at the desk
            values = {"change_id": uuid7(), "commune_code": row.commune_code,
                      "dossier_code": dossier_code, "kind": kind, "base_status": row.status,
                      "status": new_status, "data": orjson.dumps(data).decode(),
                      "created_at": utcnow()}
            seq = conn.execute(insert(C).values(**values).returning(C.c.seq)).scalar_one()
            conn.execute(update(X).where(X.c.code == dossier_code)
                         .values(status=new_status, district_seq=seq, updated_at=utcnow()))
            return _change_json(values | {"seq": seq})

        return self._retrying(work)

    def record_change_if_known(self, dossier_code: str, kind: str) -> dict[str, Any] | None:
        """Like :meth:`record_change`, but None when the dossier has not arrived yet."""
        try:
            return self.record_change(dossier_code, kind)
        except DistrictError as err:
            if err.code == "unknown_dossier":
                return None
            raise

    def changes(self, device: Device, cursor: int, limit: int = 500) -> dict[str, Any]:
        """Changes for the device's commune after ``cursor``; a cursor from the future is 410."""
        with self.engine.connect() as conn:
            head = conn.execute(select(func.max(C.c.seq))).scalar() or 0
            if cursor > head:
                raise DistrictError(410, "cursor_gone", "resync from 0")
            communes = [device.commune_code, EVERY_COMMUNE]   # the schedule is for every desk
            rows = conn.execute(select(C).where(C.c.commune_code.in_(communes),
                                                C.c.seq > cursor)
                                .order_by(C.c.seq).limit(limit + 1)).mappings().all()
            epoch = self._epoch(conn)
        more = len(rows) > limit
        rows = rows[:limit]
        return {"service": protocol.SERVICE_NAME, "epoch": epoch,
                "changes": [_change_json(dict(r)) for r in rows],
                "cursor": rows[-1]["seq"] if rows else max(cursor, 0), "more": more,
                "head": head}

    # ---- the official holiday schedule (docs/calendar.md, "From the relay") ----------------
    def import_schedule(self, text: str) -> dict[str, Any]:
        """Publish an edition of the official schedule to every desk: validated whole with the
        desk's own parser, then stored as the one ``calendar_schedule`` row of the change feed
        (the previous edition's row is deleted in the same transaction, so a desk pulling from
        0 gets the newest edition only). Returns ``{"outcome", "version", "in_force"}``."""
        from ccdesk.domain.official_calendar import ScheduleInvalid, parse_schedule
        from ccdesk.services.official_calendar import schedule_payload

        try:
            schedule = parse_schedule(text, source="calendar")
        except ScheduleInvalid as err:
            raise DistrictError(400, "bad_schedule", err.message("en")) from err
        payload = schedule_payload(schedule)

        def work(conn: Connection) -> dict[str, Any]:
            current = _schedule_of(conn.execute(_locked(conn, select(C.c.data).where(
                C.c.kind == SCHEDULE_KIND))).scalar())
            version = payload["version"]
            if current is not None:
                if current["version"] > version:
                    raise DistrictError(409, "older_schedule", f"edition {current['version']} "
                                        f"is newer than {version}")
                if current["version"] == version:
                    if current["sha256"] != payload["sha256"]:
                        raise DistrictError(409, "same_version",
                                            f"edition {version} already holds other content")
                    return {"outcome": "unchanged", "version": version, "in_force": version}
            # Insert before deleting: SQLite reuses the largest rowid once it is deleted, and a
            # desk whose cursor stands on the old row must still see the new one.
            seq = conn.execute(insert(C).values(
                change_id=uuid7(), commune_code=EVERY_COMMUNE, dossier_code="",
                kind=SCHEDULE_KIND, base_status="", status="",
                data=orjson.dumps(payload).decode(), created_at=utcnow())
                .returning(C.c.seq)).scalar_one()
            conn.execute(C.delete().where(C.c.kind == SCHEDULE_KIND, C.c.seq < seq))
            return {"outcome": "applied", "version": version, "in_force": version}

        return self._retrying(work)

    def schedule_payload(self) -> dict[str, Any] | None:
        """The newest edition given to this relay, in the wire shape (for the USB ack)."""
        with self.engine.connect() as conn:
            return _schedule_of(conn.execute(select(C.c.data).where(
                C.c.kind == SCHEDULE_KIND)).scalar())

    # ---- statistics -----------------------------------------------------------------------
    def stats(self) -> list[dict[str, Any]]:
        """Per commune: dossiers, events, mutations received, last push (for ``district stats``)."""
        with self.engine.connect() as conn:
            dossiers = dict(conn.execute(select(X.c.commune_code, func.count())
                                         .group_by(X.c.commune_code)).all())
            events = dict(conn.execute(select(X.c.commune_code, func.sum(X.c.events))
                                       .group_by(X.c.commune_code)).all())
            mutations = dict(conn.execute(select(M.c.commune_code, func.count())
                                          .group_by(M.c.commune_code)).all())
            pushes = dict(conn.execute(select(D.c.commune_code, func.max(D.c.last_push_at))
                                       .group_by(D.c.commune_code)).all())
        communes = sorted(set(dossiers) | set(mutations) | set(pushes))
        return [{"commune": c, "dossiers": int(dossiers.get(c, 0)),
                 "events": int(events.get(c) or 0), "mutations": int(mutations.get(c, 0)),
                 "last_push_at": pushes[c].isoformat() + "Z" if pushes.get(c) else None}
                for c in communes]

    def health(self) -> list[dict[str, Any]]:
        """One row per device, by commune: when the relay last heard from it, what it last said
        about its own queue, the conflicts stored for it, its version and clock offset."""
        now = utcnow()
        with self.engine.connect() as conn:
            conflicts = dict(conn.execute(select(M.c.device_id, func.count())
                                          .where(M.c.result == CONFLICT)
                                          .group_by(M.c.device_id)).all())
            received = dict(conn.execute(select(M.c.device_id, func.max(M.c.device_seq))
                                         .group_by(M.c.device_id)).all())
            devices = conn.execute(select(D).order_by(D.c.commune_code, D.c.device_id)
                                   ).mappings().all()
        return [_health_row(d, now, int(conflicts.get(d["device_id"], 0)),
                            int(received.get(d["device_id"]) or 0)) for d in devices]

    def mutation_ids(self) -> list[str]:
        """Every stored mutation id (tests and the soak check 'exactly once' with it)."""
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(M.c.mutation_id))]


MUTATION_COLUMNS = ("mutation_id", "device_id", "device_seq", "commune_code", "entity_id", "op",
                    "payload", "payload_sha256", "result", "batch_id", "received_at")
DOSSIER_COLUMNS = ("code", "commune_code", "status", "last_device_seq", "district_seq", "events",
                   "snapshot", "updated_at")


@dataclass(frozen=True)
class _Batch:
    """What every stored row of one batch shares."""

    device: Device
    batch_id: str
    seen_cursor: int
    stamp: Any
    files_listed: bool = True        # False: no record can reference a file
    utf8_text: bool = False          # text columns take UTF-8 bytes (SQLite, _insert_rows)


class _Loaded(NamedTuple):
    """What :meth:`DistrictStore._load` read for a batch: the stored results of its mutation
    ids, its dossiers (updated in memory as records apply), and which of its ids and codes
    have the form the relay accepts (each checked once)."""

    existing: dict[str, str]
    dossiers: dict[str, dict[str, Any]]
    ids: frozenset[str]
    codes: frozenset[str]


def _stored_row(record: dict[str, Any], outcome: dict[str, Any],
                dossiers: dict[str, dict[str, Any]], batch: _Batch) -> tuple[Any, ...] | None:
    """The mutation row to store for ``record`` (MUTATION_COLUMNS order), or None."""
    if outcome["result"] not in (APPLIED, CONFLICT) or not outcome.pop("_store", False):
        return None
    payload_bytes = orjson.dumps(record["payload"], option=orjson.OPT_SORT_KEYS)
    payload = payload_bytes if batch.utf8_text else payload_bytes.decode()
    snapshot_of = outcome.pop("_snapshot_of", None)
    if snapshot_of is not None:
        dossiers[snapshot_of]["snapshot"] = payload
    return (record["id"], batch.device.device_id, record["seq"], batch.device.commune_code,
            record["entity_id"], record["op"], payload,
            hashlib.sha256(payload_bytes).hexdigest(), outcome["result"], batch.batch_id,
            batch.stamp)


def _applied(records: list[Any], results: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """``(dossier code, payload)`` of the records just applied: the files they list become
    acceptable (sync/server/filerefs.py)."""
    return [(record["entity_id"], record.get("payload")) for record, outcome
            in zip(records, results, strict=True) if outcome.get("result") == APPLIED
            and isinstance(record, dict) and "payload" in record]


def _check_expectation(expect: Any, epoch: str, through: Callable[[], int]) -> None:
    """A batch sent without a hello (sync/session.py) says what the desk believes: this
    relay's epoch and the highest seq it holds from the device. Anything else (a restore on
    either side, a lost reply) is ``409 hello_needed``, nothing applied."""
    if expect is None:
        return
    if not (isinstance(expect, dict) and expect.get("epoch") == epoch
            and type(expect.get("through")) is int and expect["through"] == through()):
        raise DistrictError(409, "hello_needed", "say hello first")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def _health_row(device: Any, now: datetime, relay_conflicts: int,
                received_through: int) -> dict[str, Any]:
    reported: dict[str, Any] = {}
    if device["desk_status"]:
        try:
            reported = orjson.loads(device["desk_status"])
        except ValueError:
            reported = {}
    seen = device["last_seen_at"]
    offset = device["clock_offset_s"]
    return {"commune": device["commune_code"], "device_id": device["device_id"],
            "status": device["status"], "last_contact_at": _iso(seen),
            "silent_s": int((now - seen).total_seconds()) if seen else None,
            "last_push_at": _iso(device["last_push_at"]),
            "received_through_seq": received_through,
            "records_waiting": reported.get("pending"),
            "oldest_waiting_s": reported.get("oldest_pending_s"),
            "quarantined": reported.get("quarantined"),
            "conflicts": reported.get("conflicts"), "relay_conflicts": relay_conflicts,
            "reported_at": _iso(device["desk_status_at"]),
            "app_version": device["app_version"],
            "clock_offset_s": round(offset, 1) if offset is not None else None}


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


# Columns of JSON text that a batch's rows carry as UTF-8 bytes on SQLite (``_Batch.utf8_text``):
# ``CAST(? AS TEXT)`` stores them as text, as a str would be, without decoding each payload to
# a str for the driver to encode back (SQLite's databases here are UTF-8, its default).
UTF8_COLUMNS = frozenset({"payload", "snapshot"})


def _insert_rows(conn: Connection, table: Any, names: tuple[str, ...],
                 rows: list[tuple[Any, ...]]) -> None:
    """A plain driver ``executemany``: SQLAlchemy's per-row parameter processing costs more
    than the insert itself on a batch of thousands (perf-notes: use Core/executemany)."""
    mark = _mark(conn)
    sqlite = conn.dialect.name == "sqlite"
    marks = [f"CAST({mark} AS TEXT)" if sqlite and name in UTF8_COLUMNS else mark
             for name in names]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(marks)})"
    conn.exec_driver_sql(sql, rows)


def _select_in(conn: Connection, sql: str, values: list[str]) -> list[Any]:
    """Rows of ``sql`` with its ``IN ({})`` bound to ``values``, as plain driver SQL (compiling
    an expanding IN of thousands of ids in SQLAlchemy costs more than the lookup)."""
    if not values:
        return []
    return conn.exec_driver_sql(sql.format(", ".join([_mark(conn)] * len(values))),
                                tuple(values)).fetchall()


def _db_time(conn: Connection, now: datetime) -> Any:
    """``now`` as the driver stores it: on SQLite the text its default datetime adapter would
    write (``isoformat(" ")``), computed once per batch instead of once per row."""
    return now.isoformat(" ") if conn.dialect.name == "sqlite" else now


def _malformed(record: Any, token_ids: frozenset[str] | None = None) -> dict[str, Any] | None:
    """A rejection when ``record`` has no usable id and seq (echoed only when storable).
    ``token_ids``: the batch's ids already known to have the ``TOKEN`` form (_load)."""
    if not isinstance(record, dict):
        return _rejected(None, None, "malformed", "record is not an object")
    rid, seq = record.get("id"), record.get("seq")
    good_id = isinstance(rid, str) and len(rid) <= 64 and (
        rid in token_ids if token_ids is not None else TOKEN.fullmatch(rid) is not None)
    good_seq = isinstance(seq, int) and not isinstance(seq, bool) and 1 <= seq <= MAX_INT64
    if good_id and good_seq:
        return None
    return _rejected(rid if good_id else None,
                     seq if isinstance(seq, int) and abs(seq) <= MAX_INT64 else None,
                     "malformed", "id and seq are required")


def _rejected(rid: Any, seq: Any, code: str, message: str) -> dict[str, Any]:
    return {"seq": seq, "id": rid, "result": REJECTED, "code": code, "message": message}


def _schedule_of(data: str | None) -> dict[str, Any] | None:
    return orjson.loads(data) if data else None


def _change_json(row: dict[str, Any]) -> dict[str, Any]:
    data = row["data"]
    if row["kind"] == SCHEDULE_KIND:
        payload = orjson.loads(data)   # as stored; the desk checks it (sync/replies.py)
        version = payload.get("version") if isinstance(payload, dict) else None
        return {"seq": row["seq"], "change_id": row["change_id"], "kind": SCHEDULE_KIND,
                "version": version, "data": payload,
                "at": row["created_at"].isoformat() + "Z"}
    return {"seq": row["seq"], "change_id": row["change_id"], "dossier_code": row["dossier_code"],
            "kind": row["kind"], "base_status": row["base_status"], "status": row["status"],
            "data": orjson.loads(data) if isinstance(data, str) else data,
            "at": row["created_at"].isoformat() + "Z"}
