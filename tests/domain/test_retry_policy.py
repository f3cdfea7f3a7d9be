"""The one retry policy (ccdesk/retry.py): full jitter within its ceiling, Retry-After honoured
and capped, a deadline respected, and a limit on attempts. Pure: nothing here sleeps."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdesk.retry import RetryPolicy

delays = st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False)


@given(base=st.floats(0.0, 100.0), cap=st.floats(0.0, 3600.0), attempt=st.integers(-5, 10_000),
       seed=st.integers(0, 2 ** 32))
def test_full_jitter_stays_between_zero_and_the_ceiling(base: float, cap: float, attempt: int,
                                                        seed: int) -> None:
    policy = RetryPolicy(base=base, cap=cap)
    rng = random.Random(seed)
    delay = policy.delay(attempt, uniform=rng.uniform)
    assert 0.0 <= delay <= policy.ceiling(attempt) <= cap
    assert policy.ceiling(attempt) == min(cap, base * 2.0 ** min(max(attempt, 0), 64))


def test_the_ceiling_doubles_until_the_cap() -> None:
    policy = RetryPolicy(base=0.5, cap=60.0)
    assert [policy.ceiling(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_the_jitter_spreads_over_the_whole_range() -> None:
    """Full jitter, not "equal jitter": waits fall anywhere from 0 to the ceiling."""
    policy = RetryPolicy(base=1.0, cap=8.0)
    rng = random.Random(5)
    waits = [policy.delay(3, uniform=rng.uniform) for _ in range(2000)]
    assert min(waits) < 0.5 and max(waits) > 7.5
    assert 3.5 < sum(waits) / len(waits) < 4.5


@given(retry_after=delays, attempt=st.integers(0, 100))
def test_retry_after_replaces_the_jitter_up_to_its_cap(retry_after: float, attempt: int) -> None:
    policy = RetryPolicy(base=0.5, cap=60.0, retry_after_cap=900.0)
    assert policy.delay(attempt, retry_after) == min(retry_after, 900.0)


@given(retry_after=st.one_of(st.none(), delays), remaining=st.floats(-10.0, 1e5),
       attempt=st.integers(0, 100))
def test_never_waits_past_the_deadline(retry_after: float | None, remaining: float,
                                       attempt: int) -> None:
    policy = RetryPolicy(base=2.0, cap=300.0)
    assert 0.0 <= policy.delay(attempt, retry_after, remaining=remaining) <= max(0.0, remaining)


@given(max_attempts=st.integers(1, 50))
def test_gives_up_after_max_attempts_failures_in_a_row(max_attempts: int) -> None:
    policy = RetryPolicy(max_attempts=max_attempts)
    assert [policy.gives_up(n) for n in range(1, max_attempts + 1)] == \
        [False] * (max_attempts - 1) + [True]


@pytest.mark.parametrize("bad", [{"base": -1.0}, {"cap": -0.1}, {"retry_after_cap": -5.0},
                                 {"max_attempts": 0}])
def test_a_policy_out_of_range_is_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)


def test_every_retry_loop_uses_the_policy() -> None:
    """The engine's exchanges, Database.write and ``sync watch`` wait what the policy says."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for path in ("sync/link.py", "ccdesk/storage/engine.py", "ccdesk/commands/sync.py"):
        text = (root / path).read_text("utf-8")
        assert "RetryPolicy" in text and ".delay(" in text, path
        assert "random.uniform" not in text and "import random" not in text, path
