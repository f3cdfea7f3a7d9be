"""Queue tickets from the home screen: F7 issues one for a chosen group (saved as an 80 mm
PDF here, no CUPS), F8 calls it; both keys do nothing while the office has tickets off."""

from __future__ import annotations

from pathlib import Path

from ccdesk.app import DeskApp
from screens.home import HomeScreen
from screens.queue import QueueGroupPicker
from tests.screens.conftest import SIZE
from tests.screens.helpers import settle, wait_for_screen


async def test_issue_and_call_from_home(services, actor) -> None:
    services.config.queue_tickets = True
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_screen(pilot, HomeScreen)
        await pilot.press("f7")
        await wait_for_screen(pilot, QueueGroupPicker)
        await pilot.press("enter")              # the first group
        await wait_for_screen(pilot, HomeScreen)
        for worker in list(app.workers):
            await worker.wait()
        [group] = [s.group for s in services.queue.board()]
        saved = list(Path(services.paths.forms_dir).glob("ticket_*_001.pdf"))
        assert len(saved) == 1
        await pilot.press("f8")
        await settle(pilot)
        for worker in list(app.workers):
            await worker.wait()
        await pilot.pause()
        line = str(app.screen.query_one("#home-queue").content)
        assert line == f"Mời số 001 · {group}"
    [serving] = services.queue.board()
    assert (serving.number, serving.waiting) == (1, 0)


async def test_keys_do_nothing_when_tickets_are_off(services, actor) -> None:
    assert services.config.queue_tickets is False
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_screen(pilot, HomeScreen)
        await pilot.press("f7")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("f8")
        await settle(pilot)
    assert services.queue.board() == []
