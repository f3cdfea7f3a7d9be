"""One dossier at a time (docs/upstream.md, "Per-dossier order"): its snapshot when it changed,
then its steps in order, ≤ ``steps_batch`` per call, each batch marked ``sending`` and committed
before the call. The careful path: a dossier in doubt, with more than one batch of steps, one
failing pre-flight, or one a grouped call refused goes this way, which finds and holds the
culprit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from ccdesk.storage import crashpoint
from sync.server.store import utcnow
from sync.upstream import mapping
from sync.upstream.context import ForwardContext
from sync.upstream.in_doubt import InDoubtSteps
from sync.upstream.ledger import OPEN_STEP, digest, history
from sync.upstream.outcome import ForwardResult
from sync.upstream.tables import CONFIG, DOSSIER, STEP
from sync.upstream.transport import EXISTS, OK, PARTIAL, Down, InDoubt

HOLD_MESSAGE = ("the forwarder stopped between sending these steps and recording the reply: "
                "check the dossier's progress upstream, then retry (send them again) or drop "
                "(they are there)")


class DossierSender:
    def __init__(self, ctx: ForwardContext) -> None:
        self.ctx = ctx
        self.in_doubt = InDoubtSteps(ctx)

    def deliver(self, code: str, result: ForwardResult) -> None:
        ctx, recorder = self.ctx, self.ctx.recorder
        with recorder.read() as conn:
            hist = history(conn, code, ctx.source)
            row = conn.execute(select(DOSSIER).where(DOSSIER.c.code == code)).mappings().one()
            ledger = conn.execute(select(STEP.c.mutation_id, STEP.c.state)
                                  .where(STEP.c.dossier_code == code,
                                         STEP.c.state.in_(OPEN_STEP))
                                  .order_by(STEP.c.sort_key)).all()
        if not hist.events or not hist.events[0].create:
            return   # the relay refuses events before their create; nothing to send yet
        snap = mapping.snapshot(hist, ctx.profile, ctx.config.creds.unit_code)
        snap_digest = digest(snap)
        if row["snapshot_state"] != "sent" or row["sent_hash"] != snap_digest:
            row = {**row, "known_upstream": mapping.known_upstream(row["known_upstream"], hist)}
            if not self.send_snapshot(code, row, snap, snap_digest, result):
                return
        by_id = dict(mapping.steps(hist, ctx.profile))
        pending: list[tuple[str, dict[str, Any]]] = []
        in_doubt = [m for m, state in ledger if state == "sending"]
        if in_doubt:
            if self.in_doubt.too_soon(in_doubt):
                return   # the timed-out call may still be stored upstream: look next pass
            settled = self.in_doubt.settle(code, in_doubt, by_id, result)
            if settled is None and ctx.config.in_doubt_steps == "hold":
                # They went out together, before any later step: hold them as one item.
                recorder.dead(code, "step", ",".join(in_doubt), "in_doubt", HOLD_MESSAGE,
                              result)
                return
            ledger = [(m, s) for m, s in ledger if m not in (settled or set())]
        for mutation_id, _state in ledger:
            item = by_id[mutation_id]
            try:
                mapping.validate_step(item, ctx.profile)
            except mapping.MappingError as exc:
                self.flush_steps(code, pending, result)
                recorder.dead(code, "step", mutation_id, "preflight", str(exc), result)
                return
            pending.append((mutation_id, item))
            if len(pending) == ctx.profile.steps_batch:
                if not self.flush_steps(code, pending, result):
                    return
        self.flush_steps(code, pending, result)
        recorder.finish([code])

    def send_snapshot(self, code: str, row: Any, snap: dict[str, Any], snap_digest: str,
                      result: ForwardResult) -> bool:
        """Send one dossier's snapshot; False when the dossier is now blocked."""
        ctx, recorder = self.ctx, self.ctx.recorder
        try:
            mapping.validate_snapshot(snap, ctx.profile)
        except mapping.MappingError as exc:
            recorder.dead(code, "snapshot", code, "preflight", str(exc), result)
            return False
        updating = bool(row["known_upstream"])
        if row["snapshot_state"] == "sending" and not updating:
            # A crash (or a lost reply) during a create: ask, where the upstream can say.
            updating = bool(ctx.transport.exists(code))
        recorder.snapshot_state([code], "sending")
        body = [mapping.cased(snap, ctx.profile)]
        try:
            reply = ctx.transport.snapshots(body, updating)
            if reply.kind == EXISTS and not updating:
                reply = ctx.transport.snapshots(body, True)   # "đã tồn tại": update instead
        except InDoubt as exc:
            raise Down(str(exc)) from exc   # a snapshot is an upsert: sending again is safe
        crashpoint.crash_point("upstream_after_snapshot")
        if reply.kind == PARTIAL:
            raise Down(f"partial: {reply.message}")
        if reply.kind != OK:
            recorder.dead(code, "snapshot", code, "rejected", reply.message, result)
            return False
        with recorder.begin() as conn:
            conn.execute(update(DOSSIER).where(DOSSIER.c.code == code).values(
                known_upstream=True, snapshot_state="sent", sent_hash=snap_digest, attempts=0,
                last_error=None))
            conn.execute(update(CONFIG).where(CONFIG.c.id == 1)
                         .values(last_success_at=utcnow()))
        result.snapshots_sent += 1
        return True

    def flush_steps(self, code: str, batch: list[tuple[str, dict[str, Any]]],
                    result: ForwardResult) -> bool:
        """Send ``batch`` (then empty it): ``sending`` committed first, the reply and ``sent``
        recorded together. False when the dossier is now blocked."""
        if not batch:
            return True
        ctx, recorder = self.ctx, self.ctx.recorder
        ids = [mutation_id for mutation_id, _item in batch]
        items = [mapping.cased(item, ctx.profile) for _id, item in batch]
        batch.clear()
        recorder.step_state(ids, "sending")
        try:
            reply = ctx.transport.steps(items)
        except Down:
            recorder.step_state(ids, "pending")   # never left
            raise
        except InDoubt as exc:
            # Left ``sending``: the next look at this dossier holds them for a person (or, with
            # ``in_doubt_steps = "resend"``, sends them again).
            self.in_doubt.mark(ids, exc)
            raise Down(str(exc)) from exc
        crashpoint.crash_point("upstream_after_send")
        if reply.kind == PARTIAL:
            recorder.partial(ids, reply, ctx.profile.success_codes, result)
        if reply.kind != OK:
            recorder.step_state(ids, "dead")
            recorder.dead(code, "step", ",".join(ids), "rejected", reply.message, result)
            return False
        recorder.steps_sent(ids, result)
        return True
