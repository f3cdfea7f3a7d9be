"""First-run setup, login, and the training sandbox."""

from __future__ import annotations

import os
import pty
import select
import signal
import sqlite3
import sys
import time

from textual.widgets import Input

from ccdesk.app import DeskApp
from ccdesk.services import SYSTEM
from ccdesk.services.pins import ARGON2
from ccdesk.training import TRAINEE_PIN, TRAINEE_USERNAME, open_sandbox
from screens.home import HomeScreen
from screens.login import LoginScreen
from screens.modals.lock import LockModal
from screens.setup import SetupScreen
from screens.widgets.choice_line import ChoiceLine
from screens.widgets.chrome import TrainingBanner
from screens.widgets.field import FormField
from tests.screens.burst import burst
from tests.screens.conftest import PIN, SIZE
from tests.screens.helpers import settle, type_into


async def test_setup_fields_typed_with_enter_at_scanner_speed_land_in_place(empty_services
                                                                           ) -> None:
    """Enter moves to the next set-up field before the keys after it are handled."""
    app = DeskApp(empty_services)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, SetupScreen)
        answers = {"governing_body": "UBND XÃ AN PHÚ",
                   "unit_name": "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
                   "agency_code": "000.17.22.H56", "place_name": "An Phú"}
        await burst(pilot, *(part for value in answers.values() for part in (value, "<enter>")))
        await settle(pilot)
        for name, value in answers.items():
            assert app.screen.query_one(f"#{name}", Input).value == value


async def test_first_run_setup_then_login(production_argon2, empty_services) -> None:
    """At the desk's own argon2 costs (the rest of the suite hashes at the smallest)."""
    app = DeskApp(empty_services)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, SetupScreen)
        answers = {"governing_body": "UBND XÃ AN PHÚ",
                   "unit_name": "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
                   "agency_code": "bad code!", "place_name": "An Phú", "username": "lan",
                   "full_name": "Nguyễn Thị Lan", "pin": PIN, "pin_again": PIN}
        for name, value in answers.items():
            await type_into(pilot, f"#{name}", value)
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)  # the bad agency code is refused at its field
        assert app.screen.query_one("#field-agency_code", FormField).error_text
        await type_into(pilot, "#agency_code", "000.17.22.H56")
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        await type_into(pilot, "#pin", "9999")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert "không đúng" in app.screen.query_one("#field-pin", FormField).error_text
        await type_into(pilot, "#pin", PIN)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert app.actor is not None and app.actor.username == "lan"
    db = sqlite3.connect(empty_services.db.path)
    assert db.execute("select governing_body, agency_code, setup_done, regime from office"
                      ).fetchone() == ("UBND XÃ AN PHÚ", "000.17.22.H56", 1, "2025")
    assert db.execute("select username, role from officer").fetchall() == [("lan", "lead")]
    (stored,) = db.execute("select pin_hash from officer").fetchone()
    costs = f"$m={ARGON2['memory_cost']},t={ARGON2['time_cost']},p={ARGON2['parallelism']}$"
    assert costs in stored
    assert db.execute("select count(*) from procedure").fetchone()[0] > 5
    assert ("login.failed",) in db.execute("select action from auditlog").fetchall()


async def test_login_picks_among_officers(services) -> None:
    services.officers.add(SYSTEM, "minh", "Phạm Văn Minh", "officer", "1357")
    app = DeskApp(services)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        app.screen.query_one("#pin", Input).focus()
        await pilot.press("enter")  # PIN before choosing an officer
        await settle(pilot)
        assert app.screen.query_one("#field-username", FormField).error_text
        app.screen.query_one("#officer", ChoiceLine).value = "minh"
        await type_into(pilot, "#pin", "1357")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert app.actor.username == "minh"


async def test_training_sandbox_is_marked_and_never_synced(paths) -> None:
    sandbox = open_sandbox(paths)
    try:
        services = sandbox.services
        assert services.office.get().is_training
        app = DeskApp(services, training=True)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert app.screen.query(TrainingBanner)
            app.screen.query_one("#officer", ChoiceLine).value = TRAINEE_USERNAME
            await type_into(pilot, "#pin", TRAINEE_PIN)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, HomeScreen)
            assert app.screen.query(TrainingBanner)
            await pilot.press("f2")
            await settle(pilot)
            assert app.screen.query(TrainingBanner)
            assert app.screen.query_one("#procedure-query", Input)
        db = sqlite3.connect(services.db.path)
        assert db.execute("select count(*) from outbox").fetchone() == (0,)
        root = sandbox.root
    finally:
        sandbox.close()
    assert not root.exists()


async def test_idle_lock_needs_the_same_pin(services) -> None:
    actor = services.officers.authenticate("lan", PIN)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        services.config.idle_lock_minutes = 1
        app._last_activity -= 61  # a minute without a key
        app._check_idle()
        await pilot.pause()
        assert isinstance(app.screen, LockModal)
        await pilot.press("f2", "f1")  # nothing opens over the lock
        assert isinstance(app.screen, LockModal)
        await type_into(pilot, "#unlock-pin", "1111")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LockModal)
        await type_into(pilot, "#unlock-pin", PIN)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
    failed = sqlite3.connect(services.db.path).execute(
        "select count(*) from auditlog where action = 'login.failed'").fetchone()
    assert failed == (1,)


def test_ssh_hangup_deletes_the_training_sandbox(tmp_path) -> None:
    """A real terminal: ``ccdesk --training`` shows its banner; SIGHUP (the SSH session closed)
    ends it cleanly and its sandbox folder is gone."""
    sandboxes = tmp_path / "tmp"  # the child's TMPDIR: where its sandbox goes
    sandboxes.mkdir()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real console script in a pseudo-terminal
        os.environ.update(CCDESK_HOME=str(tmp_path), CCDESK_LANG="vi", TERM="xterm-256color",
                          TMPDIR=str(sandboxes))
        os.execv(sys.executable, [sys.executable, "-m", "ccdesk.launch", "--training"])
    screen = b""
    deadline = time.monotonic() + 30
    while "HỘP CÁT".encode() not in screen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            screen += os.read(fd, 65536)
    during = list(sandboxes.glob("ccdesk-training-*"))
    os.kill(pid, signal.SIGHUP)
    while True:  # drain the terminal so the child can finish writing
        ready, _, _ = select.select([fd], [], [], 0.2)
        try:
            if ready and os.read(fd, 65536):
                continue
        except OSError:
            pass
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            break
    os.close(fd)
    assert "HỘP CÁT".encode() in screen and b"Traceback" not in screen
    assert len(during) == 1  # this session's sandbox existed while it ran
    assert os.waitstatus_to_exitcode(status) == 0
    assert list(sandboxes.iterdir()) == []


def test_an_unexpected_error_shows_no_traceback(tmp_path) -> None:
    """A bug injected into the home screen: the officer reads one sentence naming the log; the
    traceback (redacted: no ID number) is in the log, not on the screen."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(CCDESK_HOME=str(tmp_path), CCDESK_LANG="vi", TERM="xterm-256color",
                          TMPDIR=str(tmp_path))
        code = ("import screens.home as home\n"
                "def broken(self): raise RuntimeError('Nguyễn Văn A 001085012345')\n"
                "home.HomeScreen.action_refresh = broken\n"
                "import sys; sys.argv = ['ccdesk', '--training']\n"
                "from ccdesk.launch import main; main()\n")
        os.execv(sys.executable, [sys.executable, "-c", code])
    screen, pin_sent, status = b"", False, None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        try:
            screen += os.read(fd, 65536) if ready else b""
        except OSError:
            pass
        if not pin_sent and b"PIN 0000" in screen:
            os.write(fd, b"0000\r")  # the trainee logs in; the home screen then fails
            pin_sent = True
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            break
    else:
        os.kill(pid, signal.SIGKILL)
        raise AssertionError("the desk did not exit after the error")
    os.close(fd)
    text = screen.decode("utf-8", "replace")
    log = (tmp_path / "data" / "logs" / "ccdesk.log").read_text(encoding="utf-8")
    assert os.waitstatus_to_exitcode(status) == 1
    assert "Traceback" not in text and "001085012345" not in text
    assert "Lỗi ngoài dự kiến" in text and "ccdesk.log" in text
    assert "RuntimeError" in log and "001085012345" not in log


async def test_start_up_warnings_reach_the_screen(services) -> None:
    """stderr is hidden once Textual owns the terminal: a failed daily backup is shown."""
    from ccdesk.app import DeskApp

    message = "Không ghi được bản sao lưu hằng ngày vào /khong/co"
    app = DeskApp(services, warnings=[message])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = [n.message for n in app._notifications]
        assert message in shown
