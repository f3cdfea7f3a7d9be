"""The return flow hands the rating to the citizen: answered on the tablet page (a real
server on 127.0.0.1), on the USB keypad, or not at all (the officer's fallback after the wait)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator

import httpx
import pytest

from ccdesk.app import DeskApp
from ccdesk.domain.lifecycle import Action
from ccdesk.services import Actor, Services
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from ccdesk.web.kiosk import make_app
from screens.dossier import DossierScreen
from screens.modals.citizen_rating import CitizenRatingWait
from screens.modals.rating import RatingModal
from tests.screens.conftest import SIZE
from tests.screens.helpers import settle, wait_for_screen
from tests.screens.test_dossier import choose_action, confirm
from tests.web.helpers import KioskThread, token_in


def ready_dossier(services: Services, actor: Actor) -> str:
    result = services.intake.submit(actor, IntakeRequest(
        "2.000884", Applicant("Lê Thị Hoà", "001185012345", phone="0912345678"),
        [ChecklistEntry(p, True) for p in (1, 2)], fee_amount=0), Decision.ACCEPT)
    services.dossiers.act(actor, result.dossier.code, Action.MARK_READY)
    return result.dossier.code


def stored_rating(services: Services, code: str) -> tuple[str, str] | None:
    with sqlite3.connect(services.db.path) as db:
        return db.execute("SELECT r.level, r.source FROM rating r JOIN dossier d "
                          "ON d.id = r.dossier_id WHERE d.code = ?", (code,)).fetchone()


@pytest.fixture
def kiosk(services: Services) -> Iterator[KioskThread]:
    server = KioskThread(make_app(rating=services.citizen_rating, queue=None))
    yield server
    server.stop()


async def return_and_ask(pilot, code: str) -> None:  # noqa: ANN001 - Pilot
    await choose_action(pilot, Action.RETURN_RESULT)
    await confirm(pilot, then=RatingModal)
    await pilot.press("c")
    await wait_for_screen(pilot, CitizenRatingWait)
    await settle(pilot)


async def test_citizen_answers_on_the_tablet(services, actor, kiosk) -> None:
    code = ready_dossier(services, actor)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(DossierScreen(services, code))
        await wait_for_screen(pilot, DossierScreen)
        await return_and_ask(pilot, code)
        async with httpx.AsyncClient(base_url=kiosk.url) as client:
            page = (await client.get("/")).text
            token = token_in(page)
            assert token and "Chứng thực chữ ký" in page
            assert "Lê Thị Hoà" not in page and "001185012345" not in page
            done = await client.post("/rate", data={"token": token, "level": "dissatisfied"})
            assert done.status_code == 200
        await wait_for_screen(pilot, DossierScreen, tries=200)
        await settle(pilot)
    assert stored_rating(services, code) == ("dissatisfied", "citizen")


async def test_citizen_answers_on_the_keypad(services, actor) -> None:
    code = ready_dossier(services, actor)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(DossierScreen(services, code))
        await wait_for_screen(pilot, DossierScreen)
        await return_and_ask(pilot, code)
        await pilot.press("2")
        await wait_for_screen(pilot, DossierScreen, tries=200)
        await settle(pilot)
    assert stored_rating(services, code) == ("satisfied", "citizen")


async def test_no_answer_falls_back_to_the_officer(services, actor) -> None:
    services.config.citizen_rating_seconds = 1
    code = ready_dossier(services, actor)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(DossierScreen(services, code))
        await wait_for_screen(pilot, DossierScreen)
        await return_and_ask(pilot, code)
        for _ in range(100):  # the wait ends on its own (1 s); nothing is pressed meanwhile
            if isinstance(app.screen, RatingModal):
                break
            await asyncio.sleep(0.05)
        assert isinstance(app.screen, RatingModal)
        assert services.citizen_rating.question() is None  # the tablet shows nothing now
        await pilot.press("3")
        await wait_for_screen(pilot, DossierScreen)
        await settle(pilot)
    assert stored_rating(services, code) == ("dissatisfied", "officer")
