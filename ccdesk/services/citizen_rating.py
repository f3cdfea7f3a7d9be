"""The citizen rates, not the officer (docs/tui.md, "The citizen rates").

When a result is handed back the desk opens one *rating request* for that dossier: a row with a
random one-time token and an expiry. The rating page (``ccdesk serve --rating``, another process
on the same database) shows the open request's procedure name and nothing else about the
dossier; its answer must carry the token, so a page cannot rate any other dossier, and the token
is spent by the first answer. The desk polls for the answer until its wait ends, then closes the
request and the officer's own 1/2/3 is the fallback (recorded with ``source = officer``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from ccdesk.domain.errors import ValidationError
from ccdesk.domain.lifecycle import Status
from ccdesk.domain.vocabulary import RatingLevel, RatingSource
from ccdesk.models import Dossier, Officer, Procedure, ProcedureVersion, Rating, RatingRequest
from ccdesk.services.context import Actor, DeskContext
from ccdesk.services.dossiers import DossierService

TOKEN_BYTES = 24          # 32 characters of URL-safe base64
MAX_TOKEN = 64            # longer than any token issued: anything longer is refused unread
MAX_WAIT_SECONDS = 600    # no question stays open longer than this


def parse_wait_seconds(text: str) -> int:
    """The officer's ``citizen_rating_seconds`` from the settings screen: whole seconds from 0
    (never wait, ask the officer at once) to :data:`MAX_WAIT_SECONDS`."""
    value = text.strip()
    if not value.isdigit() or int(value) > MAX_WAIT_SECONDS:
        raise ValidationError("core.err.range", field="citizen_rating_seconds", low=0,
                              high=MAX_WAIT_SECONDS)
    return int(value)


@dataclass(frozen=True)
class Question:
    """What the rating page may show: the procedure's name and the token to answer with."""

    token: str
    procedure_name: str
    expires_at: datetime


@dataclass(frozen=True)
class Asked:
    """The request the desk opened: its id (to poll and close) and the token (keypad answers)."""

    request_id: int
    token: str


class CitizenRatingService:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx
        self.dossiers = DossierService(ctx)

    def ask(self, actor: Actor, code: str, seconds: int) -> Asked:
        """Open the question for the returned dossier ``code`` (closing any other still open:
        the desk asks one citizen at a time)."""
        wait = timedelta(seconds=max(1, min(seconds, MAX_WAIT_SECONDS)))

        def work(session: Session) -> Asked:
            dossier = session.exec(select(Dossier).where(Dossier.code == code.strip())).first()
            if dossier is None or dossier.status != Status.RETURNED.value:
                raise ValidationError("core.err.rate_not_returned", field="rating")
            if session.get(Rating, dossier.id) is not None:
                raise ValidationError("core.err.rated_already", field="rating")
            now = self.ctx.now()
            _close_open(session, now)
            request = RatingRequest(dossier_id=dossier.id or 0,
                                    token=secrets.token_urlsafe(TOKEN_BYTES),
                                    officer_id=actor.officer_id, created_at=now,
                                    expires_at=now + wait)
            session.add(request)
            session.flush()
            return Asked(request.id or 0, request.token)

        return self.ctx.db.write(work)

    def question(self) -> Question | None:
        """The open, unexpired question, if any (what the rating page shows)."""
        now = self.ctx.now()
        with self.ctx.db.session() as session:
            found = session.exec(
                select(RatingRequest, Dossier)
                .join(Dossier, col(Dossier.id) == RatingRequest.dossier_id)
                .where(col(RatingRequest.closed_at).is_(None),
                       RatingRequest.expires_at > now)
                .order_by(col(RatingRequest.id).desc()).limit(1)).first()
            if found is None:
                return None
            request, dossier = found
            version = session.get(ProcedureVersion, dossier.procedure_version_id)
            name = version.name if version else (
                session.get(Procedure, dossier.procedure_code) or Procedure(code="", name="",
                                                                            field="")).name
            return Question(request.token, name, request.expires_at)

    def answer(self, token: str, level: str,
               source: RatingSource = RatingSource.CITIZEN) -> None:
        """The citizen's answer to the open question whose token is ``token``."""
        if level not in RatingLevel.values():
            raise ValidationError("rating.err.level", field="rating")
        if not token or len(token) > MAX_TOKEN:
            raise ValidationError("rating.err.token", field="token")

        def work(session: Session) -> None:
            now = self.ctx.now()
            request = session.exec(select(RatingRequest).where(
                RatingRequest.token == token)).first()
            if request is None or request.closed_at is not None or request.expires_at <= now:
                raise ValidationError("rating.err.token", field="token")
            request.closed_at = now
            session.add(request)
            dossier = session.get(Dossier, request.dossier_id)
            assert dossier is not None
            self.dossiers.record_rating(session, _officer_actor(session, request), dossier,
                                        level, source)

        self.ctx.db.write(work)

    def close(self, request_id: int) -> Rating | None:
        """Stop waiting: close the request; the rating when the citizen answered first."""
        def work(session: Session) -> Rating | None:
            request = session.get(RatingRequest, request_id)
            if request is None:
                return None
            if request.closed_at is None:
                request.closed_at = self.ctx.now()
                session.add(request)
            rating = session.get(Rating, request.dossier_id)
            if rating is not None:
                session.expunge(rating)
            return rating

        return self.ctx.db.write(work)

    def answered(self, request_id: int) -> Rating | None:
        """The dossier's rating once the citizen has answered (the desk polls this)."""
        with self.ctx.db.session() as session:
            request = session.get(RatingRequest, request_id)
            if request is None:
                return None
            rating = session.get(Rating, request.dossier_id)
            if rating is not None:
                session.expunge(rating)
            return rating


def _close_open(session: Session, now: datetime) -> None:
    for request in session.exec(select(RatingRequest).where(
            col(RatingRequest.closed_at).is_(None))).all():
        request.closed_at = now
        session.add(request)


def _officer_actor(session: Session, request: RatingRequest) -> Actor:
    """The officer who handed the result back: the rating is about their handling."""
    officer = session.get(Officer, request.officer_id) if request.officer_id else None
    if officer is None:
        return Actor(officer_id=None, username="system", role="officer")
    return Actor(officer_id=officer.id, username=officer.username, role="officer")
