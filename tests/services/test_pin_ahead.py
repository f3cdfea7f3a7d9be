"""The PIN checked while it is typed (services/pin_ahead.py): one hash at a time, the newest
value next, Enter served by exactly the value entered."""

from __future__ import annotations

import threading

from ccdesk.services.officers import PinVerdict
from ccdesk.services.pin_ahead import PinAhead


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
        return PinVerdict("stored", pin == "24681357")


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
    assert verdict == PinVerdict("stored", True)
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
    assert answers == [PinVerdict("stored", False)]
    assert check.checked == ["2468", "24681358"] and check.most == 1


def test_forget_drops_every_value_and_verdict() -> None:
    check = SlowCheck()
    ahead = PinAhead(check)
    ahead.typed("lan", "24681357")
    check.release.release()
    assert ahead.verdict("lan", "24681357") == PinVerdict("stored", True)
    ahead.forget()
    assert ahead._done is None and ahead._wanted is None  # noqa: SLF001 - what is kept
    # Another officer, another value: hashed anew, never answered from before.
    check.release.release()
    assert ahead.verdict("hung", "24681357") == PinVerdict("stored", True)
    assert check.checked == ["24681357", "24681357"]


def test_a_failed_check_answers_nothing_and_enter_checks_itself() -> None:
    def broken(username: str, pin: str) -> PinVerdict:
        raise OSError("database busy")

    ahead = PinAhead(broken)
    ahead.typed("lan", "24681357")
    assert ahead.verdict("lan", "24681357") is None
