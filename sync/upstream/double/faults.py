"""Faults on demand: ``--faults "latency=5@0.1,http500=0.05,reset_after_store=0.05,
session_expiry=30s,exists=0.02,partial=0.05,429=0.05,reject=0.01,seed=7"``.

Each entry is ``name=value``; a bare number is the probability per call (0…1). ``latency``
takes ``SECONDS@PROBABILITY``; ``session_expiry`` takes either a lifetime (``30s``, ``2m``: every
session dies that long after it was issued, whatever the normal lifetime) or a probability (a
session is dropped before the call is read); ``retry_after`` is the 429's Retry-After seconds
(default 1); ``seed`` makes a run reproducible. docs/upstream-double.md has the table."""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field

# "401": the igate mode refuses a live token once (revoked upstream): the client renews it.
PROBABILITY_FAULTS = ("http500", "reset_after_store", "exists", "partial", "429", "reject",
                      "401")
NAMES = (*PROBABILITY_FAULTS, "latency", "session_expiry", "retry_after", "seed")


class FaultSpecError(ValueError):
    """A --faults entry the double does not understand; the message names it."""


@dataclass
class FaultSpec:
    latency_s: float = 0.0
    latency_p: float = 0.0
    session_lifetime_s: float | None = None
    session_drop_p: float = 0.0
    retry_after_s: int = 1
    seed: int | None = None
    chances: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def roll(self, name: str, probability: float | None = None) -> bool:
        """True when fault ``name`` fires on this call (seeded: a run replays the same way)."""
        chance = self.chances.get(name, 0.0) if probability is None else probability
        if chance <= 0:
            return False
        with self._lock:
            return self._random.random() < chance

    def latency(self) -> float:
        return self.latency_s if self.roll("latency", self.latency_p) else 0.0

    def active(self) -> bool:
        return bool(self.latency_p or self.session_lifetime_s is not None
                    or self.session_drop_p or any(self.chances.values()))


def parse_faults(spec: str | None) -> FaultSpec:
    """Parse ``spec`` or raise :class:`FaultSpecError` naming the bad entry."""
    if not spec or not spec.strip():
        return FaultSpec()
    options: dict[str, object] = {"chances": {}}
    for entry in (e.strip() for e in spec.split(",")):
        if not entry:
            continue
        name, sep, value = entry.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or name not in NAMES:
            raise FaultSpecError(f"{entry!r}: expected NAME=VALUE, NAME one of {', '.join(NAMES)}")
        if name == "latency":
            seconds, at, chance = value.partition("@")
            options["latency_s"] = _number(entry, seconds, 0, 3600)
            options["latency_p"] = _chance(entry, chance) if at else 1.0
        elif name == "session_expiry":
            if re.fullmatch(r"\d+(\.\d+)?[smh]", value):
                options["session_lifetime_s"] = _duration(entry, value)
            else:
                options["session_drop_p"] = _chance(entry, value)
        elif name == "retry_after":
            options["retry_after_s"] = int(_number(entry, value, 0, 86400))
        elif name == "seed":
            options["seed"] = int(_number(entry, value, 0, 2**63))
        else:
            options["chances"][name] = _chance(entry, value)  # type: ignore[index]
    return FaultSpec(**options)  # type: ignore[arg-type]


def _number(entry: str, value: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise FaultSpecError(f"{entry!r}: {value!r} is not a number") from None
    if not low <= number <= high:
        raise FaultSpecError(f"{entry!r}: {value} is outside {low}…{high}")
    return number


def _chance(entry: str, value: str) -> float:
    return _number(entry, value, 0, 1)


def _duration(entry: str, value: str) -> float:
    unit = {"s": 1, "m": 60, "h": 3600}[value[-1]]
    return _number(entry, value[:-1], 0.001, 86400) * unit
