"""``ccdesk officer add|list|disable|enable|reset-pin``: officer accounts, for IT staff.

Every change needs an IT officer (``--as``), except enrolling the first one. New PINs come from
``CCDESK_NEW_PIN`` or a hidden prompt asked twice; they are stored only as argon2 hashes.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ccdesk.commands.common import STATE, fail, print_json
from ccdesk.commands.identity import AsOption, acting_officer, read_secret
from ccdesk.domain.errors import CcdeskError

app = typer.Typer(help="Cán bộ và vai trò / officers and roles.", no_args_is_help=True)

UsernameArg = Annotated[str, typer.Argument(help="Tên đăng nhập / username")]


def _new_pin(username: str) -> str:
    from ccdesk.i18n import t

    return read_secret("CCDESK_NEW_PIN", t("reliability.officer.new_pin_prompt",
                                           username=username), confirm=True)


@app.command("add")
def add(
    username: UsernameArg,
    name: Annotated[str, typer.Option("--name", help="Họ và tên / full name")],
    role: Annotated[str, typer.Option("--role", help="officer | lead | it | trainer")],
    title: Annotated[str, typer.Option("--title", help="Chức danh / title")] = "",
    phone: Annotated[str, typer.Option("--phone", help="Điện thoại / phone")] = "",
    as_user: AsOption = None,
) -> None:
    """Enrol an officer (the first IT officer needs no --as)."""
    from ccdesk.i18n import t

    services = STATE.services()
    actor = acting_officer(services, as_user, "officers", bootstrap=True)
    try:
        officer = services.officers.add(actor, username, name, role, _new_pin(username),
                                        title=title, phone=phone)
    except CcdeskError as err:
        fail(err)
    typer.echo(t("reliability.officer.added", username=officer.username, role=officer.role))


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Cả tài khoản đã khóa / include disabled")]
    = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    as_user: AsOption = None,
) -> None:
    """Officers with their role and state."""
    from ccdesk.i18n import t

    services = STATE.services()
    acting_officer(services, as_user, "officers", bootstrap=True)
    officers = services.officers.list(include_inactive=all_)
    if as_json:
        print_json([{"username": o.username, "full_name": o.full_name, "role": o.role,
                     "title": o.title, "active": o.active,
                     "locked": bool(o.locked_until and o.locked_until > services.ctx.now()),
                     "failed_attempts": o.failed_attempts} for o in officers])
        return
    for o in officers:
        state = t("reliability.officer.active" if o.active else "reliability.officer.disabled")
        typer.echo(f"{o.username:<16} {o.role:<8} {state:<10} {o.full_name}")
    if not officers:
        typer.echo(t("reliability.officer.none"))


def _set_active(username: str, as_user: str | None, active: bool) -> None:
    from ccdesk.i18n import t

    services = STATE.services()
    actor = acting_officer(services, as_user, "officers", bootstrap=True)
    try:
        services.officers.set_active(actor, username.strip().lower(), active)
    except CcdeskError as err:
        fail(err)
    key = "reliability.officer.enabled_done" if active else "reliability.officer.disabled_done"
    typer.echo(t(key, username=username))


@app.command("disable")
def disable(username: UsernameArg, as_user: AsOption = None) -> None:
    """Disable an account (it can no longer log in; its history stays)."""
    _set_active(username, as_user, False)


@app.command("enable")
def enable(username: UsernameArg, as_user: AsOption = None) -> None:
    """Enable a disabled account again."""
    _set_active(username, as_user, True)


@app.command("reset-pin")
def reset_pin(username: UsernameArg, as_user: AsOption = None) -> None:
    """Set a new PIN and clear the failed-attempt count and lock."""
    from ccdesk.i18n import t

    services = STATE.services()
    actor = acting_officer(services, as_user, "officers", bootstrap=True)
    try:
        services.officers.reset_pin(actor, username.strip().lower(), _new_pin(username))
    except CcdeskError as err:
        fail(err)
    typer.echo(t("reliability.officer.pin_reset", username=username))
