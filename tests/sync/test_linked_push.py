"""A linked group's member dossiers reach a real relay (127.0.0.1) as ordinary dossiers, each
create payload naming its group and agency (docs/linked.md, "Sync")."""

from __future__ import annotations

from datetime import timedelta

import orjson
from sqlalchemy import select

from ccdesk.domain.lifecycle import Action
from ccdesk.services.intake import Applicant
from ccdesk.services.linked import LinkedRequest
from sync.server.store import M
from tests.sync.helpers import Desk, ServerThread, assert_invariants
from tests.sync.test_push import engine, enrol


def test_members_are_pushed_with_their_group(desk: Desk, sqlite_server: ServerThread) -> None:
    s = desk.services
    items = s.linked.checklist("LT-KS")
    today = s.ctx.now().date()
    view = s.linked.accept(desk.actor, LinkedRequest(  # type: ignore[arg-type]
        "LT-KS", Applicant("Đặng Văn Đức", "001085012345", phone="0912345678"),
        "Đặng Minh An", today - timedelta(days=2),
        received=list(range(len(items)))))
    desk.act(view.members[1].code, Action.HAND_OFF, body="Công an xã")
    enrol(desk, sqlite_server)
    result = engine(desk).push()
    assert result.exit_code == 0 and result.acked == result.records_sent == 4, result
    assert_invariants(desk, sqlite_server.store)
    with sqlite_server.store.engine.connect() as conn:
        rows = conn.execute(select(M.c.entity_id, M.c.op, M.c.payload)).all()
    creates = {r.entity_id: orjson.loads(r.payload) for r in rows if r.op == "dossier.create"}
    assert set(creates) == {m.code for m in view.members}
    for member in view.members:
        event = creates[member.code]["event"]
        assert event["data"]["linked"] == {"group": view.code, "kind": "birth",
                                           "agency": member.agency.value}
        assert creates[member.code]["dossier"]["due_at"] == view.due_at.isoformat()
