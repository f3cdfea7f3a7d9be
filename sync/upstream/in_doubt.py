"""Steps left ``sending`` by a crash, a reset or a timed-out call: they may or may not be
upstream (docs/upstream.md, "Exactly once", 2–4). Where the upstream's look-up lists a
dossier's steps they are settled from it; otherwise the caller holds them for a person."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from sync.server.store import utcnow
from sync.upstream.context import ForwardContext
from sync.upstream.ledger import audit, step_key
from sync.upstream.outcome import ForwardResult
from sync.upstream.tables import STEP
from sync.upstream.transport import InDoubt

# Timeouts to wait, after a call timed out, before its steps are looked up upstream.
IN_DOUBT_GRACE = 2


class InDoubtSteps:
    def __init__(self, ctx: ForwardContext) -> None:
        self.ctx = ctx

    def mark(self, ids: list[str], exc: InDoubt) -> None:
        """Steps whose call timed out: the upstream may still be working on it. ``sent_at`` on
        a ``sending`` step is the moment we stopped waiting (a crash or a reset leaves it
        empty: the exchange had ended, they are looked up at once)."""
        if isinstance(exc.__cause__, httpx.TimeoutException):
            self.ctx.recorder.set(STEP, STEP.c.mutation_id.in_(ids), sent_at=utcnow())

    def too_soon(self, in_doubt: list[str]) -> bool:
        """Whether the call that left these steps in doubt timed out less than
        ``IN_DOUBT_GRACE`` timeouts ago. An upstream may store a call after the client gave up
        on it; a look-up made before that finds nothing, the steps go again, and the late call
        lands too: twice (the fault runs found it, tests/upstream/test_in_doubt_late.py). This
        narrows the window; without idempotency upstream nothing can close it."""
        grace = timedelta(seconds=IN_DOUBT_GRACE * self.ctx.profile.timeout_s)
        with self.ctx.recorder.engine.connect() as conn:
            since = conn.execute(select(func.max(STEP.c.sent_at))
                                 .where(STEP.c.mutation_id.in_(in_doubt))).scalar()
        return since is not None and utcnow() - since < grace

    def settle(self, code: str, in_doubt: list[str], by_id: dict[str, dict[str, Any]],
               result: ForwardResult) -> set[str] | None:
        """Settle steps left ``sending`` from what the upstream's look-up lists for the dossier:
        those it has (beyond the ones recorded as sent) are recorded ``sent``, the rest go back
        to ``pending``. Returns the ids now recorded sent, or None when the upstream cannot say.
        Steps have no id upstream, so they are matched by time, status and content, counted.
        The look-up asks under the code the upstream knows the dossier by (the portal's, for a
        dossier filed online: :func:`asked_code`)."""
        listed = self.ctx.transport.upstream_steps(asked_code(code, in_doubt, by_id))
        if listed is None:
            return None
        k = self.ctx.profile.key
        there = Counter((str(s.get(k("ThoiDiemXuLy"))), str(s.get(k("TrangThai"))),
                         str(s.get(k("NoiDungXuLy")))) for s in listed)
        recorder = self.ctx.recorder
        with recorder.read() as conn:
            sent = list(conn.execute(select(STEP.c.mutation_id).where(
                STEP.c.dossier_code == code, STEP.c.state == "sent")).scalars())
        for mutation_id in sent:
            if mutation_id in by_id:
                there[step_key(by_id[mutation_id])] -= 1
        found = set()
        for mutation_id in in_doubt:
            key = step_key(by_id[mutation_id])
            if there[key] > 0:
                there[key] -= 1
                found.add(mutation_id)
        if found:
            recorder.steps_sent(sorted(found), result, count=False)
        recorder.step_state([m for m in in_doubt if m not in found], "pending")
        with recorder.begin() as conn:
            audit(conn, "in_doubt_settled", code,
                  f"{len(found)} found upstream, {len(in_doubt) - len(found)} to send")
        return found


def asked_code(code: str, in_doubt: list[str], by_id: dict[str, dict[str, Any]]) -> str:
    """The code the upstream holds ``code``'s steps under: the ``MaHoSo`` the steps were sent
    with (mapping.upstream_code: the portal's code for a dossier filed online), else ours."""
    for mutation_id in in_doubt:
        sent_as = (by_id.get(mutation_id) or {}).get("MaHoSo")
        if isinstance(sent_as, str) and sent_as:
            return sent_as
    return code
