"""What the forwarder writes about what happened (docs/upstream.md, "Exactly once"): the
``sending``/``sent`` states of the ledger, delivered dossiers, dead letters, the last error.

A write that records what already happened (``sent``) is *recorded later*: committed with the
next write (the ``sending`` of the next call or group) or before the next read, so a run makes
one commit per call (per group with ``group_commit``) instead of two. A crash before such a
write is committed leaves its items ``sending``: in doubt, settled like any other."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.engine import Connection, Engine

from sync.server.store import utcnow
from sync.upstream.ledger import audit, has_open_steps, open_dead
from sync.upstream.outcome import ForwardResult
from sync.upstream.tables import CONFIG, DEAD, DOSSIER, STEP
from sync.upstream.transport import Down, Reply

# The writes of every call, built once: building and keying a statement cost more than running
# it (an IN list of ids is expanded at execution).
STEP_STATE = (update(STEP).where(STEP.c.mutation_id.in_(bindparam("ids", expanding=True)))
              .values(state=bindparam("to_state")))
STEP_SENT = (update(STEP).where(STEP.c.mutation_id.in_(bindparam("ids", expanding=True)))
             .values(state="sent", sent_at=bindparam("at")))
SNAPSHOT_STATE = (update(DOSSIER).where(DOSSIER.c.code.in_(bindparam("codes", expanding=True)))
                  .values(snapshot_state=bindparam("to_state")))
LAST_SUCCESS = update(CONFIG).where(CONFIG.c.id == 1).values(last_success_at=bindparam("at"))
DELIVERED = (update(DOSSIER).where(DOSSIER.c.code.in_(bindparam("codes", expanding=True)),
                                   DOSSIER.c.snapshot_state == "sent",
                                   ~has_open_steps(DOSSIER.c.code), ~open_dead(DOSSIER.c.code))
             .values(pending_since=None, delivered_at=bindparam("at")))


class Recorder:
    """The forwarder's writes to its ledger, with the recorded-later queue."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.later: list[Callable[[Connection], None]] = []
        # When the upstream last took something, still to record (once per commit, not once
        # per recorded-later write).
        self.succeeded_at: datetime | None = None

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction that first applies the recorded-later writes."""
        later, self.later = self.later, []
        succeeded_at, self.succeeded_at = self.succeeded_at, None
        try:
            with self.engine.begin() as conn:
                for write in later:
                    write(conn)
                if succeeded_at is not None:
                    conn.execute(LAST_SUCCESS, {"at": succeeded_at})
                yield conn
        except BaseException:
            self.later = later + self.later   # rolled back: still to record
            self.succeeded_at = self.succeeded_at or succeeded_at
            raise

    @contextmanager
    def read(self, flush: bool = True) -> Iterator[Connection]:
        """A read that sees every write of this forwarder (``flush=False``: a read of rows the
        recorded-later writes do not touch)."""
        if flush:
            self.flush()
        with self.engine.connect() as conn:
            yield conn

    def flush(self) -> None:
        """Commit the recorded-later writes now."""
        if self.later or self.succeeded_at is not None:
            with self.begin():
                pass

    def set(self, table: Any, where: Any, **values: Any) -> None:
        with self.begin() as conn:
            conn.execute(update(table).where(where).values(**values))

    def step_state(self, ids: list[str], state: str) -> None:
        """Commit ``state`` for the steps ``ids`` (``sending`` before a call, ``pending`` for
        what never left)."""
        with self.begin() as conn:
            conn.execute(STEP_STATE, {"ids": ids, "to_state": state})

    def snapshot_state(self, codes: list[str], state: str) -> None:
        with self.begin() as conn:
            conn.execute(SNAPSHOT_STATE, {"codes": codes, "to_state": state})

    def steps_sent(self, ids: list[str], result: ForwardResult, count: bool = True,
                   later: bool = False) -> None:
        """Record ``ids`` sent: now, or (``later``) with the next write, before any other call
        leaves (a crash before that leaves them ``sending``: in doubt, as it must)."""
        now = utcnow()

        def record(conn: Connection) -> None:
            conn.execute(STEP_SENT, {"ids": ids, "at": now})
        self.later.append(record)
        self.succeeded_at = now
        if not later:
            with self.begin():
                pass
        if count:
            result.steps_sent += len(ids)

    def finish(self, codes: list[str]) -> None:
        """A dossier is delivered when its snapshot is and no step waits (recorded with the
        next write)."""
        if not codes:
            return
        now = utcnow()

        def record(conn: Connection) -> None:
            conn.execute(DELIVERED, {"codes": codes, "at": now})
        self.later.append(record)

    def dead(self, code: str, kind: str, item_id: str, reason_code: str, message: str,
             result: ForwardResult) -> None:
        """A dead letter: the item waits for a person (``dead-letter retry|drop``)."""
        with self.begin() as conn:
            conn.execute(insert(DEAD).values(dossier_code=code, kind=kind, item_id=item_id,
                                             reason_code=reason_code, message=message[:1000],
                                             created_at=utcnow()))
            if kind == "snapshot":
                conn.execute(update(DOSSIER).where(DOSSIER.c.code == code)
                             .values(snapshot_state="pending", last_error=message[:1000]))
            audit(conn, "dead_letter", code, f"{kind} {reason_code}")
        result.dead_letter += 1
        result.details.append(f"{code}: {kind} {reason_code}")

    def error(self, error: str) -> None:
        """The last error, for ``upstream status``."""
        with self.begin() as conn:
            conn.execute(update(CONFIG).where(CONFIG.c.id == 1)
                         .values(last_error=error[:500], last_error_at=utcnow()))

    def partial(self, ids: list[str], reply: Reply, success_codes: tuple[str, ...],
                result: ForwardResult) -> None:
        """A batch the upstream processed in part: its per-item results say which. The
        processed ones are recorded sent, the others wait (a retry); results that do not line
        up with the batch leave it all in doubt. Always raises :class:`Down`."""
        items = reply.result if isinstance(reply.result, list) else []
        if len(items) != len(ids) or not all(isinstance(i, dict) for i in items):
            raise Down(f"partial reply that does not say which: {reply.message}")
        done = [m for m, item in zip(ids, items, strict=True)
                if str(item.get("error_code", "")) in success_codes]
        if done:
            self.steps_sent(done, result)
        self.step_state([m for m in ids if m not in done], "pending")
        raise Down(f"partial: {len(done)}/{len(ids)} processed")
