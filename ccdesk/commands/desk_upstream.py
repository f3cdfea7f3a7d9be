"""``ccdesk sync upstream …`` and ``ccdesk sync forward``: a commune whose province hands it
credentials directly, and that runs no relay, forwards its own dossiers to the upstream with
the relay's forwarder over the desk's database (docs/upstream.md, "A desk without a relay").

Same flags, JSON keys and exit codes as ``district upstream …`` / ``district forward``: 0 all
delivered, 10 partial, 20 upstream unreachable, 30 auth refused, 40 dead letters need a human,
50 internal (2: bad command-line input). The password comes from ``CCDESK_UPSTREAM_PASSWORD``
or a prompt and is kept in the desk's owner-only database, never printed. Demo and training
data go only to an upstream set with ``--accept-demo`` (a double).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ccdesk.commands import upstream as shared
from ccdesk.commands.common import STATE

app = typer.Typer(help="Hệ thống cấp trên nhận trực tiếp từ bộ phận một cửa (không qua máy chủ "
                       "huyện) / the upstream this desk forwards to itself.",
                  no_args_is_help=True)
dead_app = typer.Typer(help="Hồ sơ cần người xử lý / items that need a person.")
app.add_typer(dead_app, name="dead-letter")


def _engine() -> Any:
    """The desk's database (migrated by opening it), writing with BEGIN IMMEDIATE like the
    desk itself, so the forwarder and an officer's intake queue rather than deadlock."""
    return STATE.services().ctx.db.engine.execution_options(sqlite_begin="IMMEDIATE")


def _source() -> Any:
    from sync.upstream.desk_source import DeskSource

    return DeskSource()


@app.command("set")
def set_upstream(profile: shared.ProfileOpt, url: shared.UrlOpt, unit_code: shared.UnitCodeOpt,
                 username: shared.UsernameOpt = None, accept_demo: shared.AcceptDemoOpt = False,
                 settings_file: shared.SettingsFileOpt = None,
                 client_id: shared.ClientIdOpt = None,
                 token_url: shared.TokenUrlOpt = None) -> None:
    """Đặt hệ thống cấp trên / set the upstream (password or igate client secret from
    CCDESK_UPSTREAM_PASSWORD or a prompt; kept in the desk's owner-only database, never
    printed)."""
    shared.save_upstream(_engine, profile=profile, url=url, unit_code=unit_code,
                         username=username, accept_demo=accept_demo,
                         settings_file=settings_file, client_id=client_id,
                         token_url=token_url)


def forward(once: Annotated[bool, typer.Option("--once", help="one pass, then exit")] = False,
            max_time: Annotated[float | None, typer.Option(
                "--max-time", help="seconds for the whole run", min=0.1)] = None,
            as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Chuyển hồ sơ lên cấp trên / forward this desk's dossiers to the upstream.

    Exit: 0 all delivered, 10 partial, 20 unreachable, 30 auth refused, 40 needs a person,
    50 internal."""
    shared.run_forward(_engine(), _source(), once=once, max_time=max_time, as_json=as_json)


@app.command("status")
def status_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Tình hình chuyển lên cấp trên / what is waiting, delivered and stuck."""
    shared.show_status(_engine(), as_json)


@dead_app.callback(invoke_without_command=True)
def dead_letter(ctx: typer.Context,
                as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Danh sách cần người xử lý / the dead letters (retry or drop them)."""
    if ctx.invoked_subcommand is None:
        shared.show_dead_letters(_engine(), as_json)


@dead_app.command("retry")
def retry_cmd(code: Annotated[str | None, typer.Argument(help="dossier code")] = None,
              all_: Annotated[bool, typer.Option("--all")] = False) -> None:
    """Gửi lại / send again on the next run (audited)."""
    shared.retry_letters(_engine, code, all_)


@dead_app.command("drop")
def drop_cmd(code: Annotated[str, typer.Argument(help="dossier code")],
             reason: Annotated[str, typer.Option("--reason", help="why (kept in the audit)")]
             ) -> None:
    """Bỏ, không gửi / close without sending, with a reason (audited)."""
    shared.drop_letters(_engine, _source(), code, reason)
