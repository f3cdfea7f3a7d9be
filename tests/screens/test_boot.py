"""Start-up that does not grow with the database (issue 17): the day's backup and a due
whole-file check run behind the working desk, once home is shown, and say what they found."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import pytest

from ccdesk.storage import backup as bk
from ccdesk.storage import integrity, soundness
from screens.home import HomeScreen
from tests.reliability.test_start_checks import damage_a_middle_page
from tests.screens.conftest import PIN, SIZE
from tests.screens.helpers import behind_the_desk, settle, type_into
from tests.screens.test_fast_start import _desk_opening, _ready_copy


async def _log_in(pilot, *, wait_for_all: bool = True) -> None:  # noqa: ANN001 - Pilot
    await pilot.pause()
    await type_into(pilot, "#pin", PIN)
    await pilot.press("enter")
    if wait_for_all:
        await settle(pilot)
        return
    for _ in range(500):  # not ``settle``: it would also wait for a gated backup
        cards = pilot.app.screen.query("#count-received_today")
        if isinstance(pilot.app.screen, HomeScreen) and cards and \
                "Tiếp nhận hôm nay" in str(cards.first().render()):
            return
        await pilot.pause(0.02)
    raise AssertionError(f"home never showed its counts: {pilot.app.screen!r}")


def _left_by_a_crash(data: Path, db: Path) -> integrity.OpenMarker:
    """The open marker of a session that never closed, found by this start (as ``ccdesk``
    does before anything else); the weekly check itself is not due."""
    integrity.record_full_check(data, db, None)
    integrity.marker_file(data, db).parent.mkdir(parents=True, exist_ok=True)
    integrity.marker_file(data, db).touch()
    marker = integrity.OpenMarker(data, db)
    assert marker.open() is True
    return marker


async def test_after_an_unclean_exit_the_full_check_runs_behind_the_desk(
        services, tmp_path) -> None:
    db, paths = _ready_copy(services, tmp_path), services.paths
    marker = _left_by_a_crash(paths.data_dir, db)
    app = _desk_opening(db, paths)
    assert app.loader.upkeep is not None and app.loader.upkeep.due == (integrity.UNCLEAN,)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _log_in(pilot)
            assert isinstance(app.screen, HomeScreen)
            await behind_the_desk(pilot)
            assert not [n for n in app._notifications if n.severity == "error"]
    finally:
        app.loader.close()
        marker.close()
    assert integrity.due_reasons(paths.data_dir, db) == []  # checked, found sound


async def test_damage_found_behind_the_desk_is_shown_and_checked_first_next_time(
        services, tmp_path) -> None:
    db, paths = _ready_copy(services, tmp_path), services.paths
    good = bk.take_backup(db, paths.backups_dir, now=datetime(2026, 11, 22, 7))
    marker = _left_by_a_crash(paths.data_dir, db)
    damage_a_middle_page(db)  # the cheap look before the login does not read that page
    app = _desk_opening(db, paths)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _log_in(pilot)
            assert isinstance(app.screen, HomeScreen)  # the desk opened on it
            await behind_the_desk(pilot)
            errors = [n.message for n in app._notifications if n.severity == "error"]
            assert len(errors) == 1, errors
            assert "phát hiện cơ sở dữ liệu" in errors[0] and str(good) in errors[0]
            assert "gọi bộ phận CNTT" in errors[0]
    finally:
        app.loader.close()
        marker.close()
    assert integrity.due_reasons(paths.data_dir, db) == [integrity.DAMAGED]
    with pytest.raises(soundness.DatabaseDamaged) as err:  # the next start: before the first screen
        _desk_opening(db, paths)
    assert err.value.backup == good


async def test_the_days_backup_never_holds_the_home_screen_back(
        services, tmp_path, monkeypatch) -> None:
    db, paths = _ready_copy(services, tmp_path), services.paths
    integrity.record_full_check(paths.data_dir, db, None)
    gate, started = threading.Event(), threading.Event()
    real_backup = bk.daily_backup

    def slow_backup(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        started.set()
        assert gate.wait(60)
        return real_backup(*args, **kwargs)

    monkeypatch.setattr(bk, "daily_backup", slow_backup)
    app = _desk_opening(db, paths)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _log_in(pilot, wait_for_all=False)
            for _ in range(200):  # the backup starts once home's counts are shown
                if started.is_set():
                    break
                await pilot.pause(0.02)
            assert started.is_set()
            counts = str(app.screen.query_one("#count-received_today").render())
            assert "Tiếp nhận hôm nay" in counts  # home is working, the backup still waits
            assert not list(paths.backups_dir.glob("*-daily-*"))
            await pilot.press("f4")  # and the desk answers keys meanwhile
            await pilot.pause()  # (not ``settle``: that would wait for the gated backup)
            assert app.current_mode == "register"
            gate.set()
            await behind_the_desk(pilot)
            assert len(list(paths.backups_dir.glob("*-daily-*"))) == 1
            assert not [n for n in app._notifications if n.severity != "information"]
    finally:
        gate.set()
        app.loader.close()
