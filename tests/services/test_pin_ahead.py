"""The PIN checked while it is typed (services/pin_ahead.py): one hash at a time, the newest
value next, Enter served by exactly the value entered; the check read from the desk's file,
without the services, counting nothing."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ccdesk.domain.errors import PermissionDenied
from ccdesk.services import SYSTEM, Services
from ccdesk.services.officers import MAX_ATTEMPTS
from ccdesk.services.pin_ahead import PinAhead, verdict_from_file
from ccdesk.services.pins import PinVerdict, key_name
from ccdesk.storage.deskkey import registered_key


class SlowCheck:
    """A check that waits to be let go, and records what it hashed and how many at once."""

    def __init__(self) -> None:
        self.checked: list[str] = []
        self.release = threading.Semaphore(0)
        self.started = threading.Semaphore(0)
        self.running = self.most = 0
        self.lock = threading.Lock()

    def __call__(self, username: str, pin: str) -> PinVerdict:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.started.release()
        assert self.release.acquire(timeout=10)
        with self.lock:
            self.running -= 1
            self.checked.append(pin)
        return PinVerdict("stored", "k", pin == "24681357")


def test_the_newest_value_is_hashed_next_and_never_two_at_once() -> None:
    check = SlowCheck()
    ahead = PinAhead(check)
    ahead.typed("lan", "2468")
    assert check.started.acquire(timeout=10)       # "2468" is being hashed
    for typed in ("24681", "246813", "2468135", "24681357"):
        ahead.typed("lan", typed)                  # queued: only the newest is kept
    check.release.release()                        # "2468" done
    assert check.started.acquire(timeout=10)       # then the newest, skipping the others
    check.release.release()
    verdict = ahead.verdict("lan", "24681357")
    assert verdict == PinVerdict("stored", "k", True)
    assert check.checked == ["2468", "24681357"] and check.most == 1


def test_enter_waits_for_its_own_value_and_ignores_keys_typed_after_it() -> None:
    check = SlowCheck()
    ahead = PinAhead(check)
    ahead.typed("lan", "2468")
    assert check.started.acquire(timeout=10)
    answers: list[PinVerdict | None] = []
    enter = threading.Thread(target=lambda: answers.append(ahead.verdict("lan", "24681358")))
    enter.start()
    ahead.typed("lan", "999999")                   # after Enter: not hashed
    check.release.release()
    assert check.started.acquire(timeout=10)       # the value entered, after the one under way
    check.release.release()
    enter.join(10)
    assert answers == [PinVerdict("stored", "k", False)]
    assert check.checked == ["2468", "24681358"] and check.most == 1


def test_forget_drops_every_value_and_verdict() -> None:
    check = SlowCheck()
    ahead = PinAhead(check)
    ahead.typed("lan", "24681357")
    check.release.release()
    assert ahead.verdict("lan", "24681357") == PinVerdict("stored", "k", True)
    ahead.forget()
    assert ahead._done is None and ahead._wanted is None  # noqa: SLF001 - what is kept
    # Another officer, another value: hashed anew, never answered from before.
    check.release.release()
    assert ahead.verdict("hung", "24681357") == PinVerdict("stored", "k", True)
    assert check.checked == ["24681357", "24681357"]


def test_a_failed_check_answers_nothing_and_enter_checks_itself() -> None:
    def broken(username: str, pin: str) -> PinVerdict:
        raise OSError("database busy")

    ahead = PinAhead(broken)
    ahead.typed("lan", "24681357")
    assert ahead.verdict("lan", "24681357") is None


# ---- the check itself, read from the desk's file (verdict_from_file) -----------------------

def _files(desk: Services) -> tuple[Path, Path]:
    return desk.db.path, desk.paths.key_file


def _failures(desk: Services) -> tuple[int, int]:
    """(failed attempts of "lan", login.failed audit lines): what a check ahead never writes."""
    with sqlite3.connect(desk.db.path) as con:
        failed = con.execute("SELECT failed_attempts FROM officer WHERE username = 'lan'"
                             ).fetchone()[0]
        audited = con.execute("SELECT count(*) FROM auditlog WHERE action = 'login.failed'"
                              ).fetchone()[0]
    return failed, audited


def test_the_pin_is_checked_from_the_file_and_nothing_is_counted(desk: Services) -> None:
    right = verdict_from_file(*_files(desk), "lan", "1234")
    wrong = verdict_from_file(*_files(desk), "lan", "9999")
    assert right is not None and right.matches
    assert wrong is not None and not wrong.matches
    with sqlite3.connect(desk.db.path) as con:
        stored = con.execute("SELECT pin_hash FROM officer WHERE username = 'lan'").fetchone()[0]
    assert right.answers(stored, registered_key(str(desk.db.path)))
    assert _failures(desk) == (0, 0)
    # No hash worth computing: shorter than a lead's PIN, an unknown officer.
    assert verdict_from_file(*_files(desk), "hung", "5678") is None
    assert verdict_from_file(*_files(desk), "nobody", "1234") is None


def test_no_hash_for_a_waiting_or_disabled_officer(desk: Services) -> None:
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(PermissionDenied):
            desk.officers.authenticate("lan", "0000")
    assert verdict_from_file(*_files(desk), "lan", "1234", now=desk.ctx.now()) is None
    desk.officers.set_active(SYSTEM, "hung", False)
    assert verdict_from_file(*_files(desk), "hung", "56781234") is None


def test_enter_uses_a_verdict_only_for_the_hash_and_key_it_was_checked_with(
        desk: Services, tmp_path: Path) -> None:
    other_key = tmp_path / "other.key"
    other_key.write_bytes(b"k" * 32)  # another desk's key file
    stale = verdict_from_file(desk.db.path, other_key, "lan", "1234")
    assert stale is not None and not stale.matches
    assert desk.officers.authenticate("lan", "1234", stale).username == "lan"  # checked anew
    key = registered_key(str(desk.db.path))
    forged = PinVerdict("p1$another-hash", key_name(key), True)  # a hash since replaced
    with pytest.raises(PermissionDenied):
        desk.officers.authenticate("lan", "9999", forged)
    assert _failures(desk) == (1, 1)


def test_the_check_ahead_loads_no_orm() -> None:
    code = ("import sys, ccdesk.services.pin_ahead; "
            "print(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'pydantic', 'ccdesk.models') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
