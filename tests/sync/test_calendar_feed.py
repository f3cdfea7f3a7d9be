"""The official holiday schedule carried down from the relay (docs/calendar.md, "From the
relay"): the change feed and the USB ack, with a real relay on 127.0.0.1 (SQLite and
PostgreSQL), a real desk database, and the due time the desk computes afterwards."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from ccdesk.domain.calendar import TimeKind, TimeRule
from ccdesk.domain.official_calendar import BUNDLED_SCHEDULE
from ccdesk.services.official_calendar import build_calendar, import_schedule_file
from sync import bundle, replies, service
from sync.engine import Backoff, EngineOptions
from sync.server.bundles import import_bundle
from sync.server.store import DistrictError, DistrictStore
from tests.sync.helpers import COMMUNE, SQLITE_ONLY, Desk, ServerThread
from tests.sync.test_cli import run

FAST = EngineOptions(backoff=Backoff(base=0.01, cap=0.05), max_attempts=3, lock_wait=5)
THREE_DAYS = TimeRule(TimeKind.WORKING_DAYS, 3)
BUNDLED = BUNDLED_SCHEDULE.read_text(encoding="utf-8")
RECEIVED = datetime(2026, 12, 29, 9, 0)          # Tue; 3 working days: 30/12, 31/12, (1/1) 4/1
BEFORE = datetime(2027, 1, 4, 9, 0)


def edition(version: str, *days_off: str) -> str:
    """The bundled schedule as edition ``version`` with extra weekdays off."""
    text = BUNDLED.replace("version = 2026-01-05", f"version = {version}")
    for day in days_off:
        text += f"""
[[year.day]]
date = {day}
kind = "day_off"
name = "Ngày nghỉ thêm (thử)"
document = "Công văn thử 1/VPCP-KGVX"
issued = 2026-05-20
"""
    return text


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(sql).fetchall()


def enrol(desk: Desk, server: ServerThread) -> None:
    service.enroll(desk.services, server.url, server.store.issue_enroll_code(COMMUNE))


def due(desk: Desk) -> datetime:
    return desk.services.ctx.calendar.due_at(RECEIVED, THREE_DAYS)


def sync_log(desk: Desk) -> list[dict]:
    path = desk.services.paths.logs_dir / "sync.jsonl"
    return [orjson.loads(line) for line in path.read_text("utf-8").splitlines()]


# --- The change feed ---------------------------------------------------------------------------

def test_a_newer_schedule_reaches_the_desk_through_the_change_feed(desk: Desk,
                                                                   server: ServerThread) -> None:
    desk.intake(1)
    enrol(desk, server)
    assert due(desk) == BEFORE
    assert server.store.import_schedule(edition("2026-06-01", "2026-12-31"))["outcome"] == \
        "applied"

    first = service.run_once(desk.services, options=FAST)

    assert first.exit_code == 0, first
    assert due(desk) == datetime(2027, 1, 5, 9, 0)       # 31/12 is now off
    assert rows(desk.db_path, "SELECT version, origin FROM official_calendar") == \
        [("2026-06-01", "relay")]
    audit = rows(desk.db_path, "SELECT detail FROM auditlog WHERE action = 'calendar.import'")
    assert len(audit) == 1 and "outcome=applied origin=relay" in audit[0][0]
    assert rows(desk.db_path, "SELECT outcome FROM sync_inbox") == [("calendar:applied",)]

    # A later edition replaces the row the desk's cursor stands on (the feed's head): the
    # desk still sees it, and the feed keeps the newest edition only.
    server.store.import_schedule(edition("2026-07-01", "2026-12-31", "2026-12-30"))
    assert service.run_once(desk.services, options=FAST).exit_code == 0
    assert due(desk) == datetime(2027, 1, 6, 9, 0)
    assert [c["version"] for c in server.store.changes(
        server.store.device(_device_id(desk)), 0)["changes"]] == ["2026-07-01"]

    # Nothing new: a further run writes nothing.
    again = service.run_once(desk.services, options=FAST)
    assert again.exit_code == 0 and again.pulled == 0
    assert len(rows(desk.db_path, "SELECT * FROM official_calendar")) == 2
    assert len(rows(desk.db_path, "SELECT * FROM auditlog WHERE action = 'calendar.import'")) == 2


def _device_id(desk: Desk) -> str:
    return rows(desk.db_path, "SELECT device_id FROM sync_state")[0][0]


def test_a_resent_or_older_edition_changes_nothing_and_is_logged(desk: Desk,
                                                                  server: ServerThread,
                                                                  tmp_path: Path) -> None:
    enrol(desk, server)
    newer = tmp_path / "lich.toml"
    newer.write_text(edition("2026-09-01", "2026-12-31"), encoding="utf-8")
    import_schedule_file(desk.services, newer, desk.actor)      # the desk is ahead
    server.store.import_schedule(edition("2026-06-01", "2026-12-30"))

    result = service.run_once(desk.services, options=FAST)

    assert result.exit_code == 0, result
    assert rows(desk.db_path, "SELECT version, origin FROM official_calendar") == \
        [("2026-09-01", "import")]
    assert due(desk) == datetime(2027, 1, 5, 9, 0)       # 30/12 stays a working day
    logged = [line for line in sync_log(desk) if line["event"] == "calendar_schedule"]
    assert logged == [dict(logged[0], version="2026-06-01", outcome="older",
                           in_force="2026-09-01")]
    assert rows(desk.db_path, "SELECT outcome FROM sync_inbox") == [("calendar:older",)]


def test_the_relay_validates_and_keeps_only_the_newest_edition(district_url: str) -> None:
    store = DistrictStore.open(district_url)
    try:
        with pytest.raises(DistrictError) as bad:
            store.import_schedule(edition("2026-06-01").replace('kind = "day_off"',
                                                                'kind = "holiday"', 1))
        assert bad.value.code == "bad_schedule" and "kind" in bad.value.message
        assert store.schedule_payload() is None                   # all or nothing
        assert store.import_schedule(edition("2026-06-01"))["outcome"] == "applied"
        assert store.import_schedule(edition("2026-07-01"))["outcome"] == "applied"
        assert store.import_schedule(edition("2026-07-01"))["outcome"] == "unchanged"
        with pytest.raises(DistrictError) as older:
            store.import_schedule(edition("2026-06-01"))
        assert older.value.code == "older_schedule"
        with pytest.raises(DistrictError) as other:
            store.import_schedule(edition("2026-07-01", "2026-12-31"))
        assert other.value.code == "same_version"
        payload = store.schedule_payload()
        assert payload["version"] == "2026-07-01"
        assert payload["sha256"] == hashlib.sha256(payload["toml"].encode()).hexdigest()
    finally:
        store.engine.dispose()


def _tampered(payload: dict, how: str) -> dict:
    if how == "oversized":
        toml = payload["toml"] + "#" * (256 * 1024)
        return dict(payload, toml=toml, sha256=hashlib.sha256(toml.encode()).hexdigest())
    if how == "sha256":
        return dict(payload, toml=payload["toml"].replace("2026-12-31", "2026-12-30"))
    if how == "invalid":   # a weekend "day off", consistently hashed
        toml = payload["toml"].replace("date = 2026-12-31", "date = 2026-12-26")  # Saturday
        return dict(payload, toml=toml, sha256=hashlib.sha256(toml.encode()).hexdigest())
    return "not a schedule"   # type: ignore[return-value]


@SQLITE_ONLY
@pytest.mark.parametrize("how", ["oversized", "sha256", "invalid", "not_an_object"])
def test_a_bad_schedule_in_the_feed_stops_the_run_and_writes_nothing(
        desk: Desk, server: ServerThread, how: str) -> None:
    codes = desk.intake(1)
    enrol(desk, server)
    assert service.run_once(desk.services, options=FAST).exit_code == 0
    server.store.import_schedule(edition("2026-06-01", "2026-12-31"))
    server.store.record_change(codes[0], "status", "stopped")
    # A relay bug or a hostile relay rewrites the stored row behind the validating import.
    with server.store.engine.begin() as conn:
        data = conn.exec_driver_sql("SELECT data FROM district_change "
                                    "WHERE kind = 'calendar_schedule'").scalar()
        conn.exec_driver_sql(
            "UPDATE district_change SET data = ? WHERE kind = 'calendar_schedule'",
            (orjson.dumps(_tampered(orjson.loads(data), how)).decode(),))
    cursor = rows(desk.db_path, "SELECT pull_cursor FROM sync_state")

    result = service.run_once(desk.services, options=FAST)

    assert (result.exit_code, result.error) == (40, "bad_upstream_value"), result
    assert "calendar_schedule" in result.detail or "data" in result.detail
    assert rows(desk.db_path, "SELECT * FROM official_calendar") == []
    assert rows(desk.db_path, "SELECT * FROM sync_inbox") == []
    assert rows(desk.db_path, "SELECT pull_cursor FROM sync_state") == cursor
    assert rows(desk.db_path, "SELECT status FROM dossier") == [("received",)]
    assert due(desk) == BEFORE


def test_replies_bound_the_schedule_payload() -> None:
    good = {"kind": "official_calendar", "format": 1, "version": "2026-06-01",
            "toml": edition("2026-06-01")}
    good["sha256"] = hashlib.sha256(good["toml"].encode()).hexdigest()
    assert replies.schedule("changes", "data", dict(good, extra="x")) == good
    for bad in (None, [], dict(good, kind="other"), dict(good, version="2026-06-02"),
                dict(good, toml=123)):
        with pytest.raises(replies.BadUpstreamValue) as err:
            replies.schedule("changes", "changes[0].data", bad)
        assert "changes[0].data" in err.value.detail


# --- USB bundles ---------------------------------------------------------------------------------

def test_export_district_import_and_import_ack_bring_the_schedule(
        cli_desk: Desk, server: ServerThread, district_url: str, tmp_path: Path) -> None:
    home, db = cli_desk.root, ["--db", district_url]
    cli_desk.intake(2)
    enrol(cli_desk, server)
    schedule = tmp_path / "lich-2026-06.toml"
    schedule.write_text(edition("2026-06-01", "2026-12-31"), encoding="utf-8")
    published = run(home, "district", "calendar-import", str(schedule), *db)
    assert published.returncode == 0, published.stderr
    assert "2026-06-01" in published.stdout
    assert run(home, "district", "calendar-import", str(schedule), *db).returncode == 0

    exported = run(home, "sync", "export", "--out", str(tmp_path / "usb"))
    assert exported.returncode == 0, exported.stderr
    [bundle_file] = (tmp_path / "usb").glob("*.ccbundle")
    imported = run(home, "district", "import", str(bundle_file), *db)
    assert imported.returncode == 0, imported.stderr
    ack_file = bundle_file.with_name(bundle_file.name + ".ack.json")
    acked = run(home, "sync", "import-ack", str(ack_file), lang="vi")

    assert acked.returncode == 0, acked.stderr
    assert "2026-06-01" in acked.stdout
    assert {state for _s, _m, state, _r in cli_desk.outbox()} == {"acked"}
    assert rows(cli_desk.db_path, "SELECT version, origin FROM official_calendar") == \
        [("2026-06-01", "usb")]
    services = cli_desk.services
    calendar = build_calendar(services.db, services.paths, services.config)
    assert calendar.due_at(RECEIVED, THREE_DAYS) == datetime(2027, 1, 5, 9, 0)
    # The same ack again: the edition is in force, nothing more is written.
    assert run(home, "sync", "import-ack", str(ack_file)).returncode == 0
    assert len(rows(cli_desk.db_path, "SELECT * FROM official_calendar")) == 1
    audit = rows(cli_desk.db_path, "SELECT detail FROM auditlog "
                                   "WHERE action = 'calendar.import'")
    assert len(audit) == 1 and "origin=usb" in audit[0][0]


@SQLITE_ONLY
def test_a_signed_ack_with_a_bad_schedule_writes_nothing(desk: Desk, server: ServerThread,
                                                          tmp_path: Path) -> None:
    desk.intake(2)
    enrol(desk, server)
    server.store.import_schedule(edition("2026-06-01", "2026-12-31"))
    written = bundle.export_bundle(desk.services.db, tmp_path)
    ack = orjson.loads(orjson.loads(import_bundle(server.store, written[0].read_bytes()))["ack"])
    assert ack["calendar_schedule"]["version"] == "2026-06-01"
    ack["calendar_schedule"] = _tampered(ack["calendar_schedule"], "oversized")
    text = orjson.dumps(ack).decode()
    # Signed by the relay's own key: only the payload's own checks can refuse it.
    signed = orjson.dumps({"ack": text, "signature": server.store.sign(text.encode())})
    applied: list[dict] = []

    with pytest.raises(bundle.BundleError) as err:
        bundle.import_ack(desk.services.db, signed, on_schedule=applied.append)

    assert err.value.code == "bad_upstream_value" and "calendar_schedule" in err.value.message
    assert applied == []
    assert {state for _s, _m, state, _r in desk.outbox()} == {"pending"}
    assert rows(desk.db_path, "SELECT * FROM official_calendar") == []


@SQLITE_ONLY
@pytest.mark.parametrize("bad", ["missing", "folder", "/dev/zero", "huge", "weekend"])
def test_district_calendar_import_refuses_bad_files_cleanly(
        cli_desk: Desk, district_url: str, tmp_path: Path, bad: str) -> None:
    target = {"missing": tmp_path / "nope.toml", "folder": tmp_path,
              "/dev/zero": Path("/dev/zero"), "huge": tmp_path / "huge.toml",
              "weekend": tmp_path / "weekend.toml"}[bad]
    if bad == "huge":
        with target.open("wb") as fh:
            fh.truncate(300 * 1024 * 1024)
    if bad == "weekend":   # Saturday 26/12/2026 as a "day off": named by line and field
        target.write_text(edition("2026-06-01", "2026-12-26"), encoding="utf-8")

    refused = run(cli_desk.root, "district", "calendar-import", str(target), "--db",
                  district_url)

    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert str(target) in refused.stderr, refused.stderr
    store = DistrictStore.open(district_url)
    try:
        assert store.schedule_payload() is None
    finally:
        store.engine.dispose()


@SQLITE_ONLY
def test_an_ack_with_an_older_edition_is_ignored_and_logged(
        desk: Desk, server: ServerThread, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    from ccdesk.services.official_calendar import apply_schedule_payload

    desk.intake(1)
    enrol(desk, server)
    newer = tmp_path / "lich.toml"
    newer.write_text(edition("2026-09-01"), encoding="utf-8")
    import_schedule_file(desk.services, newer, desk.actor)
    server.store.import_schedule(edition("2026-06-01", "2026-12-31"))
    written = bundle.export_bundle(desk.services.db, tmp_path)
    ack = import_bundle(server.store, written[0].read_bytes())

    with caplog.at_level("INFO", logger="sync.bundle"):
        counts = bundle.import_ack(desk.services.db, ack, on_schedule=lambda p:
                                   apply_schedule_payload(desk.services, p, origin="usb"))

    assert counts["acked"] == 1
    assert rows(desk.db_path, "SELECT version, origin FROM official_calendar") == \
        [("2026-09-01", "import")]
    assert due(desk) == BEFORE
    assert "edition 2026-06-01, older" in caplog.text and "Đặng" not in caplog.text
