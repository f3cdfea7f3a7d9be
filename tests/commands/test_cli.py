"""The installed ``ccdesk`` command, run as IT staff and scripts run it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import orjson
import pytest

from ccdesk import __version__
from ccdesk.services.catalog import BUNDLED_CATALOG
from tests.conftest import CCDESK
from tests.conftest import run_ccdesk as run


def test_version(tmp_path: Path) -> None:
    out = run("--version", home=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == f"ccdesk {__version__}"


def test_calendar_due_prints_iso_as_last_line(tmp_path: Path) -> None:
    out = run("calendar", "due", "--received", "2026-11-20 16:00", "--same-day", home=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "2026-11-23T17:00"
    out = run("calendar", "due", "--received", "2026-11-21 10:00", "--days", "3", "--json",
              home=tmp_path)
    # a Saturday receipt counts from Monday's opening (07:30); 24/11 is a provisional day off
    data = orjson.loads(out.stdout)
    assert data["due_at"] == "2026-11-27T07:30"
    assert [d["date"] for d in data["provisional"]] == ["2026-11-24"]


def test_calendar_due_rejects_bad_input_clearly(tmp_path: Path) -> None:
    out = run("calendar", "due", "--received", "hôm qua", "--days", "3", home=tmp_path)
    assert out.returncode == 2 and "--received" in out.stderr and "Traceback" not in out.stderr
    out = run("calendar", "due", "--received", "2026-11-21 10:00", home=tmp_path, lang="en")
    assert out.returncode == 2 and "--same-day" in out.stderr


def test_calendar_list_uses_overrides(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "calendar.toml").write_text(
        '[[days_off]]\ndate = 2026-12-31\nname = "Nghỉ cuối năm"\n', encoding="utf-8")
    out = run("calendar", "list", "--year", "2026", "--json", home=tmp_path)
    data = orjson.loads(out.stdout)
    off = {d["date"]: d["name"] for d in data["days_off"]}
    assert off["2026-12-31"] == "Nghỉ cuối năm"
    assert "2026-02-17" in off
    assert {"2026-01-10", "2026-08-22"} <= {d["date"] for d in data["working_days"]}


def test_calendar_override_error_names_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "calendar.toml").write_text('[[days_off]]\ndate = "mai"\nname = "x"\n',
                                          encoding="utf-8")
    out = run("calendar", "list", "--year", "2026", home=tmp_path)
    assert out.returncode == 2
    assert "calendar.toml, dòng 2" in out.stderr and "Traceback" not in out.stderr


def test_catalog_check_and_import(tmp_path: Path) -> None:
    out = run("catalog", "check", str(BUNDLED_CATALOG), home=tmp_path)
    assert out.returncode == 0 and "22 thủ tục" in out.stdout   # 18 + the linked groups' 4
    bad = tmp_path / "bad.toml"
    bad.write_text(BUNDLED_CATALOG.read_text(encoding="utf-8").replace(
        'form = "show"', 'form = "xem"', 1), encoding="utf-8")
    out = run("catalog", "check", str(bad), home=tmp_path, lang="en")
    assert out.returncode == 1
    assert f"{bad}, line " in out.stderr and "documents.2.form" in out.stderr
    out = run("catalog", "import", str(bad), home=tmp_path)
    assert out.returncode == 1
    out = run("catalog", "import", str(BUNDLED_CATALOG), home=tmp_path)
    assert out.returncode == 0, out.stderr
    out = run("catalog", "list", "khai sinh", "--json", home=tmp_path)
    assert "1.001193" in {p["code"] for p in orjson.loads(out.stdout)}


@pytest.mark.parametrize("db_flag", ["--db", "CCDESK_DB"])
def test_db_can_be_chosen(tmp_path: Path, db_flag: str) -> None:
    target = tmp_path / "elsewhere" / "desk.sqlite3"
    if db_flag == "--db":
        out = run("--db", str(target), "catalog", "import", str(BUNDLED_CATALOG), home=tmp_path)
    else:
        env = {**os.environ, "CCDESK_HOME": str(tmp_path), "CCDESK_DB": str(target)}
        out = subprocess.run([CCDESK, "catalog", "import", str(BUNDLED_CATALOG)],
                             capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert target.exists()
    assert not (tmp_path / "data" / "ccdesk.sqlite3").exists()
