"""``ccdesk district serve`` as a real child process on 127.0.0.1 (``--workers N`` too), which a
test may ``kill -9`` (its whole process group: the uvicorn supervisor and its workers, as
systemd's control-group kill does) and start again on the same port and database.
bench/relay_load.py and bench/forward_faults.py use it as well."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from sync import protocol


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, CCDESK_HOME=str(home), CCDESK_LANG="en")
    for name in ("CCDESK_DISTRICT_DB", "CCDESK_SYNC_CRASH_AT"):
        env.pop(name, None)
    return env | extra


class RelayProcess:
    """One relay child process; :meth:`start` waits until it answers."""

    def __init__(self, home: Path, db_url: str, *, workers: int = 1,
                 extra: tuple[str, ...] = (), port: int | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.home, self.db_url, self.workers, self.extra = home, db_url, workers, extra
        self.env = env or {}
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = home / f"relay-{self.port}.log"
        home.mkdir(parents=True, exist_ok=True)
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        command = [sys.executable, "-m", "ccdesk.cli", "district", "serve", "--host",
                   "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers),
                   *self.extra]
        # The URL travels in the environment (it may carry a password: never in argv).
        env = cli_env(self.home, CCDESK_DISTRICT_DB=self.db_url, **self.env)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(command, env=env, stdout=log, stderr=log,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"relay exited {self.proc.returncode}: {self.output()[-2000:]}")
            if self.answers():
                return
            time.sleep(0.05)
        raise TimeoutError(f"relay did not answer: {self.output()[-2000:]}")

    def answers(self) -> bool:
        try:
            httpx.get(f"{self.url}{protocol.API_PREFIX}/hello", timeout=1)
        except httpx.HTTPError:
            return False
        return True

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill9(self) -> None:
        """SIGKILL the relay's process group (supervisor and every worker) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._gone()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._gone()

    def _gone(self) -> None:
        """Wait until no worker of the group still holds the port."""
        if self.proc is None:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)
