"""The monthly satisfaction aggregate (``DongBoDanhGia``, docs/upstream.md "Monthly
satisfaction"): each month that is over and has ratings, once; again (an update) when its
ratings changed since. A month with an open dead letter waits for a person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from sync.server.store import utcnow
from sync.upstream import mapping, ratings
from sync.upstream.context import ForwardContext
from sync.upstream.dead_letters import rating_key
from sync.upstream.mapping import VIETNAM
from sync.upstream.outcome import ForwardResult
from sync.upstream.tables import CONFIG, DEAD, RATING
from sync.upstream.transport import EXISTS, OK, Down, InDoubt


class RatingSender:
    def __init__(self, ctx: ForwardContext) -> None:
        self.ctx = ctx

    def send(self, result: ForwardResult) -> None:
        ctx = self.ctx
        if not ctx.profile.rating_service:
            return
        with ctx.recorder.read() as conn:
            months = ratings.monthly(ctx.source.ratings(conn, ctx.config.accept_demo),
                                     datetime.now(VIETNAM))
            rows = {r.month: r for r in conn.execute(select(RATING))}
            blocked = set(conn.execute(select(DEAD.c.dossier_code).where(
                DEAD.c.kind == "rating", DEAD.c.resolved_at.is_(None))).scalars())
        for month, element in months.items():
            month_digest, row = ratings.digest(element), rows.get(month)
            if rating_key(month) in blocked or (
                    row is not None and row.state in ("sent", "dead")
                    and row.sent_hash == month_digest):
                continue
            # After a crash mid-send ("sending") the month may be stored: send it as an update.
            updating = row is not None and (row.known_upstream or row.state == "sending")
            self._send_month(month, element, month_digest, updating, row is None, result)

    def _send_month(self, month: str, element: dict[str, str], month_digest: str,
                    updating: bool, fresh: bool, result: ForwardResult) -> None:
        ctx, recorder = self.ctx, self.ctx.recorder
        with recorder.begin() as conn:
            if fresh:
                conn.execute(insert(RATING).values(month=month, state="sending",
                                                   known_upstream=False, sent_hash=""))
            else:
                conn.execute(update(RATING).where(RATING.c.month == month)
                             .values(state="sending"))
        body = [mapping.cased(element, ctx.profile)]
        try:
            reply = ctx.transport.ratings(body, updating)
            if reply is not None and reply.kind == EXISTS and not updating:
                reply = ctx.transport.ratings(body, True)
        except InDoubt as exc:
            raise Down(str(exc)) from exc   # left "sending": the retry sends it as an update
        if reply is None:
            return
        if reply.kind != OK:
            recorder.set(RATING, RATING.c.month == month, state="dead", sent_hash=month_digest)
            recorder.dead(rating_key(month), "rating", month, "rejected", reply.message, result)
            return
        now = utcnow()
        with recorder.begin() as conn:
            conn.execute(update(RATING).where(RATING.c.month == month).values(
                state="sent", known_upstream=True, sent_hash=month_digest, sent_at=now))
            conn.execute(update(CONFIG).where(CONFIG.c.id == 1).values(last_success_at=now))
        result.ratings_sent += 1
