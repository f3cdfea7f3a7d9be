"""``ccdesk verify run|pending|double`` as cron and IT staff run them: the double started by its
own command on 127.0.0.1, the exit codes (0 done, 10 partial, 20 unreachable, 50 internal, 2 bad
settings), JSON for scripts, and no personal data in the output or the logs."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from ccdesk.services import Actor, Services
from tests.conftest import run_ccdesk
from tests.services.verification_kit import (
    KNOWN,
    UNKNOWN,
    intake_marked,
    national_double,
    write_people,
)

KEY = {"CCDESK_KEY_FILE": os.environ["CCDESK_KEY_FILE"]}  # the desk fixtures' key file


def ccdesk(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_ccdesk(*args, home=home, env={**KEY, **env})


def configure(home: Path, url: str, timeout: float = 2.0) -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text(
        f'[national_db]\nurl = "{url}"\ntimeout_s = {timeout}\n', encoding="utf-8")


@contextmanager
def double_command(home: Path, *extra: str) -> Iterator[str]:
    """``ccdesk verify double`` in a child process on a free port; yields its URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCDESK_")}
    env.update({"CCDESK_HOME": str(home / "double-home"), "CCDESK_LANG": "en"})
    proc = subprocess.Popen([sys.executable, "-m", "ccdesk.launch", "verify", "double",
                             "--data", str(write_people(home)), "--port", "0", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert found, line + (proc.stderr.read() if proc.poll() is not None else "")
        yield found.group(0)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_run_and_pending_through_the_double_command(desk: Services, officer: Actor,
                                                    tmp_path: Path) -> None:
    known = intake_marked(desk, officer).dossier.code
    unknown = intake_marked(desk, officer, UNKNOWN).dossier.code
    listed = ccdesk(tmp_path, "verify", "pending", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = orjson.loads(listed.stdout)["pending"]
    assert [(r["code"], r["position"], r["state"]) for r in rows] == [
        (known, 2, "pending"), (unknown, 2, "pending")]
    assert KNOWN.id_number not in listed.stdout and KNOWN.full_name not in listed.stdout
    with double_command(tmp_path) as url:
        configure(tmp_path, url)
        out = ccdesk(tmp_path, "verify", "run", "--once", "--json")
    assert out.returncode == 0, out.stderr
    result = orjson.loads(out.stdout)
    assert (result["verified"], result["not_found"], result["supplements_requested"]) == (
        1, 1, [unknown])
    human = ccdesk(tmp_path, "verify", "pending")
    assert human.returncode == 0 and "Không có mục nào chờ xác minh" in human.stdout
    # Nothing personal in any log or report the commands wrote.
    for path in tmp_path.rglob("*"):
        if path.is_file() and "sqlite3" not in path.name and path.name != "people.json" \
                and "backups" not in path.parts:
            text = path.read_bytes()
            assert KNOWN.id_number.encode() not in text, path
            assert UNKNOWN.id_number.encode() not in text, path


def test_exit_10_when_partial_and_20_when_unreachable(desk: Services, officer: Actor,
                                                      tmp_path: Path) -> None:
    intake_marked(desk, officer)
    intake_marked(desk, officer, UNKNOWN)
    with national_double(tmp_path, "fail_first=1") as (url, _):
        configure(tmp_path, url)
        # the first item gets a 503 and is backed off; the other one is answered
        out = ccdesk(tmp_path, "verify", "run", "--once", "--json")
    assert out.returncode == 10, out.stderr
    assert orjson.loads(out.stdout)["unanswered"] == 1
    intake_marked(desk, officer)                               # a new item, due at once
    gone = tmp_path / "gone"
    gone.mkdir()
    with national_double(gone) as (closed, _):
        pass                                                   # stopped: nothing listens
    configure(tmp_path, closed)
    out = ccdesk(tmp_path, "verify", "run", "--once")
    assert out.returncode == 20, out.stderr
    assert "connect" in out.stderr and "Traceback" not in out.stderr


def test_not_configured_is_a_clear_error(desk: Services, officer: Actor,
                                         tmp_path: Path) -> None:
    intake_marked(desk, officer)
    out = ccdesk(tmp_path, "verify", "run")
    assert out.returncode == 2 and "[national_db] url" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_password_file_others_can_read_is_refused(desk: Services, tmp_path: Path) -> None:
    secret = tmp_path / "national.secret"
    secret.write_text("mat-khau\n", encoding="utf-8")
    secret.chmod(0o644)
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "config.toml").write_text(
        f'[national_db]\nurl = "http://127.0.0.1:9"\nusername = "xa"\n'
        f'password_file = "{secret}"\n', encoding="utf-8")
    out = ccdesk(tmp_path, "verify", "run")
    assert out.returncode == 2 and "chmod 600" in out.stderr


def test_credentials_reach_the_double(desk: Services, officer: Actor, tmp_path: Path) -> None:
    intake_marked(desk, officer)
    secret = tmp_path / "double.secret"
    secret.write_text("mat-khau\n", encoding="utf-8")
    with double_command(tmp_path, "--username", "xa", "--password-file", str(secret)) as url:
        (tmp_path / "config").mkdir(exist_ok=True)
        (tmp_path / "config" / "config.toml").write_text(
            f'[national_db]\nurl = "{url}"\nusername = "xa"\n', encoding="utf-8")
        wrong = ccdesk(tmp_path, "verify", "run", "--once",
                       CCDESK_NATIONAL_DB_PASSWORD="sai")
        assert wrong.returncode == 20 and "auth" in wrong.stderr
        # a refused login is a transport failure: the item is backed off, not decided
        [row] = desk.verification.pending()
        assert (row.state, row.last_error) == ("pending", "auth")
        with sqlite3.connect(desk.db.path) as con:   # its next attempt comes due
            con.execute("UPDATE verification SET next_attempt_at = requested_at")
        right = ccdesk(tmp_path, "verify", "run", "--once", "--json",
                       CCDESK_NATIONAL_DB_PASSWORD="mat-khau")
    assert right.returncode == 0, right.stderr
    assert orjson.loads(right.stdout)["verified"] == 1
    assert desk.verification.pending() == []


def test_double_refuses_a_bad_data_file(tmp_path: Path) -> None:
    bad = tmp_path / "people.json"
    bad.write_text('{"people": [{"id_number": "12", "full_name": "A"}]}', encoding="utf-8")
    out = run_ccdesk("verify", "double", "--data", str(bad), "--port", "0", home=tmp_path)
    assert out.returncode == 2 and "people[0].id_number" in out.stderr
    assert "Traceback" not in out.stderr


def test_internal_error_exits_50(desk: Services, officer: Actor, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected failure inside the run: exit 50 and one line, never a traceback."""
    from ccdesk import cli
    from ccdesk.commands.common import STATE
    from ccdesk.services import verification_run

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    intake_marked(desk, officer)
    configure(tmp_path, "http://127.0.0.1:9")
    monkeypatch.setenv("CCDESK_HOME", str(tmp_path))
    monkeypatch.setattr(verification_run, "run_checks", broken)
    monkeypatch.setattr(STATE, "paths", type(STATE.paths)(
        data_dir=tmp_path / "data", config_dir=tmp_path / "config"))
    monkeypatch.setattr(STATE, "_services", None)
    try:
        out = CliRunner().invoke(cli.app, ["--db", str(desk.db.path), "verify", "run"])
    finally:
        if STATE._services is not None:
            STATE._services.close()
    assert out.exit_code == 50 and "RuntimeError" in out.output
