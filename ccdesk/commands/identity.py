"""Who runs a CLI command: ``--as USERNAME`` (or ``CCDESK_USER``) with the officer's PIN.

The PIN comes from ``CCDESK_PIN`` (scripts) or a hidden prompt (a person at a terminal); it goes
through the same argon2 check, failure counting and lockout as the desk's login, and the login is
audited with the terminal (tty or SSH client address).

Bootstrap: while the database has no active IT officer, commands that need the ``officers``
permission run as the system account, so IT can enrol the first officer. Once an IT officer
exists, they need ``--as``.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from ccdesk.commands.common import fail
from ccdesk.domain.errors import CcdeskError

if TYPE_CHECKING:
    from ccdesk.services import Services
    from ccdesk.services.context import Actor

log = logging.getLogger(__name__)

AsOption = Annotated[str | None, typer.Option(
    "--as", envvar="CCDESK_USER", show_envvar=True,
    help="Tên đăng nhập cán bộ (PIN: CCDESK_PIN hoặc nhập khi được hỏi) / officer username")]


def read_secret(env_name: str, prompt: str, *, confirm: bool = False) -> str:
    """A PIN from ``env_name`` or, at a terminal, a hidden prompt; never echoed or logged."""
    from ccdesk.i18n import t

    value = os.environ.get(env_name)
    if value:
        return value
    if not sys.stdin.isatty():
        fail(t("reliability.auth.pin_needed", env=env_name))
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)


def has_active_it_officer(services: Services) -> bool:
    return any(o.role == "it" for o in services.officers.list())


def acting_officer(services: Services, username: str | None, permission: str, *,
                   bootstrap: bool = False, system_ok: bool = False) -> Actor:
    """The officer a command acts as, checked for ``permission``; exits with a clear refusal.

    ``system_ok``: the command may run unattended (cron) as the system account without ``--as``.
    ``bootstrap``: it may run without ``--as`` while no active IT officer exists.
    """
    from ccdesk.i18n import t
    from ccdesk.services.context import SYSTEM
    from ccdesk.services.recording import audit

    if username is None:
        if system_ok or (bootstrap and not has_active_it_officer(services)):
            return SYSTEM
        fail(t("reliability.auth.as_required", permission=permission))
    pin = read_secret("CCDESK_PIN", t("reliability.auth.pin_prompt", username=username))
    try:
        actor = services.officers.authenticate(username.strip().lower(), pin)
    except CcdeskError as err:  # wrong PIN, locked, disabled: already in the audit trail
        _refuse(username, permission, err)
    try:
        actor.require(permission, training=services.office.get().is_training)
    except CcdeskError as err:
        # A logged-in officer trying something beyond their role is worth an audit line.
        services.db.write(lambda session: audit(session, services.ctx, actor,
                                                "command.refused",
                                                detail=f"permission={permission}"))
        _refuse(username, permission, err)
    return actor


def _refuse(username: str, permission: str, err: CcdeskError) -> NoReturn:
    from ccdesk.i18n import t

    log.warning("command refused", extra={"username": username, "permission": permission,
                                           "reason": err.key})
    fail(t("reliability.auth.refused", reason=err.message()))
