"""``ccdesk audit --dossier CODE | --officer NAME | --since DATE``: show the audit trail.

Filters combine (all must match). Needs a lead or IT officer (``--as``) once one is enrolled.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from typing import Annotated

import typer

from ccdesk.commands.common import STATE, fail, print_json
from ccdesk.commands.identity import AsOption, acting_officer
from ccdesk.domain.errors import CcdeskError

EXIT_TAMPERED = 3  # `audit --verify`: the chain is broken (docs/operations.md)


def verify_trail(as_user: str | None, as_json: bool) -> None:
    """``--verify``: the whole chain from the first line; names the first broken line."""
    from ccdesk.i18n import t
    from ccdesk.services.audit import verify_trail as check_trail
    from ccdesk.services.recording import audit as record

    services = STATE.services()
    actor = acting_officer(services, as_user, "audit", bootstrap=True)
    check = check_trail(services.ctx, full=True)
    services.db.write(lambda session: record(
        session, services.ctx, actor, "audit.verify",
        detail="ok" if check.broken_id is None else f"broken_at={check.broken_id}"))
    if as_json:
        print_json({"ok": check.broken_id is None, "checked": check.checked,
                    "broken_line": check.broken_id,
                    "restored_triggers": list(check.restored_triggers)})
    elif check.broken_id is None:
        typer.echo(t("reliability.security.chain_ok", count=check.checked))
    else:
        sys.stderr.write(t("reliability.security.chain_bad", line=check.broken_id,
                           count=check.checked) + "\n")
    if check.broken_id is not None:
        raise typer.Exit(EXIT_TAMPERED)


def parse_day(value: str, option: str) -> date:
    """``dd/mm/yyyy`` (as printed on forms) or ``YYYY-MM-DD``; a clear message otherwise."""
    from ccdesk.i18n import t

    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value.strip(), pattern).date()
        except ValueError:
            continue
    fail(t("reliability.audit.bad_date", option=option, value=value))


def audit(
    dossier: Annotated[str | None, typer.Option("--dossier", help="Mã hồ sơ / dossier code")]
    = None,
    officer: Annotated[str | None, typer.Option(
        "--officer", help="Tên đăng nhập hoặc họ tên cán bộ / username or full name")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Từ ngày (dd/mm/yyyy) / from this day")] = None,
    until: Annotated[str | None, typer.Option(
        "--until", help="Đến hết ngày (dd/mm/yyyy) / up to and including this day")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Số dòng tối đa / most rows")] = 1000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    verify: Annotated[bool, typer.Option(
        "--verify", help="Kiểm tra toàn bộ chuỗi nhật ký / check the whole chain "
                         f"(exit {EXIT_TAMPERED} at the first broken line)")] = False,
    as_user: AsOption = None,
) -> None:
    """Nhật ký thao tác / the audit trail: who did what to which dossier, when, from where."""
    from ccdesk.i18n import fmt_date, t
    from ccdesk.services.audit import AuditFilter, AuditService

    if verify:
        verify_trail(as_user, as_json)
        return
    if not (dossier or officer or since):
        fail(t("reliability.audit.need_filter"))
    flt = AuditFilter(dossier=dossier, officer=officer,
                      since=parse_day(since, "--since") if since else None,
                      until=parse_day(until, "--until") if until else None, limit=limit)
    services = STATE.services()
    actor = acting_officer(services, as_user, "audit", bootstrap=True)
    try:
        rows = AuditService(services.ctx).trail(actor, flt)
    except CcdeskError as err:
        fail(err)
    if as_json:
        print_json([{"at": r.at_utc.isoformat() + "Z", "officer": r.officer,
                     "action": r.action, "dossier": r.dossier, "terminal": r.terminal,
                     "detail": r.detail} for r in rows])
        return
    for r in rows:
        stamp = f"{fmt_date(r.at)} {r.at.strftime('%H:%M:%S')}"
        typer.echo(f"{stamp}  {r.officer:<14} {r.action:<22} {r.dossier or '-':<28} "
                   f"{r.terminal:<18} {r.detail}".rstrip())
    if not rows:
        typer.echo(t("reliability.audit.empty"))
