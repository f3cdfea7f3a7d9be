"""``ccdesk district double``: the conformance double of the upstream (the province's TTHC
system / the national portal's adapter), for IT staff to rehearse the forwarder against and for
the tests. docs/upstream-double.md: how to run it, its rules and the fault syntax."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from ccdesk.commands.common import STATE, fail, requires_extra
from ccdesk.commands.secrets import read_secret_file
from ccdesk.i18n import t

PROFILES = ("dvcqg", "facade", "igate")
UNIT_CODE = re.compile(r"[A-Za-z0-9.]{1,40}")
DURATION = re.compile(r"(\d+(?:\.\d+)?)([smh]?)")


def double(
    profile: Annotated[str, typer.Option("--profile", help="dvcqg | facade | igate")] = "dvcqg",
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8710,
    unit_code: Annotated[str, typer.Option("--unit-code", help="e.g. 000.17.22.H56")] = "",
    username: Annotated[str, typer.Option("--username")] = "",
    password_file: Annotated[Path | None, typer.Option(
        "--password-file", help="a file whose first line is the password")] = None,
    faults: Annotated[str | None, typer.Option(
        "--faults", help="e.g. latency=5@0.1,http500=0.05,429=0.05,seed=7")] = None,
    verified_only: Annotated[bool, typer.Option(
        "--verified-only", help="only the rules read in a primary text or seen in 2+ clients")
    ] = False,
    db: Annotated[Path | None, typer.Option("--db", help="SQLite file of what it stored")] = None,
    session_lifetime: Annotated[str, typer.Option(
        "--session-lifetime", help="e.g. 30m, 600s")] = "30m",
    max_steps: Annotated[int, typer.Option("--max-steps", min=1, max=1000,
                                           help="steps per CapNhatTienDoHoSoMC call")] = 10,
    disable_rule: Annotated[list[str] | None, typer.Option(
        "--disable-rule", help="switch one rule off by name (repeatable)")] = None,
    client_id: Annotated[str, typer.Option(
        "--client-id", help="igate: the OAuth2 client id (the secret: --password-file)")] = "",
) -> None:
    """Giả lập hệ thống cấp trên để diễn tập / run the upstream conformance double."""
    if profile not in PROFILES:
        fail(t("sync.double.bad_profile", profile=profile, allowed=", ".join(PROFILES)))
    if not UNIT_CODE.fullmatch(unit_code):
        fail(t("sync.double.bad_unit_code"))
    # igate: the client id (--client-id, or --username) and its secret (--password-file),
    # with --session-lifetime the tokens' lifetime.
    username = client_id or username
    if profile in ("dvcqg", "igate") and (not username or password_file is None):
        fail(t("sync.double.no_credentials"))
    password = read_secret_file(password_file) if password_file is not None else ""
    lifetime = _seconds(session_lifetime)
    from sync.upstream.double.rules import RULES

    unknown = sorted(set(disable_rule or ()) - set(RULES))
    if unknown:
        fail(t("sync.double.bad_rule", rules=", ".join(unknown), allowed=", ".join(RULES)))
    with requires_extra("server"):
        import uvicorn  # noqa: F401 - checked here: serve.run needs it

        from sync.upstream.double.app import DoubleConfig, create_app
        from sync.upstream.double.faults import FaultSpecError, parse_faults
        from sync.upstream.double.serve import run
        from sync.upstream.double.store import DoubleStore

    try:
        spec = parse_faults(faults)
    except FaultSpecError as exc:
        fail(t("sync.double.bad_faults", detail=str(exc)))
    path = (db or STATE.paths.data_dir / "upstream-double.sqlite3").expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        store = DoubleStore(path)
    except Exception as exc:  # noqa: BLE001 - an unusable file: say which, no traceback
        fail(t("sync.double.bad_db", db=path, reason=type(exc).__name__))
    config = DoubleConfig(unit_code=unit_code, username=username, password=password,
                          profile=profile, session_lifetime_s=lifetime,
                          verified_only=verified_only, faults=spec, max_steps=max_steps,
                          disabled_rules=frozenset(disable_rule or ()))
    typer.echo(t("sync.double.serving", host=host, port=port, profile=profile, db=path))
    if not _loopback(host):
        # /_inspect shows what was rehearsed with, without a password: say so loudly.
        typer.echo(t("sync.double.exposed", host=host), err=True)
    if verified_only:
        typer.echo(t("sync.double.verified_only"))
    if spec.active():
        typer.echo(t("sync.double.faults_on", faults=faults))
    run(create_app(config, store), host, port)


def _loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _seconds(text: str) -> float:
    match = DURATION.fullmatch(text.strip())
    if match is None or float(match.group(1)) <= 0:
        fail(t("sync.double.bad_duration", value=text))
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]
