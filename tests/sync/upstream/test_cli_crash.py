"""The operator's commands as real subprocesses, and ``kill -9`` of the forwarder between
"sent" and "recorded" (the crash points of sync/upstream/groups.py and one_dossier.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from ccdesk.domain.lifecycle import Action
from tests.sync.helpers import Desk, ServerThread
from tests.sync.upstream.conftest import push
from tests.sync.upstream.fake_upstream import FakeUpstream


def cli(home: Path, *args: str, env: dict[str, str] | None = None,
        stdin: str | None = None) -> subprocess.CompletedProcess:
    full = dict(os.environ, CCDESK_HOME=str(home), CCDESK_LANG="en", **(env or {}))
    full.pop("CCDESK_DISTRICT_DB", None)
    if "CCDESK_SYNC_CRASH_AT" not in (env or {}):
        full.pop("CCDESK_SYNC_CRASH_AT", None)
    return subprocess.run([sys.executable, "-m", "ccdesk.cli", *args], env=full, input=stdin,
                          capture_output=True, text=True, timeout=120)


def db_url(relay: ServerThread) -> str:
    return str(relay.store.engine.url)


def set_upstream(tmp_path: Path, relay: ServerThread, fake: FakeUpstream) -> None:
    done = cli(tmp_path, "district", "upstream", "set", "--profile", "dvcqg", "--url",
               fake.url, "--unit-code", "000.17.22.H56", "--username", "xa-anphu",
               "--db", db_url(relay), env={"CCDESK_UPSTREAM_PASSWORD": "secret"})
    assert done.returncode == 0, done.stderr
    assert "secret" not in done.stdout + done.stderr


@pytest.mark.slow
def test_kill_between_sending_steps_and_recording_them_sends_no_step_twice(
        tmp_path: Path, desk: Desk, relay: ServerThread, fake: FakeUpstream) -> None:
    (code,) = desk.intake(1)
    desk.act(code, Action.START)
    push(desk)
    set_upstream(tmp_path, relay, fake)

    crashed = cli(tmp_path, "district", "forward", "--once", "--db", db_url(relay),
                  env={"CCDESK_SYNC_CRASH_AT": "upstream_after_send"})
    assert crashed.returncode == -signal.SIGKILL
    assert len(fake.step_keys(code)) == 2          # the upstream has them; we did not record it

    held = cli(tmp_path, "district", "forward", "--once", "--json", "--db", db_url(relay))
    assert held.returncode == 40, held.stderr
    assert len(fake.step_keys(code)) == 2          # not sent again
    letters = orjson.loads(cli(tmp_path, "district", "upstream", "dead-letter", "--json",
                               "--db", db_url(relay)).stdout)
    assert [(d["dossier_code"], d["reason_code"]) for d in letters] == [(code, "in_doubt")]

    # The person sees both steps upstream, and drops the item with a reason.
    dropped = cli(tmp_path, "district", "upstream", "dead-letter", "drop", code, "--reason",
                  "both steps seen on the provincial system", "--db", db_url(relay))
    assert dropped.returncode == 0, dropped.stderr
    desk.act(code, Action.MARK_READY)
    push(desk)
    done = cli(tmp_path, "district", "forward", "--once", "--json", "--db", db_url(relay))
    assert done.returncode == 0, done.stderr
    assert [k[1] for k in fake.step_keys(code)] == ["2", "4", "9"]
    status = orjson.loads(cli(tmp_path, "district", "upstream", "status", "--json", "--db",
                              db_url(relay)).stdout)
    assert set(status) == {"profile", "pending", "delivered", "steps_sent", "dead_letter",
                           "oldest_pending_age_s", "last_success_at", "last_error"}
    assert (status["steps_sent"], status["dead_letter"], status["pending"]) == (3, 0, 0)


@pytest.mark.slow
def test_retry_of_an_in_doubt_step_the_upstream_never_got_sends_it_once(
        tmp_path: Path, desk: Desk, relay: ServerThread, fake: FakeUpstream) -> None:
    (code,) = desk.intake(1)
    push(desk)
    set_upstream(tmp_path, relay, fake)
    crashed = cli(tmp_path, "district", "forward", "--once", "--db", db_url(relay),
                  env={"CCDESK_SYNC_CRASH_AT": "upstream_after_send"})
    assert crashed.returncode == -signal.SIGKILL
    fake.steps.clear()   # as if the upstream had lost it: the person finds nothing there
    assert cli(tmp_path, "district", "forward", "--once", "--db",
               db_url(relay)).returncode == 40
    retried = cli(tmp_path, "district", "upstream", "dead-letter", "retry", "--all", "--db",
                  db_url(relay))
    assert retried.returncode == 0, retried.stderr
    assert cli(tmp_path, "district", "forward", "--once", "--db",
               db_url(relay)).returncode == 0
    assert len(fake.step_keys(code)) == 1


@pytest.mark.slow
def test_kill_after_a_create_is_sent_updates_instead_of_creating_twice(
        tmp_path: Path, desk: Desk, relay: ServerThread, fake: FakeUpstream) -> None:
    (code,) = desk.intake(1)
    push(desk)
    set_upstream(tmp_path, relay, fake)
    crashed = cli(tmp_path, "district", "forward", "--once", "--db", db_url(relay),
                  env={"CCDESK_SYNC_CRASH_AT": "upstream_after_snapshot"})
    assert crashed.returncode == -signal.SIGKILL
    assert fake.creates[code] == 1 and fake.steps == []
    fake.script.forget_known = True   # even an upstream that would not say "đã tồn tại"
    done = cli(tmp_path, "district", "forward", "--once", "--db", db_url(relay))
    assert done.returncode == 0, done.stderr
    assert (fake.creates[code], fake.updates[code]) == (1, 1)   # TraCuuHoSo said it exists
    assert len(fake.step_keys(code)) == 1


def test_commands_fail_clearly(tmp_path: Path, relay: ServerThread) -> None:
    unset = cli(tmp_path, "district", "forward", "--once", "--db", db_url(relay))
    assert unset.returncode == 2 and "upstream set" in unset.stderr
    plain = cli(tmp_path, "district", "upstream", "set", "--profile", "dvcqg", "--url",
                "http://upstream.example.vn", "--unit-code", "X", "--username", "u",
                "--db", db_url(relay), env={"CCDESK_UPSTREAM_PASSWORD": "p"})
    assert plain.returncode == 2 and "https://" in plain.stderr
    wrong = cli(tmp_path, "district", "upstream", "set", "--profile", "lgsp", "--url",
                "https://a.vn", "--unit-code", "X", "--username", "u", "--db", db_url(relay),
                env={"CCDESK_UPSTREAM_PASSWORD": "p"})
    assert wrong.returncode == 2 and "dvcqg" in wrong.stderr
    neither = cli(tmp_path, "district", "upstream", "dead-letter", "retry", "--db",
                  db_url(relay))
    assert neither.returncode == 2 and "--all" in neither.stderr


@pytest.mark.slow
def test_kill_9_against_the_double_is_settled_from_its_step_list(
        tmp_path: Path, desk: Desk, relay: ServerThread) -> None:
    """Where TraCuuHoSo lists the dossier's steps (the double does; the real one may not), the
    in-doubt batch is settled without a person: found upstream, so never sent again."""
    import httpx

    from tests.sync.upstream.double_fixtures import PASSWORD, UNIT, USER, DoubleServer

    double = DoubleServer(tmp_path / "double.sqlite3")
    try:
        (code,) = desk.intake(1)
        desk.act(code, Action.START)
        push(desk)
        done = cli(tmp_path, "district", "upstream", "set", "--profile", "dvcqg", "--url",
                   double.url, "--unit-code", UNIT, "--username", USER, "--db", db_url(relay),
                   env={"CCDESK_UPSTREAM_PASSWORD": PASSWORD})
        assert done.returncode == 0, done.stderr
        crashed = cli(tmp_path, "district", "forward", "--once", "--db", db_url(relay),
                      env={"CCDESK_SYNC_CRASH_AT": "upstream_after_send"})
        assert crashed.returncode == -signal.SIGKILL
        again = cli(tmp_path, "district", "forward", "--once", "--json", "--db", db_url(relay))
        assert again.returncode == 0, again.stdout + again.stderr
        found = httpx.get(f"{double.url}/_inspect/{code}").json()
        assert [s["TrangThai"] for s in found["steps"]] == ["2", "4"]
        assert httpx.get(f"{double.url}/_stats").json()["duplicate_steps"] == 0
        status = orjson.loads(cli(tmp_path, "district", "upstream", "status", "--json", "--db",
                                  db_url(relay)).stdout)
        assert (status["steps_sent"], status["dead_letter"]) == (2, 0)
    finally:
        double.stop()


@pytest.mark.slow
def test_group_commit_kill_mid_group_settles_from_the_look_up(
        tmp_path: Path, relay: ServerThread) -> None:
    """``group_commit``: a whole group is marked ``sending`` in one commit; a kill -9 after its
    first call leaves it all in doubt, and the double's TraCuuHoSo (which lists the steps)
    settles it: every dossier once, every step once, no dead letter."""
    import httpx

    from tests.sync.upstream.conftest import enrolled_desk
    from tests.sync.upstream.double_fixtures import PASSWORD, UNIT, USER, DoubleServer, config

    desk = enrolled_desk(tmp_path / "desk2", relay)
    double = DoubleServer(tmp_path / "double.sqlite3", config())
    try:
        codes = desk.intake(6, events=True)
        push(desk)
        (tmp_path / "settings.toml").write_text(
            "group_commit = true\nsnapshot_batch = 10\nsteps_batch = 4\n")
        done = cli(tmp_path, "district", "upstream", "set", "--profile", "dvcqg", "--url",
                   double.url, "--unit-code", UNIT, "--username", USER, "--db", db_url(relay),
                   "--settings-file", str(tmp_path / "settings.toml"),
                   env={"CCDESK_UPSTREAM_PASSWORD": PASSWORD})
        assert done.returncode == 0, done.stderr
        crashed = cli(tmp_path, "district", "forward", "--once", "--db", db_url(relay),
                      env={"CCDESK_SYNC_CRASH_AT": "upstream_after_send"})
        assert crashed.returncode == -signal.SIGKILL
        again = cli(tmp_path, "district", "forward", "--once", "--db", db_url(relay))
        assert again.returncode == 0, again.stdout + again.stderr
        stats = httpx.get(double.url + "/_stats").json()
        assert (stats["dossiers"], stats["duplicate_steps"], stats["rejected"]) == (6, 0, 0)
        assert stats["steps"] == len(relay.store.mutation_ids()) == 12
        for code in codes:
            steps = httpx.get(f"{double.url}/_inspect/{code}").json()["steps"]
            assert [s["TrangThai"] for s in steps] == ["2", "4"]
    finally:
        double.stop()
        desk.close()
