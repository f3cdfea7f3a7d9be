"""The linked screens at 80×24, compared with the SVGs under ``__snapshots__`` (the clock is
pinned by the screens' conftest, so codes and due times are stable)."""

from __future__ import annotations

from datetime import date

from ccdesk.app import DeskApp
from ccdesk.services.intake import Applicant
from ccdesk.services.linked import LinkedRequest
from screens.linked_group import LinkedGroupScreen
from tests.screens.conftest import SIZE
from tests.screens.helpers import type_into
from tests.screens.test_snapshots import keys, paths, steady  # noqa: F401 (paths: stable folders)


def test_linked_intake(snap_compare, services, actor) -> None:
    async def fill(pilot) -> None:  # noqa: ANN001
        await pilot.press("f2")
        await type_into(pilot, "#procedure-query", "lien thong khai tu")
        await pilot.press("enter")
        await pilot.pause()
        await type_into(pilot, "#id_number", "001085012345")
        await type_into(pilot, "#full_name", "Đặng Văn Đức")
        await type_into(pilot, "#subject_name", "Đặng Văn Tư")
        await type_into(pilot, "#subject_date", "21/11/2026")

    assert snap_compare(DeskApp(services, actor=actor), terminal_size=SIZE,
                        run_before=steady(fill, keys("f7")))


def test_linked_group(snap_compare, services, actor) -> None:
    items = services.linked.checklist("LT-KS")
    view = services.linked.accept(actor, LinkedRequest(
        "LT-KS", Applicant("Đặng Văn Đức", "001085012345"), "Đặng Minh An",
        date(2026, 11, 20), received=list(range(len(items)))))

    async def show(pilot) -> None:  # noqa: ANN001
        await pilot.app.push_screen(LinkedGroupScreen(services, view.code))

    assert snap_compare(DeskApp(services, actor=actor), terminal_size=SIZE,
                        run_before=steady(show))
