"""The register as typed: a burst of keystrokes makes one search, for the final text, and a page
that arrives for an older query is never shown after a newer one."""

from __future__ import annotations

import threading

from ccdesk.app import DeskApp
from ccdesk.services.search import SearchService
from screens import register as register_module
from screens.register import RegisterScreen
from tests.screens.conftest import SIZE
from tests.screens.helpers import settle
from tests.screens.test_areas import PEOPLE, receive, table_codes


def counting(monkeypatch, hold: dict[str, threading.Event] | None = None) -> list[str]:  # noqa: ANN001
    """Record each query that reaches the search service; hold those named in ``hold``
    until their event is set (a slow query on a big database)."""
    asked: list[str] = []
    real = SearchService.register_page

    def register_page(self, query="", *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        asked.append(query)
        if hold and query in hold:
            hold[query].wait(timeout=10)
        return real(self, query, *args, **kwargs)

    monkeypatch.setattr(SearchService, "register_page", register_page)
    return asked


async def test_a_burst_of_keys_searches_once(services, actor, monkeypatch) -> None:
    """Ten keys typed within the debounce make one search, for the final text, and the table
    shows its rows. (The debounce is stretched so a loaded test machine cannot space the
    pilot's keys wider than it: the claim is about keys inside the window, not about speed.)"""
    codes = receive(services, actor)
    monkeypatch.setattr(register_module, "DEBOUNCE_S", 1.5)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, RegisterScreen)
        asked = counting(monkeypatch)
        await pilot.press(*"nguyen van")  # ten keys, as fast as the pilot presses them
        await settle(pilot)
        assert asked == ["nguyen van"]
        assert table_codes(app.screen.table) == [codes[PEOPLE.index(
            next(p for p in PEOPLE if p[0].startswith("Nguyễn")))]]


async def test_an_older_page_arriving_late_is_not_shown(services, actor, monkeypatch) -> None:
    codes = receive(services, actor)
    newer_done = threading.Event()
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        screen = app.screen
        asked = counting(monkeypatch, hold={"d": newer_done})
        await pilot.press("d")  # "d": Đặng and Đỗ (and Đức) — held like a slow query
        while "d" not in asked:
            await pilot.pause(0.05)
        await pilot.press("o")  # "do": only Đỗ Văn Đức
        while "do" not in asked:
            await pilot.pause(0.05)
        await settle(pilot)  # waits for the "do" worker; the "d" one is cancelled
        assert table_codes(screen.table) == [codes[1]]
        newer_done.set()  # now the older query answers, after the newer one was shown
        await pilot.pause(0.3)
        await settle(pilot)
        assert table_codes(screen.table) == [codes[1]]
