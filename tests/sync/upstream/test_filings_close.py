# ruff: noqa: F811 - the fixtures of test_filings.py are imported by name and taken as arguments
"""Online filings closed (docs/upstream.md, "Online filings", 8-10): two desks of one commune
→ the relay (SQLite and PostgreSQL) → the double. A filing one desk received leaves the other's
list; a second reception of it is rejected at the relay with a message in both languages and
never reaches the upstream; a filing withdrawn on the portal leaves every list; the upstream
gets the portal's filing time as ``NgayNopHoSo``; the in-doubt look-up asks under the portal's
code."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccdesk.domain.errors import ValidationError
from sync import replies, service
from sync.engine import SyncEngine
from sync.server.filing_close import FILING
from sync.server.filing_close import C as CHANGE
from tests.sync.helpers import Desk, ServerThread
from tests.sync.upstream.conftest import PUSH, enrolled_desk, forwarder, push
from tests.sync.upstream.test_filings import (  # noqa: F401 - its relay, portal, desk fixtures
    FAST,
    desk,
    fetch,
    filed,
    portal,
    portal_code,
    receive,
    relay,
)


@pytest.fixture
def other(tmp_path: Path, relay: ServerThread) -> Iterator[Desk]:
    """A second desk of the same commune, issuing codes with its own device prefix (as two
    desks of one commune must: ccdesk/domain/codes.py)."""
    d = enrolled_desk(tmp_path / "other", relay)
    with sqlite3.connect(d.db_path) as con:
        con.execute("UPDATE office SET device_prefix = 'B', "
                    "code_pattern = '{agency}-{device}{yymmdd}-{seq:04}'")
    yield d
    d.close()


def waiting(desk: Desk) -> list[str]:
    return [f.portal_code for f in desk.services.online_filings.waiting()]


def filing_row(desk: Desk, code: str) -> dict[str, Any]:
    with sqlite3.connect(desk.db_path) as con:
        con.row_factory = sqlite3.Row
        return dict(con.execute("SELECT * FROM online_filing WHERE portal_code = ?",
                                (code,)).fetchone())


def pull(desk: Desk) -> None:
    done = service.run_once(desk.services, options=FAST)
    assert done.exit_code == 0, done


def test_received_at_one_desk_leaves_the_others_list(relay: ServerThread, desk: Desk,
                                                      other: Desk, portal: Any) -> None:
    portal.file(filed(1), filed(2))
    fetch(relay.store)
    pull(desk)
    pull(other)
    assert waiting(desk) == waiting(other) == [portal_code(1), portal_code(2)]

    ours = receive(desk, portal_code(1))
    push(desk)                       # the relay closes the filing as received here
    pull(other)
    assert waiting(other) == [portal_code(2)]
    row = filing_row(other, portal_code(1))
    assert (row["closed_why"], row["closed_dossier_code"], row["dossier_code"]) == \
        ("received", ours, "")                         # kept for the history, not waiting
    assert row["closed_desk"]
    with pytest.raises(ValidationError) as closed:
        other.services.online_filings.start_intake(portal_code(1))
    assert closed.value.key == "core.err.filing_received_elsewhere"
    assert ours in closed.value.message("vi") and "máy khác" in closed.value.message("vi")
    assert ours in closed.value.message("en")
    pull(desk)                       # the desk that took it: the close changes nothing there
    assert filing_row(desk, portal_code(1))["dossier_code"] == ours
    assert waiting(desk) == [portal_code(2)]


def test_a_desk_enrolled_after_the_reception_never_lists_it(
        relay: ServerThread, desk: Desk, portal: Any, tmp_path: Path) -> None:
    portal.file(filed(1))
    fetch(relay.store)
    pull(desk)
    ours = receive(desk, portal_code(1))
    push(desk)
    late = enrolled_desk(tmp_path / "late", relay)
    try:
        pull(late)                                   # the filing and its close, in one pull
        assert waiting(late) == []
        row = filing_row(late, portal_code(1))
        assert (row["closed_why"], row["closed_dossier_code"]) == ("received", ours)
    finally:
        late.close()


def test_two_desks_receiving_one_filing_apart_the_second_is_rejected(
        relay: ServerThread, desk: Desk, other: Desk, portal: Any) -> None:
    portal.file(filed(1))
    fetch(relay.store)
    pull(desk)
    pull(other)
    first = receive(desk, portal_code(1))
    second = receive(other, portal_code(1))          # both before either pushed
    push(desk)
    late = SyncEngine(other.services.ctx, options=PUSH).push()
    assert late.quarantined >= 1, late
    with sqlite3.connect(other.db_path) as con:
        reasons = [r[0] for r in con.execute("SELECT last_error FROM outbox "
                                             "WHERE last_error LIKE 'filing_taken%'")]
    assert reasons and first in reasons[0] and "máy khác" in reasons[0] \
        and "another desk" in reasons[0], reasons

    assert forwarder(relay.store).run().exit_code == 0
    found = portal.inspect(portal_code(1))
    assert found["status_timeline"] == ["1", "2"]          # one reception upstream
    assert {s["MaHoSo"] for s in found["steps"]} == {portal_code(1)}
    assert httpx.get(f"{portal.url}/_inspect/{second}").status_code == 404
    assert httpx.get(f"{portal.url}/_inspect/{first}").status_code == 404
    stats = portal.stats()
    assert (stats["dossiers"], stats["duplicate_steps"]) == (1, 0), stats


def test_withdrawn_on_the_portal_leaves_every_list(relay: ServerThread, desk: Desk,
                                                   other: Desk, portal: Any) -> None:
    portal.file(filed(1), filed(2))
    fetch(relay.store)
    pull(desk)
    pull(other)
    reply = httpx.post(f"{portal.url}/_portal/withdraw/{portal_code(1)}").json()
    assert reply["error_code"] == "0", reply

    done = fetch(relay.store)
    assert (done.checked, done.closed) == (2, 1), done
    again = fetch(relay.store)                       # closed once; the other still waits
    assert (again.checked, again.closed) == (1, 0), again
    for d in (desk, other):
        pull(d)
        assert waiting(d) == [portal_code(2)]
        assert filing_row(d, portal_code(1))["closed_why"] == "withdrawn"
    with pytest.raises(ValidationError) as closed:
        receive(desk, portal_code(1))
    assert closed.value.key == "core.err.filing_withdrawn"
    assert "rút" in closed.value.message("vi")


def test_a_desk_offline_when_it_was_withdrawn_is_told_at_the_push(
        relay: ServerThread, desk: Desk, portal: Any) -> None:
    portal.file(filed(1))
    fetch(relay.store)
    pull(desk)
    receive(desk, portal_code(1))                    # received before hearing of it
    httpx.post(f"{portal.url}/_portal/withdraw/{portal_code(1)}")
    assert fetch(relay.store).closed == 1
    late = SyncEngine(desk.services.ctx, options=PUSH).push()
    assert late.quarantined >= 1, late
    with sqlite3.connect(desk.db_path) as con:
        [reason] = [r[0] for r in con.execute("SELECT last_error FROM outbox "
                                              "WHERE last_error LIKE 'filing_taken%'")]
    assert "rút hồ sơ" in reason and "withdrew" in reason
    assert forwarder(relay.store).run().exit_code == 0
    assert portal.inspect(portal_code(1))["status_timeline"] == ["1", "7"]


def test_an_older_desk_reads_a_close_as_a_filing_it_has() -> None:
    """A desk without the ``closed`` key keeps only the fields it knows: the change passes its
    check and, for a filing it already has, changes nothing (sync/replies.py ``filing``)."""
    from sync.upstream import filings
    from sync.upstream.profiles import load_profile

    wire, _unit, _stamp = filings.parse_filing(filed(1), load_profile("dvcqg"))
    closed = {**wire, "closed": {"why": "received", "dossier_code": "X-1", "desk": "d1",
                                 "status": "received", "at": "2026-12-06T09:00:00Z"}}
    known = {k: v for k, v in replies.filing("changes", "data", closed).items()
             if not k.startswith("closed_")}
    assert known == wire
    assert replies.filing("changes", "data", closed)["closed_why"] == "received"
    with pytest.raises(replies.BadUpstreamValue):
        replies.filing("changes", "data", {**wire, "closed": {"why": "Rút\n"}})


def test_the_look_up_budget_is_a_bounded_profile_setting() -> None:
    from sync.upstream.profiles import ProfileError, load_profile

    assert load_profile("dvcqg").filings_check_max == 100
    assert load_profile("dvcqg", "2023", {"filings_check_max": 0}).filings_check_max == 0
    with pytest.raises(ProfileError, match="filings_check_max"):
        load_profile("dvcqg", "2023", {"filings_check_max": -1})


# --- gap 2: NgayNopHoSo is when the citizen filed ---------------------------------------------

def test_the_upstream_gets_the_portal_filing_time_and_our_reception_time(
        relay: ServerThread, desk: Desk, portal: Any) -> None:
    portal.file(filed(7))                           # NgayNopHoSo 2026-12-05 08:07
    fetch(relay.store)
    pull(desk)
    ours = receive(desk, portal_code(7))
    push(desk)
    assert forwarder(relay.store).run().exit_code == 0
    sent = portal.inspect(portal_code(7))["snapshot"]
    received = desk.services.dossiers.detail(ours).dossier.received_at
    assert sent["NgayNopHoSo"] == "20261205080700"
    assert sent["NgayTiepNhan"] == received.strftime("%Y%m%d%H%M%S") != sent["NgayNopHoSo"]


# --- the relay's migration closes what was received before it ---------------------------------

def test_the_migration_closes_filings_received_before_it(relay: ServerThread, desk: Desk,
                                                         other: Desk, portal: Any) -> None:
    """As on a relay upgraded from d0007: the close columns are emptied (the filing looks
    waiting), then the migration's backfill finds the dossier that took it."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy import delete, update

    from sync.server.migrations.versions import d0008_filing_close

    portal.file(filed(1))
    fetch(relay.store)
    pull(desk)
    pull(other)
    ours = receive(desk, portal_code(1))
    push(desk)
    engine = relay.store.engine
    with engine.begin() as conn:
        conn.execute(update(FILING).values(closed_why="", dossier_code="", device_id=""))
        conn.execute(delete(CHANGE).where(CHANGE.c.data.like('%"closed"%')))
        with Operations.context(MigrationContext.configure(conn)):
            d0008_filing_close._close_taken(conn)
        row = conn.execute(FILING.select()).first()
    assert row is not None and (row.closed_why, row.dossier_code) == ("received", ours)
    pull(other)
    assert waiting(other) == []


# --- gap 3: steps in doubt are looked up under the portal's code -------------------------------

def test_steps_in_doubt_of_a_portal_dossier_are_settled_under_the_portal_code(
        relay: ServerThread, desk: Desk, portal: Any) -> None:
    """As after a crash between the steps' call and its record: the steps the double stored
    are marked ``sending`` again; the look-up must find them under the portal's code (under
    ours the upstream has nothing, and they would go twice)."""
    from sqlalchemy import select, update

    from ccdesk.domain.lifecycle import Action
    from sync.upstream.tables import STEP

    portal.file(filed(1))
    fetch(relay.store)
    pull(desk)
    ours = receive(desk, portal_code(1))
    desk.act(ours, Action.MARK_READY)
    push(desk)
    assert forwarder(relay.store).run().exit_code == 0
    engine = relay.store.engine
    with engine.begin() as conn:
        doubted = conn.execute(update(STEP).where(STEP.c.dossier_code == ours)
                               .values(state="sending", sent_at=None)).rowcount
    assert doubted == 2

    assert forwarder(relay.store).run().exit_code == 0
    with engine.connect() as conn:
        states = conn.execute(select(STEP.c.state).where(STEP.c.dossier_code == ours)).scalars()
        assert set(states) == {"sent"}
    found = portal.inspect(portal_code(1))
    assert [s["TrangThai"] for s in found["steps"]] == ["2", "9"]
    assert portal.stats()["duplicate_steps"] == 0


# --- the screens: home, the register and F12 list only what still waits ------------------------

async def test_home_and_the_list_drop_a_filing_another_desk_received(
        relay: ServerThread, desk: Desk, other: Desk, portal: Any) -> None:
    from textual.widgets import DataTable, Static

    from ccdesk.app import DeskApp
    from screens.filings import FilingsLines, FilingsScreen
    from screens.home import HomeScreen
    from screens.register import RegisterScreen
    from tests.screens.helpers import settle

    portal.file(filed(1), filed(2))
    fetch(relay.store)
    pull(other)
    receive(other, portal_code(1))
    push(other)
    pull(desk)                                   # the filing, then its close
    app = DeskApp(desk.services, actor=desk.actor)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        home = str(app.screen.query_one("#home-filings", Static).content)
        assert portal_code(2) in home and portal_code(1) not in home
        await pilot.press("f12")
        await settle(pilot)
        assert isinstance(app.screen, FilingsScreen)
        table = app.screen.query_one("#filings-table", DataTable)
        assert [str(k.value) for k in table.rows] == [portal_code(2)]
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, RegisterScreen)
        lines = app.screen.query_one(FilingsLines)
        assert lines.count == 1
        assert portal_code(2) in str(lines.content) and portal_code(1) not in str(lines.content)
