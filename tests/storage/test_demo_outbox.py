"""Demo data writes its outbox rows through the outbox package, as real intake does: the same
columns, and ``client_time`` in UTC (the model's contract), not the desk's local time."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import orjson
import pytest

from ccdesk.demo import seed_demo
from tests.sync.helpers import Desk, make_desk


@pytest.fixture
def hanoi_time() -> Iterator[None]:
    """The process runs on Vietnam's clock (UTC+7, no daylight saving), as a desk does."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Ho_Chi_Minh"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def rows(desk: Desk, sql: str) -> list[tuple]:
    con = sqlite3.connect(desk.db_path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_demo_outbox_rows_carry_utc_client_times(tmp_path, hanoi_time: None) -> None:  # noqa: ANN001
    desk = make_desk(tmp_path / "desk", demo=True)
    try:
        report = seed_demo(desk.services, 40, days=20, seed=7)
        intake_code = desk.intake(1)[0]             # one real intake beside the demo data
    finally:
        desk.close()
    assert report.outbox_rows == report.events > 40
    outbox = rows(desk, "SELECT entity_id, op, payload, client_time FROM outbox "
                        "ORDER BY device_seq")
    assert len(outbox) == report.outbox_rows + 1
    for code, _op, payload, client_time in outbox[:-1]:
        event_at = datetime.fromisoformat(orjson.loads(payload)["event"]["at"])   # local time
        stored = datetime.fromisoformat(client_time)
        assert stored == event_at - timedelta(hours=7), (code, event_at, stored)
    # Real intake writes the write time in UTC: the demo rows now read the same way.
    code, _op, _payload, client_time = outbox[-1]
    assert code == intake_code
    written = datetime.fromisoformat(client_time)
    assert abs((datetime.now() - timedelta(hours=7)) - written) < timedelta(minutes=5)
    columns = rows(desk, "SELECT DISTINCT state, attempts, last_error, entity FROM outbox")
    assert columns == [("pending", 0, "", "dossier")]
