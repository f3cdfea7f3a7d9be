"""Officers, their roles and PINs (hashed in ``services/pins.py``: argon2id, peppered with the
desk key; never stored or logged in clear).

After ``MAX_ATTEMPTS`` failed PINs an account waits, the wait doubling with each further failure.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from ccdesk.domain.errors import NotFound, PermissionDenied, ValidationError
from ccdesk.domain.validation import clean_text, normalise_phone, validate_full_name
from ccdesk.models import Officer
from ccdesk.services import pins
from ccdesk.services.context import ROLES, SYSTEM, Actor, DeskContext
from ccdesk.services.pins import PinVerdict, hash_pin, needs_rehash
from ccdesk.services.recording import audit
from ccdesk.storage.deskkey import registered_key

MAX_ATTEMPTS = 5
BASE_LOCK = timedelta(seconds=30)
MAX_LOCK = timedelta(hours=1)


def lock_delay(failed_attempts: int) -> timedelta:
    """No wait before the 5th failure; then 30 s, 60 s, 120 s … up to an hour."""
    if failed_attempts < MAX_ATTEMPTS:
        return timedelta(0)
    doublings = min(failed_attempts - MAX_ATTEMPTS, 16)  # 30 s × 2^16 is far past the cap
    return min(BASE_LOCK * 2**doublings, MAX_LOCK)


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

    def authenticate(self, username: str, pin: str, verdict: PinVerdict | None = None) -> Actor:
        """Check a PIN; count failures and make the account wait after too many. ``verdict``:
        this very PIN checked ahead (``services/pin_ahead.py``), used while the officer's hash
        and the desk key are the ones it was checked with; the counting, the wait and the audit
        line are the same."""
        now = self.ctx.now()
        key = self._key()

        def work(session: Session) -> tuple[Actor | None, Officer]:
            officer = self._get(session, username)
            if not officer.active:
                raise PermissionDenied("core.err.officer_disabled")
            if officer.locked_until and officer.locked_until > now:
                seconds = int((officer.locked_until - now).total_seconds()) + 1
                raise PermissionDenied("core.err.officer_locked", seconds=seconds)
            if verdict is not None and verdict.answers(officer.pin_hash, key):
                matches = verdict.matches
            else:
                matches = pins.verify_pin(officer.pin_hash, pin, key)
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
