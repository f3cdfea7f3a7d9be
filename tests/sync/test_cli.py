"""The IT staff's CLI as cron runs it: real subprocesses, a real ``district serve``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest

from tests.sync.helpers import Desk, ThreadDistrict


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run(home: Path, *args: str, lang: str = "en", env: dict[str, str] | None = None) -> Ran:
    """The real ``ccdesk`` command line, in-process (a subprocess costs ~2 s of imports here;
    the kill and watch tests use real subprocesses)."""
    from typer.testing import CliRunner

    from ccdesk.cli import app
    from ccdesk.commands.common import STATE
    from ccdesk.i18n import set_language
    from ccdesk.paths import resolve_paths

    STATE.paths = resolve_paths({"CCDESK_HOME": str(home)})
    STATE.db, STATE._services = None, None
    try:
        result = CliRunner().invoke(app, list(args), env={"CCDESK_LANG": lang,
                                                          "CCDESK_HOME": str(home),
                                                          "CCDESK_DB": None, "CCDESK_USER": None,
                                                          "CCDESK_PIN": None, **(env or {})})
    finally:
        if STATE._services is not None:
            STATE._services.close()
        STATE._services = None
        set_language("vi")
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


class District:
    def __init__(self, home: Path, port: int, *extra: str) -> None:
        self.home, self.port = home, port
        env = dict(os.environ, CCDESK_HOME=str(home))
        self.proc = subprocess.Popen([sys.executable, "-m", "ccdesk.cli", "district", "serve",
                                      "--port", str(port), *extra], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/openapi.json", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(self.proc.stderr.read().decode() if self.proc.stderr else "")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def test_enrol_push_status_stats_revoke(district: ThreadDistrict, cli_desk: Desk) -> None:
    home = cli_desk.root
    cli_desk.intake(60, events=True)
    issued = run(district.home, "district", "enroll-code", "--commune", "26734")
    assert issued.returncode == 0
    code = issued.stdout.strip().splitlines()[-1]         # the code is the last line printed
    enrolled = run(home, "sync", "enroll", "--url", district.url, "--code", code)
    assert enrolled.returncode == 0, enrolled.stderr
    status = orjson.loads(run(home, "sync", "status", "--json").stdout)
    assert status["pending"] == 120 and status["commune"] == "26734"
    pushed = run(home, "sync", "push", "--json")
    assert pushed.returncode == 0, pushed.stderr
    data = orjson.loads(pushed.stdout)
    assert data["records_sent"] == 120 and 0 < data["bytes_wire"] < data["bytes_raw"]
    status = orjson.loads(run(home, "sync", "status", "--json").stdout)
    assert (status["pending"], status["acked"], status["last_error"]) == (0, 120, "")
    stats = orjson.loads(run(district.home, "district", "stats", "--json").stdout)
    assert [(s["commune"], s["dossiers"], s["events"], s["mutations"]) for s in stats] == \
        [("26734", 60, 120, 120)]
    log = orjson.loads(run(home, "sync", "log", "--json").stdout)
    assert any(r["kind"] == "batch" and r["outcome"] == "ok" for r in log)
    lines = (home / "data" / "logs" / "sync.jsonl").read_text("utf-8").splitlines()
    batches = [orjson.loads(line) for line in lines if '"batch"' in line]
    assert batches and batches[0]["batch_id"] and batches[0]["first_seq"] == 1
    assert "Đặng" not in "".join(lines) and "0912" not in "".join(lines)   # no personal data
    # The district revokes the device: the next run stops with 30 and says why, in Vietnamese.
    revoked = run(district.home, "district", "revoke", status["device_id"])
    assert revoked.returncode == 0
    cli_desk.intake(1)
    again = run(home, "sync", "run", lang="vi")
    assert again.returncode == 30
    assert "thu hồi" in again.stderr and "Traceback" not in again.stderr


def test_exit_codes_without_a_server(cli_desk: Desk, tmp_path: Path) -> None:
    home = cli_desk.root
    not_enrolled = run(home, "sync", "push")
    assert not_enrolled.returncode == 40
    assert "ccdesk sync enroll" in not_enrolled.stderr
    bad_url = run(home, "sync", "enroll", "--url", "ftp://x", "--code", "AAAA")
    assert bad_url.returncode == 2 and "https://" in bad_url.stderr
    down = run(home, "sync", "enroll", "--url", f"http://127.0.0.1:{free_port()}",
               "--code", "AAAA")
    assert down.returncode == 20 and "Traceback" not in down.stderr
    bad_resolve = run(home, "sync", "conflicts", "--resolve", "99")
    assert bad_resolve.returncode == 40 and "99" in bad_resolve.stderr
    bad_ack = tmp_path / "x.ack.json"
    bad_ack.write_text("not json")
    refused = run(home, "sync", "import-ack", str(bad_ack))
    assert refused.returncode == 40 and str(bad_ack) in refused.stderr
    assert orjson.loads(run(home, "sync", "quarantine", "--json").stdout) == []
    assert run(home, "district", "enroll-code", "--commune", "12").returncode == 2


@pytest.mark.slow  # waits for probe intervals
def test_watch_pushes_when_the_network_returns(tmp_path: Path, cli_desk: Desk) -> None:
    home = cli_desk.root
    from sync.server.store import DistrictStore, default_url
    from tests.sync.helpers import ServerThread

    # First the server in a thread, on a free port; later the real `district serve` on it.
    store = DistrictStore.open(default_url(tmp_path / "district" / "data"))
    first = ServerThread(store)
    port = first.port
    code = run(tmp_path / "district", "district", "enroll-code", "--commune",
               "26734").stdout.split()[-1]
    assert run(home, "sync", "enroll", "--url", first.url, "--code", code).returncode == 0
    doctor = orjson.loads(run(home, "sync", "doctor", "--json").stdout)
    assert doctor["cause"] == "" and doctor["exit_code"] == 0
    first.stop()
    store.engine.dispose()
    cli_desk.intake(3)
    down = run(home, "sync", "doctor", "--json")
    assert down.returncode == 20
    assert orjson.loads(down.stdout)["cause"] == "network_unavailable"
    env = dict(os.environ, CCDESK_HOME=str(home), CCDESK_LANG="en")
    watcher = subprocess.Popen([sys.executable, "-m", "ccdesk.cli", "sync", "watch",
                                "--interval", "0.2", "--until-synced", "--max-time", "60"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    time.sleep(1.5)
    assert watcher.poll() is None                          # still waiting for the network
    second = District(tmp_path / "district", port)         # the link is back
    try:
        out, _err = watcher.communicate(timeout=60)
        assert watcher.returncode == 0, out
        assert "Waiting for the network" in out and "Synced." in out
        status = orjson.loads(run(home, "sync", "status", "--json").stdout)
        assert status["acked"] == 3
    finally:
        second.stop()
