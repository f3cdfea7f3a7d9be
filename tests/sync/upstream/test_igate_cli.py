"""The igate profile as IT staff run it, every process real: ``ccdesk district double
--profile igate``, ``district upstream set --profile igate --client-id …`` (the secret from the
environment, never printed), and ``district forward`` killed with SIGKILL between "created
upstream" and "recorded the minted code": the next run finds the dossier by our reference and
creates nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import select

from ccdesk.domain.lifecycle import Action
from sync.upstream.igate_codes import MINTED
from sync.upstream.tables import CONFIG
from tests.sync.helpers import Desk, ServerThread, free_socket
from tests.sync.upstream.conftest import push
from tests.sync.upstream.double_fixtures import PASSWORD, UNIT, USER
from tests.sync.upstream.test_cli_crash import cli, db_url


@pytest.fixture
def double(tmp_path: Path) -> Iterator[str]:
    secret = tmp_path / "client-secret.txt"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "CCDESK_HOME": str(tmp_path / "double-home"), "CCDESK_LANG": "en"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccdesk.launch", "district", "double", "--profile", "igate",
         "--host", "127.0.0.1", "--port", str(port), "--unit-code", UNIT, "--client-id", USER,
         "--password-file", str(secret), "--db", str(tmp_path / "double.sqlite3")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/_stats", timeout=1)
            break
        except httpx.TransportError:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode()) from None
            time.sleep(0.1)
    try:
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        out = proc.stdout.read().decode() + proc.stderr.read().decode()   # type: ignore[union-attr]
        assert PASSWORD not in out


def set_igate(tmp_path: Path, relay: ServerThread, url: str, *extra: str
              ) -> subprocess.CompletedProcess:
    return cli(tmp_path, "district", "upstream", "set", "--profile", "igate", "--url", url,
               "--unit-code", UNIT, "--db", db_url(relay), *extra,
               env={"CCDESK_UPSTREAM_PASSWORD": PASSWORD})


def test_upstream_set_takes_a_client_id_and_keeps_the_flags_of_the_others(
        tmp_path: Path, relay: ServerThread, double: str) -> None:
    missing = set_igate(tmp_path, relay, double)
    assert missing.returncode == 2 and "--client-id" in missing.stderr
    wrong = cli(tmp_path, "district", "upstream", "set", "--profile", "dvcqg", "--url", double,
                "--unit-code", UNIT, "--client-id", USER, "--db", db_url(relay),
                env={"CCDESK_UPSTREAM_PASSWORD": PASSWORD})
    assert wrong.returncode == 2                  # dvcqg still needs --username
    done = set_igate(tmp_path, relay, double, "--client-id", USER, "--token-url",
                     double + "/oauth/token")
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    with relay.store.engine.connect() as conn:
        row = conn.execute(select(CONFIG)).mappings().one()
    assert (row["profile"], row["username"], row["password"]) == ("igate", USER, PASSWORD)
    assert orjson.loads(row["settings"]) == {"token_url": double + "/oauth/token"}


@pytest.mark.slow
def test_kill_9_between_create_and_recording_the_code_creates_no_duplicate(
        tmp_path: Path, desk: Desk, relay: ServerThread, double: str) -> None:
    (code,) = desk.intake(1)
    desk.act(code, Action.START)
    push(desk)
    assert set_igate(tmp_path, relay, double, "--client-id", USER).returncode == 0

    crashed = cli(tmp_path, "district", "forward", "--once", "--db", db_url(relay),
                  env={"CCDESK_SYNC_CRASH_AT": "igate_after_create"})
    assert crashed.returncode == -signal.SIGKILL
    upstream = httpx.get(f"{double}/_inspect/{code}").json()
    assert len(upstream["minted_codes"]) == 1            # created upstream …
    with relay.store.engine.connect() as conn:
        assert conn.execute(select(MINTED)).all() == []  # … and not recorded here

    again = cli(tmp_path, "district", "forward", "--once", "--json", "--db", db_url(relay))
    assert again.returncode == 0, again.stdout + again.stderr
    upstream = httpx.get(f"{double}/_inspect/{code}").json()
    assert len(upstream["minted_codes"]) == 1
    assert [v["isUpdating"] for v in upstream["snapshots"]] == ["False", "True"]
    assert [s["TrangThai"] for s in upstream["steps"]] == ["2", "4"]
    with relay.store.engine.connect() as conn:
        assert dict(conn.execute(select(MINTED.c.code, MINTED.c.upstream_code)).all()) == {
            code: upstream["MaHoSo"]}
    stats = httpx.get(f"{double}/_stats").json()
    assert stats["igate"]["duplicate_creates"] == 0 and stats["duplicate_steps"] == 0


def test_a_desk_forwarding_itself_keeps_the_minted_codes_in_its_own_database(
        tmp_path: Path) -> None:
    """``ccdesk sync upstream set --profile igate`` and ``sync forward``: the codes the
    upstream mints live in the desk's database (migration 0028_igate_codes)."""
    from sqlalchemy import create_engine

    from tests.sync.helpers import make_desk
    from tests.sync.upstream.double_fixtures import DoubleServer, config
    from tests.sync.upstream.test_desk_forward import cli as desk_cli

    server = DoubleServer(tmp_path / "double.sqlite3", config(profile="igate"))
    desk = make_desk(tmp_path / "desk")
    try:
        (code,) = desk.intake(1)
        desk.act(code, Action.START)
        done = desk_cli(desk, "sync", "upstream", "set", "--profile", "igate", "--url",
                        server.url, "--unit-code", UNIT, "--client-id", USER,
                        env={"CCDESK_UPSTREAM_PASSWORD": PASSWORD})
        assert done.returncode == 0, done.stderr
        forwarded = desk_cli(desk, "sync", "forward", "--once", "--json")
        assert forwarded.returncode == 0, forwarded.stdout + forwarded.stderr
        assert orjson.loads(forwarded.stdout)["steps_sent"] == 2
        upstream = httpx.get(f"{server.url}/_inspect/{code}").json()
        assert [s["TrangThai"] for s in upstream["steps"]] == ["2", "4"]
        engine = create_engine(f"sqlite:///{desk.services.ctx.db.path}")
        try:
            with engine.connect() as conn:
                kept = dict(conn.execute(select(MINTED.c.code, MINTED.c.upstream_code)).all())
        finally:
            engine.dispose()
        assert kept == {code: upstream["MaHoSo"]} and upstream["MaHoSo"] != code
    finally:
        desk.close()
        server.stop()
