"""Text reads well on the dark and light themes, and on a 16-colour terminal.

The colours are those the compositor painted (the themes' own blending included); the 16-colour
case brings them down to the standard palette as Rich does for such a terminal. Messages, labels
and table cells must reach WCAG's 4.5:1 in true colour and 3:1 on 16 colours (the palette's own
grey on white gives no more than about 4:1). Placeholders, scroll bars and toggle glyphs are
not messages and are left out.
"""

from __future__ import annotations

import re

import pytest
from textual.widgets import Checkbox, DataTable, Label, RadioButton, Static

from ccdesk.app import DeskApp
from ccdesk.demo import seed_demo
from tests.screens.contrast import text_contrast
from tests.screens.helpers import settle, type_into

THEMES = ["textual-dark", "textual-light"]
TRUE_COLOUR, SIXTEEN = 4.5, 3.0
LETTERS = re.compile(r"\w")


def weak(app, palette16: bool) -> list[str]:  # noqa: ANN001
    floor = SIXTEEN if palette16 else TRUE_COLOUR
    return [str(p) for p in text_contrast(app, palette16=palette16)
            if isinstance(p.widget, (Label, Static, DataTable))
            and not isinstance(p.widget, (Checkbox, RadioButton))  # an unticked box hides its X
            and LETTERS.search(p.text)
            and p.ratio < floor]


@pytest.mark.parametrize("theme", THEMES)
async def test_messages_read_well_on_each_theme_and_16_colours(services, actor, theme) -> None:
    seed_demo(services, 20, 10, 3, False)
    app = DeskApp(services, actor=actor, training=True)
    problems: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = theme

        async def look(where: str) -> None:
            await settle(pilot)
            for palette16 in (False, True):
                problems.extend(f"[{theme}, {where}, {'16' if palette16 else 'true'} colours] "
                                f"{p}" for p in weak(app, palette16))

        await look("home")
        await pilot.press("f4")
        await look("register")
        await pilot.press("f5")
        await look("reports")
        await pilot.press("f2")
        await settle(pilot)
        await type_into(pilot, "#procedure-query", "khai sinh")
        await settle(pilot)
        await pilot.press("enter")
        await type_into(pilot, "#phone", "09123")
        await look("intake, applicant with an error")
    assert not problems, "\n".join(sorted(set(problems)))
