"""``ccdesk sync …``: the IT staff's sync commands (cron, systemd timers, the desk's helpdesk).

Exit codes (a contract, see docs/sync.md): 0 synced · 10 partial · 20 network unavailable ·
30 auth/revoked · 40 needs a human (quarantine, conflict, configuration) · 50 internal error ·
2 bad command-line input.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ccdesk.commands.common import STATE, fail, print_json
from ccdesk.commands.identity import AsOption, acting_officer
from ccdesk.i18n import t

if TYPE_CHECKING:
    from ccdesk.services import Services
    from ccdesk.services.context import Actor

app = typer.Typer(help="Đồng bộ với hệ thống cấp trên / sync with the upstream.",
                  no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="JSON output for scripts")]
WATCH_BACKOFF_CAP = 900.0   # seconds: the longest pause of `sync watch` after failed runs


def _say_error(code: str, detail: str = "") -> None:
    from sync.service import explain

    message, hint = explain(code, detail=detail)
    typer.echo(message, err=True)
    if hint:
        typer.echo(t("sync.doctor.fix", hint=hint), err=True)


def _finish(result, as_json: bool, *, pushed: bool = True, pulled: bool = False) -> None:  # noqa: ANN001
    if as_json:
        print_json(result.to_json())
    else:
        if result.resent_after_restore:
            typer.echo(t("sync.run.resent", count=result.resent_after_restore))
        if result.codes_upstream_only:
            typer.echo(t("sync.run.codes_upstream_only", count=result.codes_upstream_only,
                         codes=", ".join(result.upstream_only_codes)))
        if result.pruned_lost:
            from ccdesk.storage.outbox.retention import describe

            typer.echo(t("sync.run.pruned_lost", count=result.pruned_lost,
                         seqs=describe(result.pruned_lost_seqs)), err=True)
        if pushed and (result.records_sent or result.exit_code == 0):
            typer.echo(t("sync.run.pushed", sent=result.records_sent, wire=result.bytes_wire,
                         raw=result.bytes_raw, acked=result.acked,
                         quarantined=result.quarantined, conflicts=result.conflicts))
        if pulled:
            typer.echo(t("sync.run.pulled", pulled=result.pulled,
                         conflicts=result.pull_conflicts))
        if result.pruned:
            typer.echo(t("sync.run.pruned", rows=result.pruned, bytes=result.pruned_bytes))
        if pushed and (result.files_sent or result.file_bytes_sent or result.files_pending):
            typer.echo(t("sync.run.files", sent=result.files_sent, bytes=result.file_bytes_sent,
                         pending=result.files_pending, size=_size(result.file_bytes_pending)))
        if result.pending:
            typer.echo(t("sync.run.pending_left", pending=result.pending))
        if result.exit_code == 0:
            typer.echo(t("sync.run.ok"))
        elif result.error:
            _say_error(result.error, result.detail)
    raise typer.Exit(result.exit_code)


def _options(max_time: float | None):  # noqa: ANN202 - sync.engine.EngineOptions
    from sync.engine import EngineOptions

    return EngineOptions(max_time=max_time)


def _engine(max_time: float | None = None):  # noqa: ANN202 - sync.engine.SyncEngine
    from sync.service import make_engine

    return make_engine(STATE.services(), _options(max_time))


def _size(nbytes: int) -> str:
    """Bytes in whole kB, rounded up (no decimal mark to get wrong in either language)."""
    return f"{-(-nbytes // 1000)} kB"


@app.command()
def status(as_json: JsonOpt = False) -> None:
    """Tình trạng (không cần mạng) / status, offline and instant."""
    from ccdesk.storage.outbox.status import read_status_file

    st = read_status_file(STATE.db_path)
    if st is None:   # a new or older database: open (and migrate) it the usual way
        from sync.service import status as read

        st = read(STATE.services())
    if as_json:
        print_json(st.to_json())
        return
    never = t("sync.status.never")
    lines = [
        t("sync.status.title"),
        f"  {t('sync.status.commune')}: {st.commune or '—'}",
        f"  {t('sync.status.device')}: {st.device_id}",
        f"  {t('sync.status.upstream')}: {st.upstream or t('sync.status.not_enrolled')}",
        f"  {t('sync.status.pending')}: {st.pending + st.in_flight}",
        f"  {t('sync.status.acked')}: {st.acked}",
        "  " + t("sync.status.files_pending", count=st.files_pending,
                 size=_size(st.file_bytes_pending)),
        f"  {t('sync.status.quarantined')}: {st.quarantined}",
        f"  {t('sync.status.conflicts')}: {st.conflicts}",
        f"  {t('sync.status.oldest')}: "
        f"{_age(st.oldest_pending_age_s) if st.oldest_pending_age_s is not None else '—'}",
        f"  {t('sync.status.last_success')}: {st.last_success_at or never}",
        f"  {t('sync.status.last_error')}: {st.last_error or t('sync.status.none')}",
    ]
    if st.pruned:
        lines.append(f"  {t('sync.status.pruned')}: {st.pruned}")
    if st.pruned_lost:
        from ccdesk.storage.outbox.retention import describe

        lines.append(t("sync.status.pruned_lost", count=st.pruned_lost,
                       seqs=describe([(a, b) for a, b in st.pruned_lost_seqs])))
    if st.clock_offset_s is not None:
        lines.append("  " + t("sync.status.clock", seconds=round(st.clock_offset_s)))
    if st.clock_warning:
        lines.append(t("sync.status.clock_warn", seconds=round(st.clock_offset_s or 0)))
    if st.training:
        lines.append(t("sync.status.training"))
    if st.demo:
        lines.append(t("sync.status.demo"))
    if st.revoked:
        lines.append(t("sync.status.revoked"))
    typer.echo("\n".join(lines))


def _age(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return (f"{days}d " if days else "") + f"{hours:02}:{rest // 60:02}:{rest % 60:02}"


def _acting(services: Services, as_user: str | None) -> Actor:
    """Who a sync command that a person runs acts as (enrol, resolve, release, export). Like
    `officer` and `catalog import`: --as an officer holding the sync permission (IT), or the
    system account while the desk has no IT officer yet (first set-up). Unattended runs
    (run, push, pull, prune) keep acting as the system."""
    return acting_officer(services, as_user, "sync", bootstrap=True)


def _audit(services: Services, actor: Actor, action: str, detail: str = "") -> None:
    """The audit line of a done sync action (ids and counts only, never personal data)."""
    from ccdesk.services.recording import audit

    services.db.write(lambda session: audit(session, services.ctx, actor, action,
                                            detail=detail))


@app.command()
def enroll(url: Annotated[str, typer.Option("--url", help="https://… of the upstream")],
           code: Annotated[str | None, typer.Option(
               "--code", help="one-time code (visible in ps: prefer --code-file)",
               envvar="CCDESK_ENROLL_CODE")] = None,
           code_file: Annotated[Path | None, typer.Option(
               "--code-file", help="a file holding the one-time code")] = None,
           as_user: AsOption = None) -> None:
    """Đăng ký máy với cấp trên / enrol this device with a one-time code."""
    from ccdesk.commands.secrets import from_environment, read_secret_file, warn_on_command_line
    from sync.service import EnrollError
    from sync.service import enroll as do_enroll
    from sync.service import status as read

    services = STATE.services()
    actor = _acting(services, as_user)
    if code_file is not None:
        code = read_secret_file(code_file)
    elif code is None:
        fail(t("sync.relay.no_code"))
    elif not from_environment(code, "CCDESK_ENROLL_CODE"):
        warn_on_command_line("--code", "--code-file or CCDESK_ENROLL_CODE")
    try:
        state = do_enroll(services, url, code)
    except EnrollError as err:
        _say_error(err.code, err.detail)
        before = read(services)
        if before.enrolled and not before.revoked:
            typer.echo(t("sync.enrolment.kept", url=before.upstream), err=True)
        raise typer.Exit(err.exit_code) from None
    _audit(services, actor, "sync.enroll", f"commune={state.commune_code}")
    typer.echo(t("sync.run.enrolled", device=state.device_id, commune=state.commune_code))


@app.command()
def push(dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
         max_time: Annotated[float | None, typer.Option("--max-time", help="seconds")] = None,
         as_json: JsonOpt = False) -> None:
    """Gửi các bản ghi chờ / send waiting records."""
    result = _engine(max_time).push(dry_run=dry_run)
    if dry_run and not as_json and result.exit_code == 0:
        typer.echo(t("sync.run.dry_run", pending=result.pending))
        raise typer.Exit(0)
    _finish(result, as_json)


@app.command()
def pull(as_json: JsonOpt = False) -> None:
    """Nhận cập nhật từ cấp trên / receive upstream updates."""
    _finish(_engine().pull(), as_json, pushed=False, pulled=True)


@app.command()
def run(max_time: Annotated[float | None, typer.Option("--max-time", help="seconds")] = None,
        as_json: JsonOpt = False) -> None:
    """Gửi rồi nhận (dùng cho cron) / push then pull (for cron and timers)."""
    _finish(_engine(max_time).run(), as_json, pulled=True)


@app.command()
def watch(interval: Annotated[float, typer.Option("--interval", help="seconds")] = 60.0,
          until_synced: Annotated[bool, typer.Option("--until-synced")] = False,
          max_time: Annotated[float | None, typer.Option("--max-time")] = None) -> None:
    """Chờ có mạng rồi đồng bộ / wait for the network, sync when it is there."""
    from ccdesk.retry import RetryPolicy
    from sync.service import probe
    from sync.service import status as read

    # A failed run backs off with the one retry policy (full jitter, never sooner than the
    # interval), so many desks coming back after a district outage do not retry in step.
    policy = RetryPolicy(base=interval, cap=max(interval, WATCH_BACKOFF_CAP))
    failures = 0
    started = time.monotonic()
    waiting_said = False
    while True:
        st = read(STATE.services())
        if not st.enrolled:
            _say_error("not_enrolled")
            raise typer.Exit(40)
        if probe(st.upstream):
            if waiting_said:
                typer.echo(t("sync.run.watch_up"))
                waiting_said = False
            result = _engine().run()
            if result.exit_code in (0, 40) and until_synced:
                _finish(result, False, pulled=True)
            if result.exit_code == 30:
                _finish(result, False, pulled=True)
            failures = 0 if result.exit_code in (0, 40) else failures + 1
        elif not waiting_said:
            typer.echo(t("sync.run.watch_wait"))
            waiting_said = True
        if max_time is not None and time.monotonic() - started > max_time:
            raise typer.Exit(20 if waiting_said else 10)
        time.sleep(max(interval, policy.delay(failures)) if failures else interval)


@app.command()
def prune(dry_run: Annotated[bool, typer.Option("--dry-run", help="count only")] = False,
          as_json: JsonOpt = False, as_user: AsOption = None) -> None:
    """Xoá bản ghi đã xác nhận quá thời hạn lưu / drop acknowledged records past the retention
    window (config sync_retention_days; `sync run` does it too)."""
    from ccdesk.services.recording import audit
    from ccdesk.storage.outbox.retention import prune as do_prune
    from sync.engine import EngineOptions, lock_path_for
    from sync.lock import LockBusy, SyncLock

    services = STATE.services()
    # Like `sync run`, it may run unattended as the system; --as names an officer, who must
    # hold the sync permission (IT).
    actor = acting_officer(services, as_user, "sync", system_ok=True)
    days = services.config.sync_retention_days
    if dry_run:   # reads only: no lock, nothing written
        result = do_prune(services.db, days, dry_run=True)
    else:
        try:
            with SyncLock(lock_path_for(services.db.path), wait=EngineOptions().lock_wait):
                result = do_prune(services.db, days)
        except LockBusy:
            _say_error("locked")
            raise typer.Exit(10) from None
        if result.rows:
            detail = (f"rows={result.rows} bytes={result.bytes} seqs={result.first_seq}-"
                      f"{result.last_seq} window_days={days}")
            services.db.write(lambda session: audit(session, services.ctx, actor,
                                                    "sync.prune", detail=detail))
    if as_json:
        print_json(result.to_json())
        return
    if days <= 0:
        typer.echo(t("sync.prune.forever"))
    elif dry_run:
        typer.echo(t("sync.prune.would", rows=result.rows, bytes=result.bytes, days=days))
    else:
        typer.echo(t("sync.prune.done", rows=result.rows, bytes=result.bytes, days=days))
        if result.rows:
            typer.echo(t("sync.prune.file_size"))


@app.command("log")
def log_(limit: Annotated[int, typer.Option("--limit")] = 50, as_json: JsonOpt = False) -> None:
    """Nhật ký các lần trao đổi / the last exchanges (no personal data)."""
    from sqlmodel import select

    from sync.state import SyncAttempt

    with STATE.services().db.session() as session:
        rows = list(session.exec(select(SyncAttempt).order_by(SyncAttempt.id.desc())
                                 .limit(limit)).all())
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    typer.echo(t("sync.log.title"))
    for r in reversed(rows):
        seqs = f"{r.first_seq}-{r.last_seq}" if r.records else ""
        typer.echo(f"{r.at:%Y-%m-%d %H:%M:%S}  {r.kind:<8} {r.batch_id[:13]:<13} {seqs:<12} "
                   f"{r.bytes_wire:>8}  {r.http_status or '-':>3}  {r.outcome:<20} {r.rtt_ms}")


@app.command()
def quarantine(retry: Annotated[list[int] | None, typer.Option("--retry", help="seq")] = None,
               retry_all: Annotated[bool, typer.Option("--retry-all")] = False,
               as_json: JsonOpt = False, as_user: AsOption = None) -> None:
    """Bản ghi cách ly; --retry SEQ để gửi lại / quarantined records; --retry to resend."""
    from ccdesk.storage.outbox import states as outbox

    services = STATE.services()
    db = services.db
    if retry or retry_all:
        actor = _acting(services, as_user)
        count = db.write(lambda s: outbox.release(s, None if retry_all else list(retry or [])))
        _audit(services, actor, "sync.quarantine.release", f"rows={count}")
        typer.echo(t("sync.quarantine.released", count=count))
        return
    with db.session() as session:
        rows = outbox.listed(session, outbox.QUARANTINED)
    if as_json:
        print_json([{"seq": r.device_seq, "mutation_id": r.mutation_id, "dossier": r.entity_id,
                     "op": r.op, "reason": r.last_error} for r in rows])
        return
    if not rows:
        typer.echo(t("sync.quarantine.empty"))
        return
    typer.echo(t("sync.quarantine.title"))
    for r in rows:
        typer.echo(f"  {r.device_seq:>6}  {r.entity_id:<28} {r.op:<15} {r.last_error}")


@app.command()
def conflicts(resolve: Annotated[int | None, typer.Option("--resolve", help="conflict no.")]
              = None,
              take: Annotated[str, typer.Option("--take", help="upstream | local")] = "upstream",
              as_json: JsonOpt = False, as_user: AsOption = None) -> None:
    """Xung đột với cấp trên / conflicts with the upstream (kept, never overwritten)."""
    from sync.conflicts import ConflictError, open_conflicts, resolve_conflict

    services = STATE.services()
    if resolve is not None:
        if take not in ("upstream", "local"):
            fail(t("sync.err.bad_take"))
        actor = _acting(services, as_user)
        try:
            resolve_conflict(services.ctx, resolve, take, actor)
        except ConflictError:
            fail(t("sync.err.no_conflict", id=resolve), code=40)
        _audit(services, actor, "sync.conflict.resolve", f"conflict={resolve} take={take}")
        typer.echo(t("sync.conflicts.resolved", id=resolve, take=take))
        return
    rows = open_conflicts(services.db)
    if as_json:
        print_json([{"id": c.id, "side": c.side, "dossier": c.dossier_code,
                     "local_status": c.local_status, "upstream_status": c.upstream_status,
                     "mutation_id": c.mutation_id, "change_id": c.change_id,
                     "at": c.at.isoformat() + "Z"} for c in rows])
        return
    if not rows:
        typer.echo(t("sync.conflicts.empty"))
        return
    typer.echo(t("sync.conflicts.title"))
    for c in rows:
        typer.echo(f"  {c.id:>4}  {c.side:<5} {c.dossier_code:<28} "
                   f"{t('sync.conflicts.local')}: {c.local_status or '—':<18} "
                   f"{t('sync.conflicts.upstream')}: {c.upstream_status or '—'}")


@app.command()
def doctor(as_json: JsonOpt = False) -> None:
    """Chẩn đoán sự cố đồng bộ / diagnose why sync does not work."""
    from sync.doctor import diagnose

    report = diagnose(STATE.services())
    if as_json:
        print_json(report.to_json())
        raise typer.Exit(report.exit_code)
    typer.echo(t("sync.doctor.title"))
    for check in report.checks:
        mark = t("sync.doctor.ok") if check.ok else t("sync.doctor.fail")
        typer.echo(f"  [{mark}] {t('sync.doctor.check_' + check.name)}"
                   + (f" — {check.detail}" if check.detail else ""))
    if report.cause:
        from sync.service import explain

        message, hint = explain(report.cause)
        typer.echo(t("sync.doctor.cause", cause=message))
        typer.echo(t("sync.doctor.fix", hint=hint))
    else:
        typer.echo(t("sync.doctor.all_ok"))
    raise typer.Exit(report.exit_code)


@app.command("export")
def export(out: Annotated[Path, typer.Option("--out", help="folder, e.g. the USB stick")]
           = Path("."), as_user: AsOption = None) -> None:
    """Ghi gói dữ liệu ký số ra USB / write a signed bundle for a USB stick."""
    from sync.bundle import BundleError, export_bundle

    services = STATE.services()
    actor = _acting(services, as_user)
    try:
        written = export_bundle(services.db, out)
    except BundleError as err:
        _say_error(err.code)
        raise typer.Exit(40) from None
    file, count, first, last, scans = written
    _audit(services, actor, "sync.export", f"rows={count} seqs={first}-{last} files={scans}")
    if count:
        typer.echo(t("sync.bundle.written", file=file, count=count, first=first, last=last))
    else:   # nothing waiting: the bundle asks for the commune's changes (and carries scans)
        typer.echo(t("sync.bundle.changes_only", file=file))
    if scans:
        typer.echo(t("sync.bundle.files", count=scans))


@app.command("import-ack")
def import_ack(file: Annotated[Path, typer.Argument(help="ack file from the district")]) -> None:
    """Áp dụng tệp xác nhận của cấp trên / apply the district's ack file."""
    from ccdesk.domain.errors import CcdeskError
    from ccdesk.services.official_calendar import Outcome, apply_schedule_payload
    from ccdesk.storage.files import MAX_BUNDLE_BYTES, read_bounded
    from sync.bundle import BundleError
    from sync.bundle import import_ack as apply_ack

    services = STATE.services()
    schedules = []
    try:  # bounded: /dev/zero once made this hang while memory grew by gigabytes
        counts = apply_ack(services.db, read_bounded(file, MAX_BUNDLE_BYTES),
                           on_schedule=lambda payload: schedules.append(
                               apply_schedule_payload(services, payload, origin="usb")),
                           ctx=services.ctx)
    except CcdeskError as err:
        fail(err)
    except BundleError as err:
        if err.code == "bad_upstream_value":
            _say_error(err.code, err.message)
            raise typer.Exit(40) from None
        fail(t("sync.err.bad_ack", file=file), code=40)
    typer.echo(t("sync.bundle.acked", **counts))
    if "pulled" in counts:
        typer.echo(t("sync.bundle.pulled", **counts))
    if counts.get("more_changes"):
        typer.echo(t("sync.bundle.more_changes"))
    for done in schedules:
        if done.outcome == Outcome.APPLIED:
            typer.echo(t("sync.calendar_feed.applied", version=done.version.isoformat()))
    raise typer.Exit(40 if counts["quarantined"] or counts["conflicts"]
                     or counts.get("pull_conflicts") else 0)
