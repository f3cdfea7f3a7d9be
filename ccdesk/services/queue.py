"""Queue tickets: issue a number per procedure group, call the next one, the board's lines and
the waits for the reports (docs/tui.md, "Queue tickets"; off unless ``queue_tickets = true``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import text
from sqlmodel import Session, col, func, select

from ccdesk.domain.errors import ValidationError
from ccdesk.domain.queue import MAX_NUMBER, QueueWait, Serving, Ticket, waits
from ccdesk.domain.reports import Period
from ccdesk.models import Procedure, QueueTicket
from ccdesk.services.context import Actor, DeskContext
from ccdesk.services.search import db_time


class QueueService:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    def groups(self) -> list[str]:
        """The procedure groups a ticket can be for: the fields of the active catalogue."""
        with self.ctx.db.session() as session:
            return sorted(set(session.exec(select(Procedure.field).where(
                col(Procedure.active).is_(True))).all()))

    def issue(self, group: str) -> Ticket:
        """The next number of ``group`` today."""
        if group not in self.groups():
            raise ValidationError("queue.err.group", field="group",
                                  allowed=", ".join(self.groups()))

        def work(session: Session) -> Ticket:
            now = self.ctx.now()
            last = session.exec(select(func.max(QueueTicket.number)).where(
                QueueTicket.day == now.date(), QueueTicket.group_key == group)).one()
            number = (last or 0) + 1
            if number > MAX_NUMBER:
                raise ValidationError("queue.err.full", field="group", max=MAX_NUMBER)
            row = QueueTicket(day=now.date(), group_key=group, number=number, issued_at=now)
            session.add(row)
            session.flush()
            return _ticket(row)

        return self.ctx.db.write(work)

    def call_next(self, actor: Actor, group: str | None = None) -> Ticket | None:
        """Call the longest-waiting ticket of today (of ``group`` when given); None if none."""
        def work(session: Session) -> Ticket | None:
            now = self.ctx.now()
            query = select(QueueTicket).where(QueueTicket.day == now.date(),
                                              col(QueueTicket.called_at).is_(None))
            if group:
                query = query.where(QueueTicket.group_key == group)
            row = session.exec(query.order_by(col(QueueTicket.id)).limit(1)).first()
            if row is None:
                return None
            row.called_at, row.called_by = now, actor.officer_id
            session.add(row)
            return _ticket(row)

        return self.ctx.db.write(work)

    def waiting_before(self, ticket: Ticket) -> int:
        """Tickets of the same group and day issued earlier and not called yet."""
        with self.ctx.db.session() as session:
            return session.exec(select(func.count()).select_from(QueueTicket).where(
                QueueTicket.day == ticket.day, QueueTicket.group_key == ticket.group,
                col(QueueTicket.called_at).is_(None), col(QueueTicket.id) < ticket.id)).one()

    def board(self, day: date | None = None) -> list[Serving]:
        """Each group with tickets today: the last number called and how many still wait."""
        day = day or self.ctx.now().date()
        with self.ctx.db.session() as session:
            rows = session.exec(select(QueueTicket).where(QueueTicket.day == day)
                                .order_by(col(QueueTicket.id))).all()
        last: dict[str, tuple[datetime, int]] = {}
        waiting: dict[str, int] = {}
        for row in rows:
            waiting.setdefault(row.group_key, 0)
            if row.called_at is None:
                waiting[row.group_key] += 1
            elif row.group_key not in last or row.called_at >= last[row.group_key][0]:
                last[row.group_key] = (row.called_at, row.number)
        return [Serving(group, last[group][1] if group in last else None, waiting[group])
                for group in sorted(waiting)]

    def waits(self, start: date, end: date) -> list[QueueWait]:
        """Per group, the tickets issued in ``start``..``end`` and their waits until called."""
        period = Period(start, end)
        with self.ctx.db.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT group_key, issued_at, called_at FROM queue_ticket "
                "WHERE issued_at >= :start AND issued_at < :end"),
                {"start": db_time(period.start_at), "end": db_time(period.end_at)}).all()
        return waits([(g, _dt(i), _dt(c) if c is not None else None) for g, i, c in rows])


def _dt(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _ticket(row: QueueTicket) -> Ticket:
    return Ticket(row.id or 0, row.day, row.group_key, row.number, row.issued_at, row.called_at)
