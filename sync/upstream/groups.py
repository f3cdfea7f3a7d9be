"""Several dossiers at once, the common case (docs/upstream.md, "Groups"): their snapshots in
one call (creates and updates apart), their steps packed whole into calls of ≤ ``steps_batch``.
A group call the upstream refuses is replayed one dossier at a time to find the one at fault."""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Connection

from ccdesk.storage import crashpoint
from sync.server.store import utcnow
from sync.upstream import mapping
from sync.upstream.context import ForwardContext
from sync.upstream.one_dossier import DossierSender
from sync.upstream.outcome import ForwardResult
from sync.upstream.queue import Plan, read_group
from sync.upstream.records import SNAPSHOT_STATE, STEP_STATE
from sync.upstream.tables import DOSSIER
from sync.upstream.transport import EXISTS, OK, PARTIAL, Down, InDoubt


class GroupSender:
    def __init__(self, ctx: ForwardContext, one: DossierSender) -> None:
        self.ctx, self.one = ctx, one

    def read(self, codes: list[str]) -> tuple[list[Plan], list[str]]:
        """The group's plans, and the codes that go alone. The recorded-later writes are about
        earlier groups (other dossiers): they go with this group's mark commit rather than a
        commit of their own; so this read may also run ahead, while the previous group's
        calls are out (the forwarder's read-ahead)."""
        ctx = self.ctx
        with ctx.recorder.read(flush=False) as conn:
            return read_group(conn, ctx.source, ctx.profile, ctx.config.creds.unit_code, codes)

    def deliver(self, codes: list[str], result: ForwardResult,
                ahead: list[tuple[list[Plan], list[str]]] | None = None) -> None:
        """Dossiers whose items all pass pre-flight, none in doubt, each with at most one
        batch of steps waiting, go in few calls: their snapshots together, their steps packed
        whole into batches. Anything else, and anything a grouped call refuses, goes the
        one-dossier way (:class:`DossierSender`), which finds and holds the culprit.
        ``ahead``: the group's :meth:`read`, made ahead; used once (a retry reads again)."""
        ctx, recorder = self.ctx, self.ctx.recorder
        plans, alone = ahead.pop() if ahead else self.read(codes)
        for code in alone:
            self.one.deliver(code, result)
        marked = self.mark(plans)
        unsent = {m for p in plans for m, _item in p.items} if marked else set()
        try:
            blocked: set[str] = set()
            for updating in (False, True):
                group = [p for p in plans if p.snap is not None and p.known == updating]
                if group:
                    blocked |= self.send_snapshots(group, updating, result, marked)
            batches: list[list[Plan]] = [[]]
            filled = 0   # steps in the last batch
            for plan in (p for p in plans if p.code not in blocked and p.items):
                if batches[-1] and filled + len(plan.items) > ctx.profile.steps_batch:
                    batches.append([])
                    filled = 0
                batches[-1].append(plan)
                filled += len(plan.items)
            for batch in (b for b in batches if b):
                unsent -= {m for p in batch for m, _item in p.items}
                self.send_steps(batch, result, marked)
        finally:
            if unsent:   # marked, never sent (a blocked snapshot, a failure): not in doubt
                recorder.step_state(sorted(unsent), "pending")
        recorder.finish([p.code for p in plans if p.code not in blocked])

    def mark(self, plans: list[Plan]) -> bool:
        """Mark the whole group ``sending`` in one commit before its calls, where the profile
        says that is safe (``group_commit``): only an upstream whose look-up lists a dossier's
        steps can settle what a crash leaves ``sending`` (sent or not) without a person. One
        commit (an fsync) per group instead of one per call: the relay's commits were half of
        a run's time. Returns whether it marked."""
        profile = self.ctx.profile
        calls = sum(1 for p in plans if p.snap is not None) and 1
        calls += -(-sum(len(p.items) for p in plans) // profile.steps_batch)
        if calls < 2 or not (profile.group_commit and profile.lookup_service
                             and profile.lookup_steps_key):
            return False
        snaps = [p.code for p in plans if p.snap is not None]
        ids = [m for p in plans for m, _item in p.items]
        with self.ctx.recorder.begin() as conn:
            if snaps:
                conn.execute(SNAPSHOT_STATE, {"codes": snaps, "to_state": "sending"})
            if ids:
                conn.execute(STEP_STATE, {"ids": ids, "to_state": "sending"})
        return True

    def send_snapshots(self, group: list[Plan], updating: bool, result: ForwardResult,
                       marked: bool = False) -> set[str]:
        """The codes left blocked (rejected) after sending ``group``'s snapshots."""
        ctx, recorder = self.ctx, self.ctx.recorder
        if len(group) == 1:
            p = group[0]
            row = {"known_upstream": p.known, "snapshot_state": "pending"}
            return set() if self.one.send_snapshot(p.code, row, p.snap or {}, p.digest,
                                                   result) else {p.code}
        if not marked:
            recorder.snapshot_state([p.code for p in group], "sending")
        body = [mapping.cased(p.snap, ctx.profile) for p in group]
        try:
            reply = ctx.transport.snapshots(body, updating)
            if reply.kind == EXISTS and not updating:
                reply = ctx.transport.snapshots(body, True)   # an upsert: safe for all
        except InDoubt as exc:
            raise Down(str(exc)) from exc
        crashpoint.crash_point("upstream_after_snapshot")
        if reply.kind == OK:
            now, sent = utcnow(), [{"c": p.code, "h": p.digest} for p in group]

            def record(conn: Connection) -> None:
                conn.execute(update(DOSSIER).where(DOSSIER.c.code == bindparam("c")).values(
                    known_upstream=True, snapshot_state="sent", sent_hash=bindparam("h"),
                    attempts=0, last_error=None), sent)
            recorder.later.append(record)
            recorder.succeeded_at = now
            result.snapshots_sent += len(group)
            return set()
        # Which one? Each on its own (a snapshot is an upsert; "sending" makes a create ask
        # TraCuuHoSo first).
        blocked = set()
        for p in group:
            row = {"known_upstream": p.known, "snapshot_state": "sending"}
            if not self.one.send_snapshot(p.code, row, p.snap or {}, p.digest, result):
                blocked.add(p.code)
        return blocked

    def send_steps(self, batch: list[Plan], result: ForwardResult, marked: bool = False) -> None:
        """One call with the steps of ``batch``'s dossiers (each dossier's whole)."""
        ctx, recorder = self.ctx, self.ctx.recorder
        if len(batch) == 1 and not marked:
            self.one.flush_steps(batch[0].code, list(batch[0].items), result)
            return
        ids = [m for p in batch for m, _item in p.items]
        items = [mapping.cased(item, ctx.profile) for p in batch for _m, item in p.items]
        if not marked:
            recorder.step_state(ids, "sending")
        try:
            reply = ctx.transport.steps(items)
        except Down:
            recorder.step_state(ids, "pending")
            raise
        except InDoubt as exc:
            self.one.in_doubt.mark(ids, exc)
            raise Down(str(exc)) from exc   # left "sending": settled per dossier on the retry
        crashpoint.crash_point("upstream_after_send")
        if reply.kind == PARTIAL:
            recorder.partial(ids, reply, ctx.profile.success_codes, result)
        if reply.kind == OK:
            recorder.steps_sent(ids, result, later=True)
            return
        # A refused call stored nothing [I]: find the dossier at fault one by one.
        recorder.step_state(ids, "pending")
        for p in batch:
            self.one.flush_steps(p.code, list(p.items), result)
