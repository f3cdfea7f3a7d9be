"""``sync doctor``: check each layer in order (enrolment, lock, disk, DNS, TCP, TLS, upstream
hello, clock) and name the first failure as the probable cause, with a one-line fix hint.
Last, records the upstream lost after this desk had dropped them (retention window): not a
reason sync fails, so it never hides one, but the last run ended on it and a person must act."""

from __future__ import annotations

import shutil
import socket
import ssl
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ccdesk.i18n import t
from sync.engine import lock_path_for
from sync.lock import LockBusy, SyncLock
from sync.service import CLOCK_WARN_SECONDS
from sync.service import status as read_status

if TYPE_CHECKING:
    from ccdesk.services import Services
    from ccdesk.storage.outbox.status import SyncStatus

MIN_FREE_MB = 200


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""
    cause: str = ""


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    @property
    def cause(self) -> str:
        return next((c.cause for c in self.checks if not c.ok and c.cause), "")

    @property
    def exit_code(self) -> int:
        cause = self.cause
        if not cause:
            return 0
        if cause in ("revoked", "unknown_device", "bad_signature", "unauthenticated"):
            return 30
        if cause in ("dns", "network_unavailable", "tls", "captive_portal", "timeout"):
            return 20
        return 40

    def to_json(self) -> dict[str, Any]:
        return {"checks": [asdict(c) for c in self.checks], "cause": self.cause,
                "exit_code": self.exit_code}


def diagnose(services: Services, timeout: float = 5.0) -> Report:
    """Run every check that still makes sense after the earlier ones."""
    report = Report()
    st = read_status(services)
    if st.training:
        report.checks.append(Check("enrolled", False, cause="training"))
        return report
    if not st.enrolled:
        report.checks.append(Check("enrolled", False, cause="not_enrolled"))
        return report
    if st.revoked:
        report.checks.append(Check("enrolled", False, cause="revoked"))
        return report
    report.checks.append(Check("enrolled", True, st.upstream))
    _reachable(services, st, report, timeout)
    if st.pruned_lost:
        from ccdesk.storage.outbox.retention import describe

        reported = st.last_error == "pruned_lost"
        report.checks.append(Check(
            "retention", not reported,
            f"{st.pruned_lost} (seq {describe([(a, b) for a, b in st.pruned_lost_seqs])})",
            cause="pruned_lost" if reported else ""))
    return report


def _reachable(services: Services, st: SyncStatus, report: Report, timeout: float) -> None:
    """Lock, disk, then the network layers up to the upstream's answer; stops at the first
    network failure (the later layers cannot be checked through it)."""
    lock = SyncLock(lock_path_for(services.db.path))
    try:
        with lock:
            report.checks.append(Check("lock", True))
    except LockBusy:
        report.checks.append(Check("lock", False, t("sync.doctor.lock_held", pid=lock.holder()),
                                   cause="locked"))
    free_mb = shutil.disk_usage(services.db.path.parent).free // (1024 * 1024)
    report.checks.append(Check("disk", free_mb >= MIN_FREE_MB,
                               t("sync.doctor.disk_low", mb=free_mb)
                               if free_mb < MIN_FREE_MB else f"{free_mb} MB",
                               cause="" if free_mb >= MIN_FREE_MB else "disk_full"))
    parts = urlsplit(st.upstream)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.getaddrinfo(host, port)
        report.checks.append(Check("dns", True, host))
    except OSError:
        report.checks.append(Check("dns", False, host, cause="dns"))
        return
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        report.checks.append(Check("tcp", False, f"{host}:{port}", cause="network_unavailable"))
        return
    report.checks.append(Check("tcp", True, f"{host}:{port}"))
    try:
        if parts.scheme == "https":
            try:
                with ssl.create_default_context().wrap_socket(sock, server_hostname=host):
                    report.checks.append(Check("tls", True))
            except (ssl.SSLError, OSError):
                report.checks.append(Check("tls", False, cause="tls"))
                return
    finally:
        sock.close()
    _hello(services, report)


def _hello(services: Services, report: Report) -> None:
    from sqlmodel import Session

    from sync.client import SyncClient, SyncFailure
    from sync.state import SyncState

    with Session(services.db.engine) as session:
        state = session.get(SyncState, 1)
    try:
        with SyncClient(state.upstream_url, state.device_id, state.private_key) as client:
            reply = client.hello()
    except SyncFailure as failure:
        report.checks.append(Check("hello", False, failure.code, cause=failure.code))
        return
    from ccdesk.storage.outbox.write import utcnow
    from sync import replies

    try:
        hello = replies.hello(reply.data)   # shown to a person: checked and bounded first
    except replies.BadUpstreamValue as bad:
        report.checks.append(Check("hello", False, bad.detail, cause=bad.code))
        return
    report.checks.append(Check("hello", True, hello.epoch))
    if hello.server_time is not None:
        offset = (hello.server_time - utcnow()).total_seconds()
        ok = abs(offset) <= CLOCK_WARN_SECONDS
        report.checks.append(Check("clock", ok, f"{round(offset)} s",
                                   cause="" if ok else "clock"))
