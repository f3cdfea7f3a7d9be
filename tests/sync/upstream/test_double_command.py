"""``ccdesk district double`` as IT staff run it: it starts and answers on 127.0.0.1, keeps
what it stored across a kill -9, refuses bad flags clearly, and logs no personal data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.sync.helpers import free_socket
from tests.sync.upstream.double_fixtures import CODE, PASSWORD, UNIT, USER, snapshot

NAME = "Trần Thị Bích Ngọc"


def start(tmp_path: Path, db: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    secret = tmp_path / "password.txt"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "CCDESK_HOME": str(tmp_path / "home"), "CCDESK_LANG": "vi",
           "CCDESK_LOG_LEVEL": "INFO"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccdesk.launch", "district", "double", "--profile", "dvcqg",
         "--host", "127.0.0.1", "--port", str(port), "--unit-code", UNIT, "--username", USER,
         "--password-file", str(secret), "--db", str(db), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/_stats", timeout=1)
            return proc, url
        except httpx.TransportError:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode()) from None
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the double did not answer within 30 s")


def call(url: str, session: str, service: str, **body: object) -> dict[str, object]:
    return httpx.post(url + "/integration", json={"session": session, "madonvi": UNIT,
                                                  "service": service, **body}).json()


def login(url: str) -> str:
    return httpx.post(url + "/auth", json={"username": USER, "password": PASSWORD}).json()[
        "session"]


def test_command_serves_and_survives_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "double.sqlite3"
    proc, url = start(tmp_path, db, "--verified-only")
    try:
        session = login(url)
        assert call(url, session, "DongBoHoSoMC", isUpdating="False",
                    data=[snapshot()])["error_code"] == "0"
        # a hypothesis ([I]) is off with --verified-only: a foreign prefix passes
        assert call(url, session, "DongBoHoSoMC", isUpdating="False",
                    data=[snapshot("000.99.99.H99-260105-0001")])["error_code"] == "0"
        rejected = call(url, session, "DongBoHoSoMC", isUpdating="False",
                        data=[snapshot(f"{UNIT}-260105-0003", SoCMND="001185012345")])
        assert rejected["rule"] == "no_cmnd_field"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    out = proc.stdout.read().decode() + proc.stderr.read().decode()
    assert f"127.0.0.1:{url.rsplit(':', 1)[1]}" in out
    assert "Cảnh báo" not in out                            # 127.0.0.1: no exposure warning
    assert "rule no_cmnd_field at data[0].SoCMND" in out    # the reject is logged…
    assert NAME not in out and "001185012345" not in out   # …without its personal data
    proc, url = start(tmp_path, db)
    try:
        assert httpx.get(f"{url}/_inspect/{CODE}").json()["snapshot"]["ChuHoSo"] == NAME
        stats = httpx.get(url + "/_stats").json()
        assert (stats["dossiers"], stats["rejected"]) == (2, 1)
        assert call(url, "old-session", "TraCuuHoSo", MaHoSo=CODE)["error_code"] == "401"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(("flags", "expected"), [
    (["--faults", "http500=7"], "--faults"),
    (["--profile", "lgsp"], "lgsp"),
    (["--session-lifetime", "soon"], "soon"),
    (["--disable-rule", "no_such_rule"], "no_such_rule"),
])
def test_command_refuses_bad_flags(tmp_path: Path, flags: list[str], expected: str) -> None:
    secret = tmp_path / "pw"
    secret.write_text("x", encoding="utf-8")
    env = {**os.environ, "CCDESK_HOME": str(tmp_path / "home"), "CCDESK_LANG": "vi"}
    done = subprocess.run(
        [sys.executable, "-m", "ccdesk.launch", "district", "double", "--unit-code", UNIT,
         "--username", USER, "--password-file", str(secret), *flags],
        capture_output=True, env=env, timeout=60)
    assert done.returncode == 2
    err = done.stderr.decode()
    assert expected in err and "Traceback" not in err


@pytest.mark.parametrize("missing", ["uvicorn", "fastapi"])
def test_command_names_the_missing_server_extra(tmp_path: Path, missing: str) -> None:
    from tests.conftest import run_ccdesk

    secret = tmp_path / "pw"
    secret.write_text("x", encoding="utf-8")
    out = run_ccdesk("district", "double", "--unit-code", UNIT, "--username", USER,
                     "--password-file", str(secret), "--port", "1", home=tmp_path, lang="en",
                     without=(missing,))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert 'pip install "ccdesk[server]"' in out.stderr and out.stdout == ""
