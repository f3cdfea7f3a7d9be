"""The official schedule of days off: its file format, import (all or nothing, audited, stored),
the relay seam, and what the running calendar does with a new edition."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import orjson
import pytest

from ccdesk.domain.calendar import TimeKind, TimeRule
from ccdesk.domain.errors import PermissionDenied, ValidationError
from ccdesk.domain.official_calendar import (
    BUNDLED_SCHEDULE,
    MAX_BYTES,
    ScheduleInvalid,
    bundled_schedule,
    parse_schedule,
)
from ccdesk.paths import Paths
from ccdesk.services import Actor, Services
from ccdesk.services.official_calendar import (
    Outcome,
    apply_schedule_payload,
    decide,
    import_schedule_file,
    schedule_payload,
)

CCDESK = str(Path(sys.executable).with_name("ccdesk"))
BUNDLED = BUNDLED_SCHEDULE.read_text(encoding="utf-8")
THREE_DAYS = TimeRule(TimeKind.WORKING_DAYS, 3)

MINIMAL = """format = 1
version = 2026-03-01

[[year]]
year = 2026

[[year.day]]
date = 2026-01-02
kind = "day_off"
name = "Nghỉ hoán đổi"
document = "12729/VPCP-KGVX"
issued = 2025-12-25
"""


def newer_edition(extra_day: str = "2026-12-31") -> str:
    """The bundled schedule as a later edition that adds one day off."""
    return BUNDLED.replace("version = 2026-01-05", "version = 2026-06-01") + f"""
[[year.day]]
date = {extra_day}
kind = "day_off"
name = "Ngày nghỉ thêm (thử)"
document = "Công văn thử 1/VPCP-KGVX"
issued = 2026-05-20
"""


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(sql).fetchall()


# --- The file format ---------------------------------------------------------------------------

def test_bundled_schedule_is_valid_and_every_day_names_its_document() -> None:
    schedule = bundled_schedule()
    assert set(schedule.years) == {2025, 2026}
    days = [d for year in schedule.years.values() for d in year]
    assert all(d.document for d in days)
    assert all(d.issued or d.note for d in days)  # a missing date always says why
    new_year_swap = schedule.by_day[date(2026, 1, 2)]
    assert (new_year_swap.document, new_year_swap.issued) == (
        "Công văn 12729/VPCP-KGVX của Văn phòng Chính phủ", date(2025, 12, 25))


@pytest.mark.parametrize(("change", "line", "where", "vi_word"), [
    (("format = 1", "format = 2"), 1, "format", "format = 1"),
    (("version = 2026-03-01", 'version = "mai"'), 2, "version", "YYYY-MM-DD"),
    (("year = 2026", "year = 1890"), 5, "year.0.year", "2000"),
    (("date = 2026-01-02", "date = 2025-01-02"), 8, "year.0.day.0.date", "2026"),
    (("date = 2026-01-02", "date = 2026-01-03"), 8, "year.0.day.0.date", "thứ Bảy"),
    (('kind = "day_off"', 'kind = "holiday"'), 9, "year.0.day.0.kind", "day_off"),
    (('document = "12729/VPCP-KGVX"\n', ""), 7, "year.0.day.0.document", "thiếu"),
    (("issued = 2025-12-25", 'issued = "25/12"'), 12, "year.0.day.0.issued", "YYYY-MM-DD"),
])
def test_errors_name_file_line_and_field_in_both_languages(
        change: tuple[str, str], line: int, where: str, vi_word: str) -> None:
    assert parse_schedule(MINIMAL).version == date(2026, 3, 1)
    with pytest.raises(ScheduleInvalid) as info:
        parse_schedule(MINIMAL.replace(*change), source="lich.toml")
    err = info.value.errors[0]
    assert (err.params["line"], err.params["where"]) == (line, where)
    assert err.message("vi").startswith(f"lich.toml, dòng {line}, trường {where}")
    assert vi_word in err.message("vi")
    assert err.message("en").startswith(f"lich.toml, line {line}, field {where}")


def test_every_error_is_listed_at_once_and_duplicates_are_refused() -> None:
    text = MINIMAL + MINIMAL.split("[[year]]\nyear = 2026\n", 1)[1].replace(
        'kind = "day_off"', 'kind = "x"')
    with pytest.raises(ScheduleInvalid) as info:
        parse_schedule(text, source="lich.toml")
    keys = [e.key for e in info.value.errors]
    assert keys == ["core.err.catalog_choice"]  # the duplicate is reported once it is valid
    with pytest.raises(ScheduleInvalid) as info:
        parse_schedule(MINIMAL + MINIMAL.split("year = 2026\n", 1)[1], source="lich.toml")
    assert [e.key for e in info.value.errors] == ["core.official_calendar.day_twice"]


def test_a_huge_or_broken_file_is_refused_before_parsing() -> None:
    with pytest.raises(ScheduleInvalid) as info:
        parse_schedule(MINIMAL + "#" * 300_000, source="big.toml")
    assert "big.toml" in info.value.message("en") and "KiB" in info.value.message("en")
    with pytest.raises(ScheduleInvalid) as info:
        parse_schedule("[[year]\n", source="broken.toml")
    assert "broken.toml" in info.value.message("vi")


def test_decide_newer_same_older_conflict() -> None:
    old, new = bundled_schedule(), parse_schedule(newer_edition())
    assert decide(None, old) == Outcome.APPLIED
    assert decide(old, new) == Outcome.APPLIED
    assert decide(new, old) == Outcome.OLDER
    assert decide(new, parse_schedule(newer_edition())) == Outcome.UNCHANGED
    with pytest.raises(ValidationError):
        decide(new, parse_schedule(newer_edition(extra_day="2026-12-30")))


# --- Import into a desk --------------------------------------------------------------------------

def test_import_applies_a_newer_edition_at_once_and_audits_it(desk: Services, lead: Actor,
                                                              tmp_path: Path) -> None:
    received = datetime(2026, 12, 29, 9, 0)
    before = desk.ctx.calendar.due_at(received, THREE_DAYS)
    assert before == datetime(2027, 1, 4, 9, 0)  # 30/12, 31/12, (1/1 off) 4/1
    path = tmp_path / "lich-2026-06.toml"
    path.write_text(newer_edition(), encoding="utf-8")

    result = import_schedule_file(desk, path, lead)

    assert (result.outcome, result.in_force) == (Outcome.APPLIED, date(2026, 6, 1))
    assert desk.ctx.calendar.due_at(received, THREE_DAYS) == datetime(2027, 1, 5, 9, 0)
    assert rows(desk.db.path, "SELECT version, origin, imported_by FROM official_calendar") == \
        [("2026-06-01", "import", "hung")]
    audit = rows(desk.db.path, "SELECT officer_username, detail FROM auditlog "
                               "WHERE action = 'calendar.import'")
    assert audit[0][0] == "hung" and "version=2026-06-01 outcome=applied" in audit[0][1]
    # the same file again changes nothing
    assert import_schedule_file(desk, path, lead).outcome == Outcome.UNCHANGED


def test_the_stored_edition_survives_a_restart(desk: Services, lead: Actor, tmp_path: Path,
                                               paths: Paths) -> None:
    path = tmp_path / "lich.toml"
    path.write_text(newer_edition(), encoding="utf-8")
    import_schedule_file(desk, path, lead)
    reopened = Services.open(desk.db.path, paths)
    try:
        assert not reopened.ctx.calendar.is_working_day(date(2026, 12, 31))
        assert reopened.ctx.calendar.official.version == date(2026, 6, 1)
    finally:
        reopened.close()


def test_an_invalid_or_older_file_stores_nothing(desk: Services, lead: Actor,
                                                 tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(newer_edition().replace('kind = "working_day"', 'kind = "lam_bu"', 1),
                   encoding="utf-8")
    with pytest.raises(ScheduleInvalid) as info:
        import_schedule_file(desk, bad, lead)
    assert "bad.toml, dòng" in info.value.message("vi")
    older = tmp_path / "older.toml"
    older.write_text(MINIMAL.replace("version = 2026-03-01", "version = 2025-01-01"),
                     encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        import_schedule_file(desk, older, lead)
    assert "2026-01-05" in info.value.message("en")
    assert rows(desk.db.path, "SELECT count(*) FROM official_calendar") == [(0,)]
    assert desk.ctx.calendar.is_working_day(date(2026, 12, 31))


def test_an_officer_without_the_calendar_role_cannot_import(desk: Services, officer: Actor,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "lich.toml"
    path.write_text(newer_edition(), encoding="utf-8")
    with pytest.raises(PermissionDenied):
        import_schedule_file(desk, path, officer)
    assert rows(desk.db.path, "SELECT count(*) FROM official_calendar") == [(0,)]


def oversized(tmp_path: Path) -> Path:
    """A valid newer edition padded with a comment past the 256 KiB a schedule may take."""
    path = tmp_path / "lich-qua-lon.toml"
    path.write_text(newer_edition() + "#" * MAX_BYTES + "\n", encoding="utf-8")
    return path


def test_an_oversized_file_is_refused_by_name_before_it_is_read(desk: Services, lead: Actor,
                                                                tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        import_schedule_file(desk, oversized(tmp_path), lead)
    assert info.value.key == "reliability.security.too_large"
    assert "lich-qua-lon.toml" in info.value.message("vi")
    assert rows(desk.db.path, "SELECT count(*) FROM official_calendar") == [(0,)]
    assert desk.ctx.calendar.is_working_day(date(2026, 12, 31))


# --- The relay seam ------------------------------------------------------------------------------

def test_a_relayed_payload_is_applied_and_an_older_one_ignored(desk: Services) -> None:
    payload = orjson.loads(orjson.dumps(schedule_payload(parse_schedule(newer_edition()))))
    assert apply_schedule_payload(desk, payload, origin="usb").outcome == Outcome.APPLIED
    assert not desk.ctx.calendar.is_working_day(date(2026, 12, 31))
    stale = schedule_payload(bundled_schedule())
    assert apply_schedule_payload(desk, stale).outcome == Outcome.OLDER
    assert rows(desk.db.path, "SELECT origin FROM official_calendar") == [("usb",)]
    assert apply_schedule_payload(desk, payload).outcome == Outcome.UNCHANGED
    assert rows(desk.db.path, "SELECT count(*) FROM auditlog WHERE action = 'calendar.import'"
                ) == [(1,)]  # resends leave no trace


@pytest.mark.parametrize("tamper", [
    lambda p: p.update(toml=p["toml"].replace("Ngày nghỉ thêm", "Ngày khác")),  # sha mismatch
    lambda p: p.update(kind="catalog"),
    lambda p: p.update(version="2030-01-01"),
    lambda p: p.update(toml=None),
])
def test_a_tampered_payload_is_refused_and_nothing_is_written(desk: Services, tamper) -> None:  # noqa: ANN001
    payload = schedule_payload(parse_schedule(newer_edition()))
    tamper(payload)
    with pytest.raises(ValidationError):
        apply_schedule_payload(desk, payload)
    assert rows(desk.db.path, "SELECT count(*) FROM official_calendar") == [(0,)]


# --- The command line ---------------------------------------------------------------------------

def run(*args: str, home: Path, lang: str = "vi") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CCDESK_HOME": str(home), "CCDESK_LANG": lang}
    env.pop("CCDESK_DB", None)
    return subprocess.run([CCDESK, *args], capture_output=True, text=True, env=env, timeout=60)


def test_cli_import_then_list_marks_sources_and_provisional_days(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(MINIMAL.replace("date = 2026-01-02", "date = 2026-02-30"), encoding="utf-8")
    out = run("calendar", "import", str(bad), home=tmp_path, lang="en")
    assert out.returncode == 2 and "bad.toml" in out.stderr and "Traceback" not in out.stderr
    good = tmp_path / "good.toml"
    good.write_text(newer_edition(), encoding="utf-8")
    out = run("calendar", "import", str(good), home=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "2026-06-01" in out.stdout
    out = run("calendar", "list", "--year", "2026", "--json", home=tmp_path)
    data = orjson.loads(out.stdout)
    assert data["official_edition"] == "2026-06-01"
    off = {d["date"]: d for d in data["days_off"]}
    assert off["2026-12-31"]["source"] == "official"
    assert off["2026-11-24"]["provisional"] is True and off["2026-11-24"]["reason"]
    assert off["2026-01-02"]["document"].endswith("12729/VPCP-KGVX của Văn phòng Chính phủ")
    assert off["2026-01-02"]["provisional"] is False


def test_cli_import_of_an_oversized_file_names_it_and_changes_nothing(tmp_path: Path) -> None:
    out = run("calendar", "import", str(oversized(tmp_path)), home=tmp_path, lang="en")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "lich-qua-lon.toml" in out.stderr and "256 KiB" in out.stderr
    out = run("calendar", "list", "--year", "2026", "--json", home=tmp_path)
    assert orjson.loads(out.stdout)["official_edition"] == "2026-01-05"  # the bundled one


def test_migration_0009_down_and_up(desk: Services, lead: Actor, tmp_path: Path) -> None:
    from alembic import command

    from ccdesk.storage.migrate import alembic_config, current_revision

    path = tmp_path / "lich.toml"
    path.write_text(newer_edition(), encoding="utf-8")
    import_schedule_file(desk, path, lead)
    desk.close()
    cfg = alembic_config(f"sqlite:///{desk.db.path}")
    command.downgrade(cfg, "0006_outbox_retention")
    assert current_revision(desk.db.path) == "0006_outbox_retention"
    assert not rows(desk.db.path, "SELECT name FROM sqlite_master WHERE name = 'official_calendar'")
    command.upgrade(cfg, "head")
    assert rows(desk.db.path, "SELECT count(*) FROM official_calendar") == [(0,)]
