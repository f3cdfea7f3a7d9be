"""``ccdesk district upstream …`` and ``ccdesk district forward``: the relay's forwarder to the
province's upstream (docs/upstream.md). Names, flags, JSON keys and exit codes are a contract.

Exit codes of ``forward``: 0 all delivered, 10 partial, 20 upstream unreachable, 30 auth
refused, 40 dead letters need a human, 50 internal (2: bad command-line input).
"""

from __future__ import annotations

import os
import sys
import tomllib
from ipaddress import ip_address
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from ccdesk.commands.common import fail, print_json
from ccdesk.commands.district import DbFileOpt, DbOpt, _store
from ccdesk.i18n import t

app = typer.Typer(help="Hệ thống cấp trên (tỉnh, Cổng DVCQG) / the upstream the relay forwards "
                       "to.", no_args_is_help=True)
dead_app = typer.Typer(help="Hồ sơ cần người xử lý / items that need a person.")
app.add_typer(dead_app, name="dead-letter")

PASSWORD_ENV = "CCDESK_UPSTREAM_PASSWORD"
EXIT_INTERNAL = 50


def _engine(db: str | None, db_file: Path | None) -> Any:
    return _store(db, db_file).engine


def _config(engine: Any) -> Any:
    from sync.upstream.config import NotConfigured, load_config
    from sync.upstream.profiles import ProfileError

    try:
        return load_config(engine)
    except NotConfigured:
        fail(t("sync.upstream.not_configured"))
    except ProfileError as exc:
        fail(t("sync.upstream.bad_profile", reason=str(exc)))


def _check_url(url: str) -> str:
    """https, or plain http only to this machine (the password travels in the body)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    loopback = host == "localhost"
    try:
        loopback = loopback or ip_address(host).is_loopback
    except ValueError:
        pass
    if parts.scheme not in ("http", "https") or not host \
            or (parts.scheme == "http" and not loopback):
        fail(t("sync.upstream.bad_url", url=url))
    return url


# The options of `upstream set`, the same for the relay (`district upstream set`) and for a desk
# without a relay (`sync upstream set`): the names are a contract IT staff scripts rely on.
ProfileOpt = Annotated[str, typer.Option("--profile", help="dvcqg | facade | igate")]
UrlOpt = Annotated[str, typer.Option("--url", help="https://… of the adapter or façade")]
UnitCodeOpt = Annotated[str, typer.Option("--unit-code", help="mã đơn vị (madonvi)")]
UsernameOpt = Annotated[str | None, typer.Option("--username", help="dvcqg, facade")]
# igate (OAuth2 client credentials): the client id; the secret comes like a password.
ClientIdOpt = Annotated[str | None, typer.Option("--client-id", help="igate: OAuth2 client id")]
TokenUrlOpt = Annotated[str | None, typer.Option(
    "--token-url", help="igate: the token endpoint, when not {url}/oauth/token")]
AcceptDemoOpt = Annotated[bool, typer.Option(
    "--accept-demo", help="this upstream is a double: demo dossiers may go to it")]
SettingsFileOpt = Annotated[Path | None, typer.Option(
    "--settings-file", help="TOML: version and profile settings (docs/upstream.md)")]


@app.command("set")
def set_upstream(profile: ProfileOpt, url: UrlOpt, unit_code: UnitCodeOpt,
                 username: UsernameOpt = None, db: DbOpt = None, db_file: DbFileOpt = None,
                 accept_demo: AcceptDemoOpt = False, settings_file: SettingsFileOpt = None,
                 client_id: ClientIdOpt = None, token_url: TokenUrlOpt = None) -> None:
    """Đặt hệ thống cấp trên / set the upstream (password or igate client secret from
    CCDESK_UPSTREAM_PASSWORD or a prompt; kept in the relay's owner-only database, never
    printed)."""
    save_upstream(lambda: _engine(db, db_file), profile=profile, url=url, unit_code=unit_code,
                  username=username, accept_demo=accept_demo, settings_file=settings_file,
                  client_id=client_id, token_url=token_url)


def save_upstream(engine_of: Any, *, profile: str, url: str, unit_code: str,
                  username: str | None, accept_demo: bool, settings_file: Path | None,
                  client_id: str | None = None, token_url: str | None = None) -> None:
    """``upstream set`` on the database ``engine_of()`` opens (the relay's or the desk's)."""
    from sync.upstream.config import save_config
    from sync.upstream.profiles import IGATE, PROFILE_NAMES, ProfileError

    if profile not in PROFILE_NAMES:
        fail(t("sync.upstream.bad_profile", reason=f"--profile {profile}: "
               f"{' | '.join(PROFILE_NAMES)}"))
    _check_url(url)
    # igate logs in with an OAuth2 client id (kept where the others keep the user name).
    account, option = (client_id, "--client-id") if profile == IGATE \
        else (username, "--username")
    if not unit_code.strip() or not (account or "").strip():
        fail(t("sync.upstream.required", option=f"--unit-code / {option}"))
    if client_id is not None and profile != IGATE:
        fail(t("sync.upstream.bad_profile", reason="--client-id: igate only"))
    username = (account or "").strip()
    settings = _read_settings(settings_file) if settings_file else {}
    if token_url:
        if profile != IGATE:
            fail(t("sync.upstream.bad_profile", reason="--token-url: igate only"))
        settings["token_url"] = _check_url(token_url)
    version = str(settings.pop("version", "2023"))
    password = os.environ.get(PASSWORD_ENV) or typer.prompt(
        t("sync.upstream.password_prompt"), hide_input=True, err=True)
    engine = engine_of()
    try:
        save_config(engine, profile=profile, url=url, unit_code=unit_code.strip(),
                    username=username.strip(), password=password, accept_demo=accept_demo,
                    version=version, settings=settings)
    except ProfileError as exc:
        fail(t("sync.upstream.bad_profile", reason=str(exc)))
    typer.echo(t("sync.upstream.saved", profile=profile, url=url, unit=unit_code,
                 demo=t("sync.upstream.demo_yes" if accept_demo else "sync.upstream.demo_no")))


def _read_settings(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        fail(t("sync.upstream.bad_settings", file=path, reason=str(exc)[:200]))
    return dict(data)


def forward(once: Annotated[bool, typer.Option("--once", help="one pass, then exit")] = False,
            max_time: Annotated[float | None, typer.Option(
                "--max-time", help="seconds for the whole run", min=0.1)] = None,
            as_json: Annotated[bool, typer.Option("--json")] = False,
            db: DbOpt = None,
            db_file: DbFileOpt = None) -> None:
    """Chuyển hồ sơ lên cấp trên / forward the relay's dossiers to the upstream.

    Exit: 0 all delivered, 10 partial, 20 unreachable, 30 auth refused, 40 needs a person,
    50 internal."""
    store = _store(db, db_file)
    run_forward(store.engine, None, once=once, max_time=max_time, as_json=as_json,
                files_dir=store.files_dir)


def run_forward(engine: Any, source: Any, *, once: bool, max_time: float | None,
                as_json: bool, files_dir: Path | None = None) -> None:
    """One forwarder run over ``engine`` reading ``source`` (None: the relay's); exits with
    its code. ``files_dir``: the relay's scans (the igate profile uploads them)."""
    from sync.upstream.forwarder import Forwarder
    from sync.upstream.transports import make_transport

    config = _config(engine)
    # The igate profile keeps the codes the upstream mints in this database.
    transport = make_transport(config.profile, config.creds, engine=engine,
                               files_dir=files_dir)
    runner = Forwarder(engine, config, transport=transport) if source is None \
        else Forwarder(engine, config, transport=transport, source=source)
    try:
        result = runner.run(once=once, max_time=max_time)
    except Exception as exc:  # noqa: BLE001 - exit 50 with the class only (no personal data)
        sys.stderr.write(t("sync.upstream.internal", error=type(exc).__name__) + "\n")
        raise typer.Exit(EXIT_INTERNAL) from None
    finally:
        runner.close()
    if as_json:
        print_json(result.to_json())
    else:
        typer.echo(t("sync.upstream.forwarded", snapshots=result.snapshots_sent,
                     steps=result.steps_sent, pending=result.pending,
                     dead=result.dead_letter))
        if result.error:
            typer.echo(t("sync.upstream.stopped", error=result.error), err=True)
    raise typer.Exit(result.exit_code)


@app.command("status")
def status_cmd(as_json: Annotated[bool, typer.Option("--json")] = False,
               db: DbOpt = None, db_file: DbFileOpt = None) -> None:
    """Tình hình chuyển lên cấp trên / what is waiting, delivered and stuck."""
    show_status(_engine(db, db_file), as_json)


def show_status(engine: Any, as_json: bool) -> None:
    from sync.upstream.status import status

    data = status(engine)
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        typer.echo(f"{t(f'sync.upstream.key_{key}')}: {'' if value is None else value}")


@dead_app.callback(invoke_without_command=True)
def dead_letter(ctx: typer.Context,
                as_json: Annotated[bool, typer.Option("--json")] = False,
                db: DbOpt = None, db_file: DbFileOpt = None) -> None:
    """Danh sách cần người xử lý / the dead letters (retry or drop them)."""
    if ctx.invoked_subcommand is not None:
        return
    show_dead_letters(_engine(db, db_file), as_json)


def show_dead_letters(engine: Any, as_json: bool) -> None:
    from sync.upstream.dead_letters import dead_letters

    rows = dead_letters(engine)
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo(t("sync.upstream.no_dead"))
    for row in rows:
        typer.echo(t("sync.upstream.dead_row", code=row["dossier_code"], kind=row["kind"],
                     reason=row["reason_code"], message=row["message"],
                     at=row["created_at"]))


@dead_app.command("retry")
def retry_cmd(code: Annotated[str | None, typer.Argument(help="dossier code")] = None,
              all_: Annotated[bool, typer.Option("--all")] = False,
              db: DbOpt = None, db_file: DbFileOpt = None) -> None:
    """Gửi lại / send again on the next run (audited)."""
    retry_letters(lambda: _engine(db, db_file), code, all_)


def retry_letters(engine_of: Any, code: str | None, all_: bool) -> None:
    from sync.upstream.dead_letters import retry

    if (code is None) == (not all_) or (code is not None and all_):
        fail(t("sync.upstream.code_or_all"))
    count = retry(engine_of(), None if all_ else code)
    if count == 0:
        fail(t("sync.upstream.no_dead_for", code=code or "--all"))
    typer.echo(t("sync.upstream.retried", count=count))


@dead_app.command("drop")
def drop_cmd(code: Annotated[str, typer.Argument(help="dossier code")],
             reason: Annotated[str, typer.Option("--reason", help="why (kept in the audit)")],
             db: DbOpt = None, db_file: DbFileOpt = None) -> None:
    """Bỏ, không gửi / close without sending, with a reason (audited)."""
    drop_letters(lambda: _engine(db, db_file), None, code, reason)


def drop_letters(engine_of: Any, source: Any, code: str, reason: str) -> None:
    from sync.upstream.dead_letters import drop, snapshot_hash

    if not reason.strip():
        fail(t("sync.upstream.required", option="--reason"))
    engine = engine_of()
    current = snapshot_hash(_config(engine)) if source is None \
        else snapshot_hash(_config(engine), source)
    count = drop(engine, code, reason.strip(), current)
    if count == 0:
        fail(t("sync.upstream.no_dead_for", code=code))
    typer.echo(t("sync.upstream.dropped", count=count, code=code))
