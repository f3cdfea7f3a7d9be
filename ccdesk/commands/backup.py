"""``ccdesk backup [--to PATH]`` and ``ccdesk restore PATH``.

``backup`` may run unattended from cron (as the system account; the OS account running it can
read the database file anyway); ``--as`` records who took it. ``restore`` checks the backup
completely first, asks for confirmation (``--yes`` for scripts), keeps the current database aside,
and needs an IT officer while the current database is readable. A damaged or missing database
cannot say who may act, so then the OS account that owns the data folder is trusted.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ccdesk.commands.common import STATE, fail
from ccdesk.commands.identity import AsOption, acting_officer
from ccdesk.domain.errors import CcdeskError


def backup(
    to: Annotated[Path | None, typer.Option(
        "--to", help="Thư mục hoặc tệp đích (ví dụ USB) / folder or file to write")] = None,
    list_: Annotated[bool, typer.Option(
        "--list", help="Liệt kê các bản sao lưu / list the backups, newest first")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Với --list / with --list")] = False,
    as_user: AsOption = None,
) -> None:
    """Sao lưu CSDL / back up the database (online: desks may keep working)."""
    from ccdesk.i18n import t
    from ccdesk.services.recording import audit
    from ccdesk.storage.backup import backup_to, take_backup

    if list_:
        _list_backups(as_json)
        return
    services = STATE.services()
    actor = acting_officer(services, as_user, "backup", system_ok=True)
    try:
        if to is None:
            path = take_backup(services.db.path, services.paths.backups_dir)
        else:
            path = backup_to(services.db.path, to.expanduser())
        services.db.write(lambda session: audit(session, services.ctx, actor, "backup.create",
                                                detail=path.name))
    except CcdeskError as err:
        fail(err)
    typer.echo(t("reliability.backup.done", path=str(path)))


def _list_backups(as_json: bool) -> None:
    """The copies of this database in the backups folder (works even when it is damaged)."""
    from ccdesk.commands.common import print_json
    from ccdesk.i18n import fmt_date, t
    from ccdesk.storage.backup import list_backups

    rows = list_backups(STATE.paths.backups_dir, STATE.db_path.stem)
    if as_json:
        print_json([{"path": str(b.path), "kind": b.kind, "taken_at": b.taken_at.isoformat(),
                     "bytes": b.path.stat().st_size} for b in rows])
        return
    for b in rows:
        stamp = f"{fmt_date(b.taken_at)} {b.taken_at.strftime('%H:%M:%S')}"
        typer.echo(f"{stamp}  {b.kind:<16} {b.path.stat().st_size / 1e6:9.1f} MB  {b.path}")
    if not rows:
        typer.echo(t("reliability.backup.none", folder=str(STATE.paths.backups_dir)))


def _require_it_if_readable(db_path: Path, as_user: str | None) -> str:
    """While the current database is readable and has IT officers, only they may restore;
    returns who is restoring ("owner": the OS account, when the database cannot tell)."""
    from ccdesk.services import Services
    from ccdesk.storage.soundness import integrity_problem, is_ccdesk_database

    if integrity_problem(db_path) is not None or not is_ccdesk_database(db_path):
        return "owner"
    from ccdesk.storage.soundness import DatabaseDamaged

    try:
        services = Services.open(db_path, STATE.paths)
    except DatabaseDamaged:
        return "owner"
    except CcdeskError as err:  # e.g. the desk key file is missing: never a way around --as
        fail(err)
    try:
        return acting_officer(services, as_user, "backup", bootstrap=True).username
    finally:
        services.close()


def restore(
    path: Annotated[Path, typer.Argument(help="Tệp sao lưu / the backup file")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Không hỏi lại / do not ask")]
    = False,
    as_user: AsOption = None,
) -> None:
    """Khôi phục từ bản sao lưu / restore the database from a backup."""
    from ccdesk.i18n import t
    from ccdesk.logs import setup_logging
    from ccdesk.services import Services
    from ccdesk.services.context import SYSTEM
    from ccdesk.services.recording import audit
    from ccdesk.storage import backup as backups
    from ccdesk.storage.integrity import record_full_check

    setup_logging(STATE.paths)
    db_path, source = STATE.db_path, path.expanduser()
    try:
        backups.verify_backup(source)
    except CcdeskError as err:
        fail(err)
    # Recorded as a username in the detail: the restored file may not know that officer.
    by = _require_it_if_readable(db_path, as_user)
    if not yes:
        if not sys.stdin.isatty():
            fail(t("reliability.restore.need_yes"))
        if not typer.confirm(t("reliability.restore.confirm", source=str(source),
                               target=str(db_path)), default=False):
            fail(t("reliability.restore.cancelled"), code=1)
    try:
        report = backups.restore(source, db_path, STATE.paths.backups_dir)
        # Restore checked the whole restored file: that is the full check after a restore.
        record_full_check(STATE.paths.data_dir, db_path, None)
        services = Services.open(db_path, STATE.paths)
        detail = f"from={source.name} by={by}" + (
            f" aside={report.aside.name}" if report.aside else "")
        services.db.write(lambda session: audit(session, services.ctx, SYSTEM,
                                                "backup.restore", detail=detail))
        services.close()
    except CcdeskError as err:
        fail(err)
    typer.echo(t("reliability.restore.done", source=str(source), target=str(db_path)))
    if report.aside:
        typer.echo(t("reliability.restore.aside", path=str(report.aside)))
    if report.files is not None and (report.files.copied or report.files.missing):
        typer.echo(t("attachments.restored", copied=report.files.copied,
                     missing=len(report.files.missing)))
