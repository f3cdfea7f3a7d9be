"""The desk opens in two steps: the login screen from plain sqlite3, the services behind it."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from ccdesk.app import DeskApp
from ccdesk.config import Config
from ccdesk.paths import Paths
from ccdesk.services import Services
from ccdesk.services.startup import ServicesLoader, begin_opening, read_login_facts
from screens.home import HomeScreen
from screens.login import LoginScreen
from screens.widgets.choice_line import ChoiceLine
from screens.widgets.field import FormField
from tests.screens.conftest import PIN, SIZE
from tests.screens.helpers import behind_the_desk, settle, type_into

REPO = Path(__file__).resolve().parents[2]

# The real entry point, headless, with the services never opened: what the first screen shows
# and which modules it took.
FIRST_SCREEN_CHILD = """
import sys
import ccdesk.app as desk
from ccdesk.services.startup import ServicesLoader

ServicesLoader.begin = lambda self: None  # the services stay unopened

def run(self, **kwargs):
    async def first_screen(pilot):
        await pilot.pause()
        screen = pilot.app.screen
        office = [str(label.content) for label in screen.query(".office-line")]
        orm = sorted(m for m in ("sqlalchemy", "sqlmodel", "pydantic", "ccdesk.models")
                     if m in sys.modules)
        print(type(screen).__name__, "|", ";".join(office), "|", screen.query_one("#officer").value,
              "|", ",".join(orm), flush=True)
        pilot.app.exit()
    return original(self, headless=True, auto_pilot=first_screen)

original = desk.DeskApp.run
desk.DeskApp.run = run
sys.argv = ["ccdesk", "--db", sys.argv[1]]
from ccdesk.launch import main
main()
"""


# The same, the PIN typed on that first screen: it is checked ahead while the services stay
# unopened (services/pin_ahead.py reads the officer's hash from the file).
PIN_AHEAD_CHILD = FIRST_SCREEN_CHILD.replace("""        office = [""", """\
        for digit in TYPED:
            await pilot.press(digit)
        ahead = pilot.app._pin_ahead
        for _ in range(1500):
            if ahead._done is not None and ahead._done[0][1] == TYPED:
                break
            await pilot.pause(0.02)
        done = ahead._done
        right = done is not None and done[0][1] == TYPED and bool(done[1] and done[1].matches)
        print("verdict", right,
              "| opened", pilot.app.loader.is_ready, "|", end=" ")
        office = [""").replace("original = desk", "TYPED = sys.argv[2]\noriginal = desk")


def _ready_copy(services: Services, tmp_path: Path) -> Path:
    """The set-up desk's file, checkpointed and copied to where nothing else has it open."""
    services.close()
    target = tmp_path / "desk" / "ccdesk.sqlite3"
    target.parent.mkdir()
    shutil.copy(services.db.path, target)
    return target


def _desk_opening(db: Path, paths: Paths) -> DeskApp:
    """The desk as ``ccdesk`` opens it: login facts read, the services opening behind."""
    opening = begin_opening(db, paths, Config())
    assert opening is not None
    loader, facts = opening
    return DeskApp(loader, login=facts, config=Config(), config_path=paths.config_file)


def test_the_login_screen_is_painted_without_the_orm(services, tmp_path) -> None:
    db = _ready_copy(services, tmp_path)
    env = {**os.environ, "CCDESK_HOME": str(tmp_path / "home"), "CCDESK_LANG": "vi"}
    out = subprocess.run([sys.executable, "-c", FIRST_SCREEN_CHILD, str(db)], env=env,
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    screen, office, officer, orm = (part.strip() for part in out.stdout.strip().split("|"))
    assert screen == "LoginScreen"
    assert office == "UBND XÃ AN PHÚ;TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG"
    assert officer == "lan"  # the only officer, chosen already
    assert orm == ""  # SQLAlchemy, pydantic and the models load behind the login screen


def test_the_pin_typed_is_checked_before_the_services_open(services, tmp_path) -> None:
    db = _ready_copy(services, tmp_path)
    env = {**os.environ, "CCDESK_HOME": str(tmp_path / "home"), "CCDESK_LANG": "vi"}
    out = subprocess.run([sys.executable, "-c", PIN_AHEAD_CHILD, str(db), PIN], env=env,
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    verdict, opened, screen, _, _, orm = (part.strip() for part in out.stdout.strip().split("|"))
    assert (verdict, opened, screen) == ("verdict True", "opened False", "LoginScreen")
    assert orm == ""  # the check ahead needs neither the ORM nor the services


def test_a_new_desk_opens_the_long_way(empty_services, tmp_path) -> None:
    assert read_login_facts(tmp_path / "nothing-here.sqlite3") is None
    assert not (tmp_path / "nothing-here.sqlite3").exists()  # the look creates nothing
    assert read_login_facts(empty_services.db.path) is None  # setup not finished


def test_a_desk_due_for_a_migration_opens_the_long_way(services) -> None:
    facts = read_login_facts(services.db.path)
    assert facts is not None and facts.officers == (("lan", "Nguyễn Thị Lan"),)
    services.db.engine.dispose()
    with sqlite3.connect(services.db.path) as con:
        con.execute("UPDATE alembic_version SET version_num = '0003_sync'")
    assert read_login_facts(services.db.path) is None


def _desk_still_opening(services: Services, tmp_path: Path) -> tuple[DeskApp, threading.Event]:
    """The desk at its login, its services opening only once the returned gate is set."""
    db, paths, config = _ready_copy(services, tmp_path), services.paths, services.config
    gate = threading.Event()

    def open_slowly() -> Services:
        assert gate.wait(30)
        return Services.open(db, paths, config=config)

    app = DeskApp(ServicesLoader(open_slowly), login=read_login_facts(db), config=config,
                  config_path=paths.config_file)
    return app, gate


async def test_logging_in_waits_for_the_services_still_opening(services, tmp_path) -> None:
    app, gate = _desk_still_opening(services, tmp_path)
    loader = app.loader
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, LoginScreen) and not loader.is_ready
            await type_into(pilot, "#pin", PIN)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, LoginScreen)  # still opening: the login waits
            gate.set()
            await settle(pilot)
            assert isinstance(app.screen, HomeScreen)
            assert app.actor is not None and app.actor.username == "lan"
    finally:
        gate.set()
        loader.close()


async def test_the_login_is_painted_from_the_frame_sheet_and_the_rest_is_read_behind(
        services, tmp_path) -> None:
    """Only frame.tcss is parsed before the login's first frame; a help opened over the login,
    and any screen after it, has the desk's other sheets (the help box 76 columns wide, home's
    count cards with round borders)."""
    from ccdesk.app import DESK_SHEETS, FRAME_SHEET
    from screens.modals.help import HelpModal

    app, gate = _desk_still_opening(services, tmp_path)
    read = lambda sheet: app.stylesheet.has_source(str(sheet), "")  # noqa: E731
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, LoginScreen)
            assert read(FRAME_SHEET) and not any(read(sheet) for sheet in DESK_SHEETS)
            await pilot.press("f1")
            await pilot.pause()
            assert isinstance(app.screen, HelpModal)
            assert all(read(sheet) for sheet in DESK_SHEETS)
            assert app.screen.query_one(".modal-box").styles.width.value == 76  # .help-box
            await pilot.press("escape")
            await pilot.pause()
            gate.set()
            await type_into(pilot, "#pin", PIN)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, HomeScreen)
            counts = app.screen.query(".count")
            assert counts and all(c.styles.border.top[0] == "round" for c in counts)
    finally:
        gate.set()
        app.loader.close()


async def test_a_wrong_pin_is_refused_through_the_loader(services, tmp_path) -> None:
    app = _desk_opening(_ready_copy(services, tmp_path), services.paths)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert app.screen.query_one("#officer", ChoiceLine).value == "lan"
            await type_into(pilot, "#pin", "0000")
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, LoginScreen)
            assert "không đúng" in app.screen.query_one("#field-pin", FormField).error_text
    finally:
        app.loader.close()


async def test_a_failed_daily_backup_behind_the_login_is_shown_after_it(
        services, tmp_path) -> None:
    db = _ready_copy(services, tmp_path)
    paths = Paths(data_dir=tmp_path / "data2", config_dir=tmp_path / "config2")
    paths.data_dir.mkdir()
    paths.backups_dir.write_text("a file where the backups folder should be")
    app = _desk_opening(db, paths)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await type_into(pilot, "#pin", PIN)
            await pilot.press("enter")
            await behind_the_desk(pilot)  # the day's backup runs behind the home screen
            assert isinstance(app.screen, HomeScreen)
            shown = [n.message for n in app._notifications]
            assert any(str(paths.backups_dir) in message for message in shown), shown
    finally:
        app.loader.close()


def test_a_failed_opening_is_reported_then_tried_again(services) -> None:
    """A busy database at start: the login says so, and the next attempt opens the desk."""
    from ccdesk.domain.errors import StorageError

    attempts: list[int] = []

    def open_services() -> Services:
        attempts.append(1)
        if len(attempts) == 1:
            raise StorageError("core.err.storage", detail="busy", path="ccdesk.sqlite3")
        return services

    loader = ServicesLoader(open_services)
    loader.begin()
    try:
        loader.get()
    except StorageError as err:
        assert err.key == "core.err.storage"
    else:
        raise AssertionError("the first opening should have failed")
    assert loader.get() is services and len(attempts) == 2


def test_what_is_readied_behind_the_login_never_fails_the_opening(services) -> None:
    """``after_open`` runs once the services are open; one that fails is logged, the next
    still runs, and the services stay open and usable."""
    readied = threading.Event()

    def broken(_opened: Services) -> None:
        raise RuntimeError("readying failed")

    loader = ServicesLoader(lambda: services)
    loader.after_open.extend([broken, lambda opened: readied.set()])
    loader.begin()
    assert loader.get() is services
    assert readied.wait(30)
    assert loader.is_ready and loader.get().officers.list()
