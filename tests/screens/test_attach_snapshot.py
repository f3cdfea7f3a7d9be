"""The digitise dialog at 80×24 over the dossier screen, compared with the SVG committed under
``__snapshots__`` (the scan folder's files have fixed names, sizes and times)."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from textual.pilot import Pilot

from ccdesk.app import DeskApp
from screens.dossier import DossierScreen
from screens.keyflow import SCAN_GAP
from screens.modals.attach import AttachModal
from tests.screens.conftest import SIZE
from tests.screens.helpers import settle, wait_for_screen
from tests.screens.test_snapshots import paths, receive, steady  # noqa: F401 - fixture
from tests.services.attach_kit import pdf_bytes, png_bytes, write

SCANNED = datetime(2026, 11, 23, 9, 10).timestamp()


def test_attach_dialog(snap_compare, services, actor, paths) -> None:  # noqa: F811
    code = receive(services, actor)
    # The dialog shows the folder's path: the same on every run and every xdist worker.
    folder = Path(tempfile.gettempdir()) / "ccdesk-snap-scans"
    shutil.rmtree(folder, ignore_errors=True)
    for name, data in (("scan0001.pdf", pdf_bytes("don")), ("scan0002.png", png_bytes(1))):
        os.utime(write(folder / name, data), (SCANNED, SCANNED))
    services.config.scan_folder = str(folder)

    async def open_dossier(pilot: Pilot) -> None:
        pilot.app.push_screen(DossierScreen(services, code))

    async def person_presses_s(pilot: Pilot) -> None:
        await pilot.pause(SCAN_GAP + 0.05)   # a person's key, not a scanner's trailing burst
        await pilot.press("s")

    async def listed(pilot: Pilot) -> None:
        await wait_for_screen(pilot, AttachModal)
        await settle(pilot)

    assert snap_compare(DeskApp(services, actor=actor), terminal_size=SIZE,
                        run_before=steady(open_dossier, person_presses_s, listed))
