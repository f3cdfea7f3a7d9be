"""Every screen at 80×24, compared with the SVGs committed under ``__snapshots__``.

The clock is pinned (conftest ``NOW``) so dates, due times and dossier codes are stable; cursor
blink is turned off and workers are awaited before the picture is taken.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select

from ccdesk.app import DeskApp
from ccdesk.demo import seed_demo
from ccdesk.paths import Paths
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from screens.dossier import DossierScreen
from tests.screens.conftest import SIZE
from tests.screens.helpers import settle, type_into

Step = Callable[[Pilot], Awaitable[None]]


@pytest.fixture
def paths() -> Iterator[Paths]:
    """The settings screen shows the calendar file's path and wraps a long one, which moves
    its scrollbar: the snapshots' files live in a folder of the same length on every run,
    whatever number pytest gives its temporary folder (one folder per xdist worker)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    tag = hashlib.sha1(worker.encode()).hexdigest()[:8]
    root = Path(tempfile.gettempdir()) / f"ccdesk-snap-{tag}"
    shutil.rmtree(root, ignore_errors=True)
    yield Paths(data_dir=root / "data", config_dir=root / "config")
    shutil.rmtree(root, ignore_errors=True)


def steady(*steps: Step) -> Step:
    """Run ``steps``, then wait for workers and stop every cursor from blinking."""
    async def run(pilot: Pilot) -> None:
        await settle(pilot)
        for step in steps:
            await step(pilot)
            await settle(pilot)
        for widget in pilot.app.screen.query(Input):
            widget.cursor_blink = False
        await pilot.pause()

    return run


def keys(*names: str) -> Step:
    async def press(pilot: Pilot) -> None:
        await pilot.press(*names)

    return press


def receive(services, actor, missing: bool = False) -> str:  # noqa: ANN001
    positions = (1,) if missing else (1, 2, 3)
    decision = Decision.SUPPLEMENT if missing else Decision.ACCEPT
    return services.intake.submit(actor, IntakeRequest(
        "1.001193", Applicant("Đặng Thị Hoà", "001185012345", phone="0912345678",
                              address="Thôn 3, xã An Phú"),
        [ChecklistEntry(p, True) for p in positions]), decision).dossier.code


async def _applicant(pilot: Pilot) -> None:
    await pilot.press("f2")
    await settle(pilot)
    await type_into(pilot, "#procedure-query", "khai sinh")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    await type_into(pilot, "#id_number", "001185012345")
    await type_into(pilot, "#full_name", "Đặng Thị Hoà")
    await type_into(pilot, "#phone", "09123")


def test_setup(snap_compare, empty_services) -> None:
    assert snap_compare(DeskApp(empty_services), terminal_size=SIZE, run_before=steady())


def test_login(snap_compare, services) -> None:
    assert snap_compare(DeskApp(services), terminal_size=SIZE, run_before=steady())


def test_home(snap_compare, services, actor) -> None:
    receive(services, actor)
    receive(services, actor, missing=True)
    assert snap_compare(DeskApp(services, actor=actor), terminal_size=SIZE,
                        run_before=steady())


def test_intake_procedure(snap_compare, services, actor) -> None:
    async def search(pilot: Pilot) -> None:
        await pilot.press("f2")
        await settle(pilot)
        await type_into(pilot, "#procedure-query", "dang ky")

    assert snap_compare(DeskApp(services, actor=actor), terminal_size=SIZE,
                        run_before=steady(search))


def test_intake_applicant(snap_compare, services, actor) -> None:
    """The phone number is half typed: its error shows under the field."""
    assert snap_compare(DeskApp(services, actor=actor), terminal_size=SIZE,
                        run_before=steady(_applicant))


def test_intake_checklist(snap_compare, services, actor) -> None:
    async def fix_phone(pilot: Pilot) -> None:
        await type_into(pilot, "#phone", "0912345678")

    assert snap_compare(DeskApp(services, actor=actor), terminal_size=SIZE,
                        run_before=steady(_applicant, fix_phone, keys("f8"), keys("space")))


def test_intake_decision(snap_compare, services, actor) -> None:
    async def fix_phone(pilot: Pilot) -> None:
        await type_into(pilot, "#phone", "0912345678")

    assert snap_compare(DeskApp(services, actor=actor), terminal_size=SIZE,
                        run_before=steady(_applicant, fix_phone, keys("f8"), keys("f7"),
                                          keys("f8")))


def test_dossier(snap_compare, services, actor) -> None:
    code = receive(services, actor, missing=True)

    async def open_dossier(pilot: Pilot) -> None:
        pilot.app.push_screen(DossierScreen(services, code))

    assert snap_compare(DeskApp(services, actor=actor), terminal_size=SIZE,
                        run_before=steady(open_dossier))


def test_register(snap_compare, services, actor) -> None:
    seed_demo(services, 40, 30, 3, False)  # seeded: the same invented dossiers every run
    receive(services, actor)
    assert snap_compare(DeskApp(services, actor=actor), terminal_size=SIZE,
                        run_before=steady(keys("f4")))


def test_reports(snap_compare, services, actor) -> None:
    receive(services, actor)
    receive(services, actor, missing=True)
    assert snap_compare(DeskApp(services, actor=actor), terminal_size=SIZE,
                        run_before=steady(keys("f5")))


def test_sync(snap_compare, services, actor) -> None:
    receive(services, actor)
    assert snap_compare(DeskApp(services, actor=actor), terminal_size=SIZE,
                        run_before=steady(keys("f6")))


def test_settings_in_english(snap_compare, services, actor) -> None:
    async def english(pilot: Pilot) -> None:
        pilot.app.screen.query_one("#language", Select).value = "en"

    assert snap_compare(DeskApp(services, actor=actor), terminal_size=SIZE,
                        run_before=steady(keys("f9"), english))


def test_help(snap_compare, services, actor) -> None:
    assert snap_compare(DeskApp(services, actor=actor), terminal_size=SIZE,
                        run_before=steady(keys("f2"), keys("f1")))
