"""``ccdesk sync forward``: a commune without a relay forwards its own database to the upstream
with the relay's forwarder (its source is the desk's outbox), as the real CLI in a subprocess,
against the conformance double."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ccdesk.domain.lifecycle import Action
from tests.sync.helpers import Desk, make_desk
from tests.sync.upstream.double_fixtures import PASSWORD, UNIT, USER, DoubleServer, config


def cli(desk: Desk, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess:
    full = dict(os.environ, CCDESK_HOME=str(desk.root), CCDESK_LANG="en", **(env or {}))
    full.pop("CCDESK_DB", None)
    return subprocess.run([sys.executable, "-m", "ccdesk.cli", *args], env=full,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def double(tmp_path: Path) -> Iterator[DoubleServer]:
    server = DoubleServer(tmp_path / "double.sqlite3", config())
    yield server
    server.stop()


def set_upstream(desk: Desk, double: DoubleServer, *extra: str) -> None:
    done = cli(desk, "sync", "upstream", "set", "--profile", "dvcqg", "--url", double.url,
               "--unit-code", UNIT, "--username", USER, *extra,
               env={"CCDESK_UPSTREAM_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr


def logs(desk: Desk) -> str:
    return "".join(p.read_text(errors="replace") for p in desk.root.rglob("*.log"))


def test_a_desk_forwards_its_own_dossiers_once(tmp_path: Path, double: DoubleServer) -> None:
    desk = make_desk(tmp_path / "desk")
    try:
        a, b = desk.intake(2)
        desk.act(a, Action.START)
        desk.act(a, Action.MARK_READY)
        set_upstream(desk, double)
        done = cli(desk, "sync", "forward", "--once", "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        result = json.loads(done.stdout)
        assert (result["snapshots_sent"], result["steps_sent"]) == (2, 4)
        found = httpx.get(f"{double.url}/_inspect/{a}").json()
        assert found["snapshot"]["TrangThaiHoSo"] == "9"
        assert [s["TrangThai"] for s in found["steps"]] == ["2", "4", "9"]
        again = json.loads(cli(desk, "sync", "forward", "--once", "--json").stdout)
        assert (again["snapshots_sent"], again["steps_sent"], again["exit_code"]) == (0, 0, 0)
        desk.act(b, Action.MARK_READY)
        assert cli(desk, "sync", "forward", "--once").returncode == 0
        status = json.loads(cli(desk, "sync", "upstream", "status", "--json").stdout)
        assert status | {"last_success_at": None} == {
            "profile": "dvcqg", "pending": 0, "delivered": 2, "steps_sent": 5,
            "dead_letter": 0, "oldest_pending_age_s": None, "last_success_at": None,
            "last_error": None}
        stats = httpx.get(f"{double.url}/_stats").json()
        assert (stats["dossiers"], stats["steps"], stats["duplicate_steps"]) == (2, 5, 0)
        assert PASSWORD not in logs(desk)
        assert os.stat(desk.services.ctx.db.path).st_mode & 0o077 == 0
    finally:
        desk.close()


def test_demo_desks_only_forward_to_a_double(tmp_path: Path, double: DoubleServer) -> None:
    desk = make_desk(tmp_path / "desk", demo=True)
    try:
        desk.intake(1)
        set_upstream(desk, double)
        held = json.loads(cli(desk, "sync", "forward", "--once", "--json").stdout)
        assert (held["snapshots_sent"], held["demo_held"]) == (0, 1)
        assert httpx.get(f"{double.url}/_stats").json()["dossiers"] == 0
        set_upstream(desk, double, "--accept-demo")
        sent = json.loads(cli(desk, "sync", "forward", "--once", "--json").stdout)
        assert (sent["exit_code"], sent["snapshots_sent"]) == (0, 1)
    finally:
        desk.close()


def test_unreachable_upstream_is_20_and_wrong_password_is_30(tmp_path: Path,
                                                             double: DoubleServer) -> None:
    desk = make_desk(tmp_path / "desk")
    try:
        desk.intake(1)
        done = cli(desk, "sync", "upstream", "set", "--profile", "dvcqg", "--url", double.url,
                   "--unit-code", UNIT, "--username", USER,
                   env={"CCDESK_UPSTREAM_PASSWORD": "wrong-password"})
        assert done.returncode == 0, done.stderr
        assert cli(desk, "sync", "forward", "--once").returncode == 30
        double.stop()
        set_upstream(desk, double)
        assert cli(desk, "sync", "forward", "--once", "--max-time", "1").returncode == 20
    finally:
        desk.close()
