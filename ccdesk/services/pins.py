"""PIN hashing: argon2id, peppered with the desk key (never stored or logged in clear).

Apart from the officers' service so that it can be used before the ORM is loaded: the desk checks
the PIN being typed behind its login screen while the services are still opening
(``services/pin_ahead.py``). Imports nothing heavier than the desk key's module; argon2 itself is
imported on first use.

PIN hashes are peppered with the desk key (``storage/deskkey.py``), a file outside the database:
a copied database or backup alone gives nothing to try PINs against. The hash is
``p1$<argon2id of HMAC(pepper, PIN)>``; a hash from before the pepper (plain ``$argon2id$``) or
with older costs still verifies and is replaced at that login. IT and lead PINs are longer
(docs/operations.md, "PIN policy").
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from ccdesk.domain.errors import ValidationError
from ccdesk.storage.deskkey import derive, key_id

MIN_PIN, MAX_PIN = 4, 64
# Shortest PIN per role. IT and leads can manage officers, backups, sync, the catalogue or sign
# extensions, and a stolen desk (database + key file) lets an attacker try PINs offline:
# 8 digits at ARGON2's cost is years of one core, 4 digits is minutes (bench/pin_hash.py).
MIN_PIN_BY_ROLE = {"it": 8, "lead": 8, "officer": MIN_PIN, "trainer": MIN_PIN}
# argon2id costs: twice argon2-cffi's default memory (128 MiB instead of 64; memory is what a
# GPU attacker pays for), same passes and lanes. bench/pin_hash.py measures ms per login on
# the desk's slowest machine; docs/operations.md, "PIN policy", has the figures.
ARGON2 = {"time_cost": 3, "memory_cost": 131_072, "parallelism": 4}
PEPPERED = "p1"  # followed by the argon2 string: "p1$argon2id$v=19$..."
_costs: dict[str, int] = ARGON2  # what new hashes use and older ones are compared with


def use_costs(costs: dict[str, int] | None) -> None:
    """Hash at ``costs`` instead of :data:`ARGON2` in this process (``None``: ARGON2 again).

    Only the test suite calls this (tests/conftest.py): its fixtures create and log in hundreds
    of officers, each paying ARGON2's 128 MiB, and a few tests switch back to check ARGON2 and
    the login at it. The desk never calls it; no setting or variable reaches it. A hash stored
    at other costs still verifies (argon2 keeps its costs in the hash) and the next right PIN
    stores it again at the costs in use, as after a change of ARGON2 (docs/operations.md)."""
    global _costs
    _costs = ARGON2 if costs is None else dict(costs)


def _hasher():  # noqa: ANN202 - argon2.PasswordHasher, imported lazily (start-up time)
    from argon2 import PasswordHasher

    return PasswordHasher(**_costs)


def load_hasher() -> None:
    """Import argon2 ahead of the first PIN check (the desk does it behind its login screen)."""
    _hasher()


def _peppered(pin: str, key: bytes) -> str:
    return hmac.new(derive(key, "pin-pepper"), pin.encode(), hashlib.sha256).hexdigest()


def check_pin(pin: str, role: str | None = None) -> None:
    """Refuse a PIN too short for ``role`` (or too long, or not digits-and-letters only)."""
    low = MIN_PIN_BY_ROLE.get(role or "", MIN_PIN)
    if not (low <= len(pin) <= MAX_PIN):
        raise ValidationError("core.err.pin_length", field="pin", low=low, high=MAX_PIN)


def hash_pin(pin: str, key: bytes | None = None, role: str | None = None) -> str:
    """The stored form of ``pin``: peppered with ``key`` when the desk has one."""
    check_pin(pin, role)
    if key is None:
        return _hasher().hash(pin)
    return PEPPERED + _hasher().hash(_peppered(pin, key))


def verify_pin(stored: str, pin: str, key: bytes | None) -> bool:
    """Whether ``pin`` matches ``stored`` (peppered or from before the pepper)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        if stored.startswith(PEPPERED):
            if key is None:
                return False
            return _hasher().verify(stored[len(PEPPERED):], _peppered(pin, key))
        return _hasher().verify(stored, pin)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str, key: bytes | None) -> bool:
    """A hash without the pepper (when there is a key) or with older argon2 costs."""
    if key is not None and not stored.startswith(PEPPERED):
        return True
    return _hasher().check_needs_rehash(stored.removeprefix(PEPPERED))


def key_name(key: bytes | None) -> str:
    """Which desk key a PIN was checked with (its public id; "" for none)."""
    return key_id(key) if key is not None else ""


@dataclass(frozen=True)
class PinVerdict:
    """Whether a PIN matches ``stored``, the officer's hash it was checked against with the desk
    key named ``key`` (``key_name``): the desk checks the PIN being typed ahead of Enter
    (``services/pin_ahead.py``). Valid only while the officer's hash is still ``stored`` and the
    desk's key is that one; it counts nothing: attempts are counted at Enter."""

    stored: str
    key: str
    matches: bool

    def answers(self, stored: str, key: bytes | None) -> bool:
        """Whether this verdict holds for the hash ``stored`` checked with ``key``."""
        return self.stored == stored and self.key == key_name(key)
