"""What a form costs to show: a screen of labelled fields pushed, mounted and painted.

Usage::

    .venv/bin/python bench/form_fields.py                  # 24 fields, 15 pushes
    .venv/bin/python bench/form_fields.py --fields 12 --pushes 30

The desk's ``FormField`` (label, a compact ``Input``, the error line mounted when needed) styled
by ``screens/styles/frame.tcss``, in a headless Textual app of 80×40: each push is timed from
``push_screen`` until the screen has been painted, in the UI thread's CPU (what the load of the
machine changes least), then popped. The first three pushes are left out (Textual parses the
widgets' rules and warms its caches on them). An intake step has about as many fields as the
default. Prints the median with min–max and the load; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textual.app import App, ComposeResult  # noqa: E402
from textual.screen import Screen  # noqa: E402
from textual.widgets import Input  # noqa: E402

from screens.widgets.field import FormField  # noqa: E402

WARM_UP = 3


class Form(Screen):
    def __init__(self, fields: int) -> None:
        super().__init__()
        self.fields = fields

    def compose(self) -> ComposeResult:
        for i in range(self.fields):
            yield FormField(f"Field {i}", Input(id=f"f{i}", compact=True), name=f"f{i}")


class Bench(App):
    CSS_PATH = [str(ROOT / "screens" / "styles" / "frame.tcss")]


async def measure(fields: int, pushes: int) -> list[float]:
    app = Bench()
    times: list[float] = []
    async with app.run_test(size=(80, 40)) as pilot:
        for _ in range(pushes + WARM_UP):
            started = time.thread_time()
            await app.push_screen(Form(fields))
            await pilot.pause()
            times.append((time.thread_time() - started) * 1000)
            await app.pop_screen()
            await pilot.pause()
    return times[WARM_UP:]


def uptime() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fields", type=int, default=24)
    parser.add_argument("--pushes", type=int, default=15)
    args = parser.parse_args()
    times = asyncio.run(measure(args.fields, args.pushes))
    print(f"bench/form_fields.py: a screen of {args.fields} form fields pushed, mounted and "
          f"painted: {statistics.median(times):.1f} ({min(times):.1f}–{max(times):.1f}) ms of "
          f"UI-thread CPU, {len(times)} pushes  [{uptime()}]")


if __name__ == "__main__":
    main()
