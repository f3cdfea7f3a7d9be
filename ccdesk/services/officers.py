"""Officers, their roles and PINs (argon2id; never stored or logged in clear).

PIN hashes are peppered with the desk key (``storage/deskkey.py``), a file outside the database:
a copied database or backup alone gives nothing to try PINs against. The hash is
``p1$<argon2id of HMAC(pepper, PIN)>``; a hash from before the pepper (plain ``$argon2id$``) or
with older costs still verifies and is replaced at that login. IT and lead PINs are longer
(docs/operations.md, "PIN policy").

After ``MAX_ATTEMPTS`` failed PINs an account waits, the wait doubling with each further failure.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from ccdesk.domain.errors import NotFound, PermissionDenied, ValidationError
from ccdesk.domain.validation import clean_text, normalise_phone, validate_full_name
from ccdesk.models import Officer
from ccdesk.services.context import ROLES, SYSTEM, Actor, DeskContext
from ccdesk.services.recording import audit
from ccdesk.storage.deskkey import derive, registered_key

MAX_ATTEMPTS = 5
BASE_LOCK = timedelta(seconds=30)
MAX_LOCK = timedelta(hours=1)
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


def lock_delay(failed_attempts: int) -> timedelta:
    """No wait before the 5th failure; then 30 s, 60 s, 120 s … up to an hour."""
    if failed_attempts < MAX_ATTEMPTS:
        return timedelta(0)
    doublings = min(failed_attempts - MAX_ATTEMPTS, 16)  # 30 s × 2^16 is far past the cap
    return min(BASE_LOCK * 2**doublings, MAX_LOCK)


@dataclass(frozen=True)
class PinVerdict:
    """Whether a PIN matches ``stored``, the officer's hash it was checked against (the desk
    checks the PIN being typed ahead of Enter: ``services/pin_ahead.py``). Valid only while the
    officer's hash is still ``stored``; it counts nothing: attempts are counted at Enter."""

    stored: str
    matches: bool


def actor_of(officer: Officer) -> Actor:
    return Actor(officer_id=officer.id, username=officer.username, role=officer.role)


class OfficerService:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    def list(self, include_inactive: bool = False) -> list[Officer]:
        with self.ctx.db.session() as session:
            query = select(Officer).order_by(Officer.full_name)
            if not include_inactive:
                query = query.where(Officer.active)
            return list(session.exec(query).all())

    def add(self, actor: Actor, username: str, full_name: str, role: str, pin: str,
            title: str = "", phone: str = "") -> Officer:
        username = clean_text(username, "username", required=True, limit=40).lower()
        if role not in ROLES:
            raise ValidationError("core.err.choice", field="role", allowed=", ".join(ROLES))
        officer = Officer(username=username, full_name=validate_full_name(full_name),
                          role=role, title=clean_text(title, "title", limit=100),
                          phone=normalise_phone(phone),
                          pin_hash=hash_pin(pin, self._key(), role))

        def work(session: Session) -> Officer:
            if actor is not SYSTEM or self._count(session) > 0:
                actor.require("officers")
            if session.exec(select(Officer).where(Officer.username == username)).first():
                raise ValidationError("core.err.username_taken", field="username")
            session.add(officer)
            session.flush()
            audit(session, self.ctx, actor, "officer.add", detail=f"officer={username} role={role}")
            return officer

        return self.ctx.db.write(work)

    def _key(self) -> bytes | None:
        return registered_key(str(self.ctx.db.path))

    def _count(self, session: Session) -> int:
        return len(session.exec(select(Officer.id)).all())

    def _get(self, session: Session, username: str) -> Officer:
        officer = session.exec(select(Officer).where(Officer.username == username)).first()
        if officer is None:
            raise NotFound("core.err.no_officer", username=username)
        return officer

    def set_active(self, actor: Actor, username: str, active: bool) -> None:
        def work(session: Session) -> None:
            actor.require("officers")
            officer = self._get(session, username)
            officer.active = active
            session.add(officer)
            audit(session, self.ctx, actor, "officer.enable" if active else "officer.disable",
                  detail=f"officer={username}")

        self.ctx.db.write(work)

    def reset_pin(self, actor: Actor, username: str, pin: str) -> None:
        with self.ctx.db.session() as session:
            role = self._get(session, username).role
        pin_hash = hash_pin(pin, self._key(), role)

        def work(session: Session) -> None:
            actor.require("officers")
            officer = self._get(session, username)
            officer.pin_hash, officer.failed_attempts, officer.locked_until = pin_hash, 0, None
            session.add(officer)
            audit(session, self.ctx, actor, "officer.reset_pin", detail=f"officer={username}")

        self.ctx.db.write(work)

    def pin_verdict(self, username: str, pin: str) -> PinVerdict | None:
        """Check ``pin`` against the officer's hash without counting anything, ahead of Enter
        (``services/pin_ahead.py``); ``None`` for a PIN shorter than the officer's role allows
        (no hash is worth computing), an unknown, disabled or waiting officer."""
        with self.ctx.db.session() as session:
            officer = session.exec(select(Officer).where(Officer.username == username)).first()
            if officer is None or not officer.active or is_locked(officer, self.ctx.now()):
                return None
            stored, role = officer.pin_hash, officer.role
        if len(pin) < MIN_PIN_BY_ROLE.get(role, MIN_PIN):
            return None
        return PinVerdict(stored, verify_pin(stored, pin, self._key()))

    def authenticate(self, username: str, pin: str, verdict: PinVerdict | None = None) -> Actor:
        """Check a PIN; count failures and make the account wait after too many. ``verdict``:
        this very PIN checked ahead (``pin_verdict``), used while the officer's hash is the one
        it was checked against; the counting, the wait and the audit line are the same."""
        now = self.ctx.now()
        key = self._key()

        def work(session: Session) -> tuple[Actor | None, Officer]:
            officer = self._get(session, username)
            if not officer.active:
                raise PermissionDenied("core.err.officer_disabled")
            if officer.locked_until and officer.locked_until > now:
                seconds = int((officer.locked_until - now).total_seconds()) + 1
                raise PermissionDenied("core.err.officer_locked", seconds=seconds)
            if verdict is not None and verdict.stored == officer.pin_hash:
                matches = verdict.matches
            else:
                matches = verify_pin(officer.pin_hash, pin, key)
            if not matches:
                officer.failed_attempts += 1
                delay = lock_delay(officer.failed_attempts)
                officer.locked_until = now + delay if delay else None
                session.add(officer)
                audit(session, self.ctx, actor_of(officer), "login.failed")
                return None, officer
            officer.failed_attempts, officer.locked_until = 0, None
            if needs_rehash(officer.pin_hash, key):  # pepper and today's costs, from now on
                officer.pin_hash = hash_pin(pin, key)
            session.add(officer)
            audit(session, self.ctx, actor_of(officer), "login")
            return actor_of(officer), officer

        actor, officer = self.ctx.db.write(work)
        if actor is None:
            left = max(0, MAX_ATTEMPTS - officer.failed_attempts)
            raise PermissionDenied("core.err.bad_pin", left=left)
        return actor

    def verify_pin(self, actor: Actor, pin: str) -> bool:
        """Unlock an idle screen: the same checks and counting as a login."""
        try:
            return self.authenticate(actor.username, pin).officer_id == actor.officer_id
        except PermissionDenied:
            return False

    def lock_wait(self, username: str) -> timedelta:
        with self.ctx.db.session() as session:
            officer = self._get(session, username)
        if officer.locked_until is None:
            return timedelta(0)
        return max(timedelta(0), officer.locked_until - self.ctx.now())


def is_locked(officer: Officer, now: datetime) -> bool:
    return bool(officer.locked_until and officer.locked_until > now)
