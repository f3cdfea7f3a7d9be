"""What the desk (TUI) and the ``ccdesk sync`` commands call.

* :func:`status` — ``SyncStatus``, the same data as ``sync status --json``; reads the local
  database only, so it answers offline and at once.
* :func:`run_once` — push then pull, returning a :class:`~sync.engine.RunResult` whose
  ``exit_code`` follows the contract (0 synced, 10 partial, 20 network unavailable,
  30 auth/revoked, 40 needs a human, 50 internal error). ``progress(done, total)`` is called from
  the calling thread after each batch; the TUI runs this in a worker thread.
* :func:`enroll` — exchange a one-time code for this device's enrolment.

This module imports neither Textual nor httpx at import time: the engine (and httpx with it) is
loaded only when a run starts, so the desk's first paint does not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlmodel import Session

from ccdesk.models import Office
from ccdesk.storage.outbox.status import CLOCK_WARN_SECONDS, SyncStatus, read_status_file
from ccdesk.storage.outbox.write import utcnow
from sync.state import SyncState

if TYPE_CHECKING:
    from ccdesk.services import Services
    from sync.engine import EngineOptions, RunResult

__all__ = ["CLOCK_WARN_SECONDS", "EnrollError", "SyncStatus", "enroll", "explain", "probe",
           "run_once", "status"]


def status(services: Services) -> SyncStatus:
    """This desk's sync status, from the local database only (offline, instant)."""
    found = read_status_file(services.db.path)
    if found is None:   # opened through the services, so the tables exist; only a race here
        raise RuntimeError("sync tables missing")
    return found


def make_engine(services: Services, options: EngineOptions | None = None):  # noqa: ANN201
    from dataclasses import replace

    from sync.engine import EngineOptions, SyncEngine

    options = options or EngineOptions()
    if options.retention_days is None:
        options = replace(options, retention_days=services.config.sync_retention_days)
    from ccdesk.services.official_calendar import apply_schedule_payload

    return SyncEngine(services.ctx, options=options,
                      log_path=services.paths.logs_dir / "sync.jsonl",
                      on_schedule=lambda payload: apply_schedule_payload(
                          services, payload, origin="relay"))


def run_once(services: Services, progress: Callable[[int, int], None] | None = None,
             options: EngineOptions | None = None) -> RunResult:
    """Push then pull once; see the module docstring for exit codes."""
    return make_engine(services, options).run(progress=progress)


class EnrollError(Exception):
    """Enrolment failed; ``code`` is stable and ``exit_code`` follows the contract."""

    def __init__(self, code: str, exit_code: int, detail: str = "") -> None:
        super().__init__(code)
        self.code, self.exit_code, self.detail = code, exit_code, detail


def enroll(services: Services, url: str, code: str) -> SyncState:
    """Enrol this device at ``url`` with a one-time ``code``; the key pair is made here and
    only its public half is sent. The working identity (key, address, commune) is replaced only
    once the upstream confirms the new one: a failed attempt leaves the desk syncing as before.
    """
    from sync import keys, replies
    from sync.client import AUTH, REFUSED, SyncClient, SyncFailure

    office = services.office.get()
    if office.is_training:
        raise EnrollError("training", 40)
    if not url.startswith(("https://", "http://")):
        raise EnrollError("bad_url", 2)
    url = url.rstrip("/")
    pem = _pending_key(services, url)
    try:
        with SyncClient(url, office.device_id) as client:
            reply = client.enroll(code.strip(), keys.public_of(pem), office.is_demo,
                                  office.commune_code)
    except SyncFailure as failure:
        exit_code = {AUTH: 30, REFUSED: 30}.get(failure.kind, 20)
        if failure.code in ("demo_refused",):
            exit_code = 40
        raise EnrollError(failure.code, exit_code) from failure
    data = reply.data
    if not isinstance(data, dict) or data.get("device_id") != office.device_id:
        raise EnrollError("captive_portal", 20)
    try:
        confirmed = replies.enrolment(data)
    except replies.BadUpstreamValue as bad:
        raise EnrollError(bad.code, 40, bad.detail) from bad
    if office.commune_code and confirmed.commune != office.commune_code:
        raise EnrollError("wrong_commune", 30)   # a desk set up for one commune keeps it

    def work(session: Session) -> SyncState:
        row = session.get(SyncState, 1) or SyncState(id=1)
        row.upstream_url = url
        row.device_id = office.device_id
        row.commune_code = confirmed.commune
        row.private_key = pem
        row.pending_private_key, row.pending_url = "", ""
        row.server_public_key = confirmed.server_public_key
        row.server_epoch = confirmed.epoch
        row.enrolled_at = utcnow()
        row.revoked = False
        row.last_error = ""
        session.add(row)
        office_row = session.get(Office, 1)
        if office_row is not None and not office_row.commune_code:
            office_row.commune_code = confirmed.commune
            session.add(office_row)
        return row

    return services.db.write(work)


def _pending_key(services: Services, url: str) -> str:
    """The key to enrol with at ``url``, saved as pending before it is sent: a retry after a
    lost reply must send the same key, which the upstream may already hold. The working key
    and address stay as they are until the upstream confirms."""
    from sync import keys

    def work(session: Session) -> str:
        row = session.get(SyncState, 1) or SyncState(id=1)
        if row.pending_private_key and row.pending_url == url:
            return row.pending_private_key
        if not row.pending_private_key and row.private_key and row.enrolled_at is None \
                and row.upstream_url in ("", url):
            # An attempt saved before migration 0007 kept its key as the working one.
            row.pending_private_key = row.private_key
        else:
            row.pending_private_key = keys.new_private_key()
        row.pending_url = url
        session.add(row)
        return row.pending_private_key

    return services.db.write(work)


def explain(code: str, lang: str | None = None, detail: str = "") -> tuple[str, str]:
    """The user's-language message and one-line fix hint for a stable error code
    (``detail``: where, for codes whose message names it)."""
    from ccdesk.i18n import catalogue, get_language, t

    lang = lang or get_language()
    known = catalogue(lang)
    params: dict[str, object] = {"code": code, "detail": detail or "—"}
    key = code
    if code.startswith("internal:"):
        key = "internal"
    elif code.startswith("http_") and code[5:].isdigit():
        key, params["status"] = "server_error", code[5:]
    if f"sync.err.{key}" not in known and f"sync.{key}.message" in known:
        # A failure with a table of its own: ``sync.<code>.message`` and ``.hint``.
        hint = t(f"sync.{key}.hint", lang=lang) if f"sync.{key}.hint" in known else ""
        return t(f"sync.{key}.message", lang=lang, **params), hint
    if f"sync.err.{key}" not in known:
        key = "internal"
    hint = t(f"sync.hint.{key}", lang=lang) if f"sync.hint.{key}" in known else ""
    return t(f"sync.err.{key}", lang=lang, **params), hint


def probe(url: str, timeout: float = 3.0) -> bool:
    """A cheap reachability probe (TCP connect to the upstream), for ``sync watch``
    (SF-LINK-RETURNS)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False
