"""The one retry policy: exponential back-off with full jitter, ``Retry-After`` honoured, and
a limit on attempts (docs/sync.md, "Client behaviour").

Full jitter (Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015): the
delay before retry ``n`` is uniform in ``[0, min(cap, base * 2**n)]``, which spreads the
retries of many desks coming back after an outage instead of letting them hit the district in
step. A server's ``Retry-After`` replaces the jittered delay (up to ``retry_after_cap``).

Pure: :meth:`RetryPolicy.delay` only computes. Callers sleep, so each can bound the wait by its
own deadline and tests can run without waiting. No imports beyond the standard library: the
storage layer's write retry uses it too.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

# 2**64 seconds is far beyond any cap: larger exponents only risk float overflow.
_MAX_EXPONENT = 64


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait before retry ``attempt`` (1 = the first retry), and when to give up."""

    base: float = 0.5                 # seconds; the first retry waits up to 2 * base
    cap: float = 60.0                 # the longest jittered wait
    retry_after_cap: float = 900.0    # the longest wait a server's Retry-After may ask for
    max_attempts: int = 8             # failures in a row before giving up

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0 or self.retry_after_cap < 0 or self.max_attempts < 1:
            raise ValueError("retry policy: delays must be >= 0 and max_attempts >= 1")

    def ceiling(self, attempt: int) -> float:
        """The longest jittered wait before retry ``attempt``."""
        exponent = min(max(attempt, 0), _MAX_EXPONENT)
        return min(self.cap, self.base * float(2 ** exponent))

    def delay(self, attempt: int, retry_after: float | None = None, *,
              remaining: float | None = None,
              uniform: Callable[[float, float], float] = random.uniform) -> float:
        """Seconds to wait before retry ``attempt``: the server's ``retry_after`` when given
        (capped), else full jitter; never more than ``remaining`` (a run's time limit)."""
        if retry_after is not None and retry_after >= 0:
            wait = min(retry_after, self.retry_after_cap)
        else:
            wait = uniform(0.0, self.ceiling(attempt))
        if remaining is not None:
            wait = min(wait, max(0.0, remaining))
        return wait

    def gives_up(self, attempt: int) -> bool:
        """True when ``attempt`` failures in a row are as many as the policy allows."""
        return attempt >= self.max_attempts
