"""``ccdesk serve --training``: a real textual-serve server on 127.0.0.1, fetched over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ccdesk.commands.serve import app_command


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


def test_serve_training_answers_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CCDESK_HOME": str(tmp_path), "CCDESK_LANG": "vi"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ccdesk.cli", "serve", "--training", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as reply:
            page = reply.read().decode()
        assert reply.status == 200
        assert "hộp cát đào tạo" in page  # the training title, in the page served
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_each_session_runs_a_training_sandbox() -> None:
    command = app_command(training=True, lang="en", db="/data/real.sqlite3")
    assert command.endswith("-m ccdesk.cli --training --lang en")  # never the real database
    assert app_command(training=False, lang=None, db="/data/desk.sqlite3").endswith(
        "-m ccdesk.cli --db /data/desk.sqlite3")
