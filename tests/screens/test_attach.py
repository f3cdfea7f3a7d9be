"""Digitising papers through the screens at 80×24: from the scan folder at intake (F5 on the
checklist step), and from the dossier screen (s) by USB stick, typed path, scanner and reuse;
then what was stored (screens/modals/attach.py)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import time

import pytest
from textual.widgets import Input, Label, OptionList, Static

from ccdesk.app import DeskApp
from ccdesk.i18n import set_language
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from screens.dossier import DossierScreen
from screens.intake_checklist import ChecklistStep
from screens.keyflow import SCAN_GAP
from screens.modals.attach import AttachModal
from screens.modals.confirm import ConfirmModal
from screens.modals.form_preview import FormPreview
from tests.screens.conftest import SIZE
from tests.screens.fit import cut_messages
from tests.screens.helpers import settle, type_into, wait_for_screen
from tests.services.attach_kit import pdf_bytes, png_bytes, write


def _rows(services, sql: str, *args: object) -> list[tuple]:  # noqa: ANN001
    with sqlite3.connect(services.db.path) as con:
        return con.execute(sql, args).fetchall()


async def _open_dialog(pilot, key: str) -> AttachModal:  # noqa: ANN001
    # A person's key, not the tail of a scanner's burst (screens/keyflow.py tells them apart)
    await pilot.pause(SCAN_GAP + 0.05)
    await pilot.press(key)
    await wait_for_screen(pilot, AttachModal)
    await settle(pilot)
    assert isinstance(pilot.app.screen, AttachModal)
    return pilot.app.screen


def _status(modal: AttachModal) -> str:
    return str(modal.query_one("#attach-status", Label).content)


async def test_scan_folder_files_attached_at_intake(services, actor, tmp_path) -> None:
    folder = tmp_path / "scanner-out"
    older = write(folder / "scan0001.pdf", pdf_bytes("to khai"))
    os.utime(older, (time.time() - 600, time.time() - 600))
    newest = write(folder / "scan0002.png", png_bytes(1))
    services.config.scan_folder = str(folder)
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await settle(pilot)
        await type_into(pilot, "#procedure-query", "chung thuc chu ky")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await type_into(pilot, "#id_number", "001085012345")
        await type_into(pilot, "#full_name", "Đặng Văn Đức")
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, ChecklistStep)
        modal = await _open_dialog(pilot, "f5")           # item 1 has the focus
        files = modal.query_one("#attach-files", OptionList)
        assert files.option_count == 2
        assert "scan0002.png" in str(files.get_option_at_index(0).prompt)  # newest first
        await pilot.press("enter")
        await settle(pilot)
        assert "scan0002.png" in _status(modal)
        await pilot.press("escape")
        await wait_for_screen(pilot, ChecklistStep)
        mark = app.screen.query_one("#doc-1 .doc-digitised", Label)
        assert "1" in str(mark.content) and mark.display
        modal = await _open_dialog(pilot, "f5")             # a second file, then taken off
        await pilot.press("down", "enter")
        await settle(pilot)
        assert "scan0001.pdf" in _status(modal)
        await pilot.press("f7")
        await settle(pilot)
        assert modal.query_one("#attach-files", OptionList).option_count == 2
        await pilot.press("down", "enter")
        await wait_for_screen(pilot, ConfirmModal)
        await pilot.press("y")
        await wait_for_screen(pilot, AttachModal)
        await settle(pilot)
        assert modal.query_one("#attach-files", OptionList).option_count == 1
        await pilot.press("escape")
        await wait_for_screen(pilot, ChecklistStep)
        await settle(pilot)
        assert "1" in str(app.screen.query_one("#doc-1 .doc-digitised", Label).content)
        assert not app.screen.query("#doc-2 .doc-digitised")
        await pilot.press("f7", "f8")
        await settle(pilot)
        await pilot.press("f5", "y")                        # accept: the slip is shown
        await wait_for_screen(pilot, FormPreview)
        code = app.screen.code
    assert newest.read_bytes() == png_bytes(1)             # the scanner's file is untouched
    stored = _rows(services, "SELECT c.position, a.source, a.original_name, a.sha256 "
                             "FROM attachment a JOIN checklistitem c "
                             "ON c.id = a.checklist_item_id JOIN dossier d ON d.id = a.dossier_id "
                             "WHERE d.code = ?", code)
    assert stored == [(1, "folder", "scan0002.png", hashlib.sha256(png_bytes(1)).hexdigest())]


def _fake_scanimage(bin_dir, page) -> None:  # noqa: ANN001
    script = bin_dir / "scanimage"
    script.write_text(f"#!{sys.executable}\nimport sys\n"
                      f"sys.stdout.buffer.write(open({str(page)!r}, 'rb').read())\n")
    script.chmod(0o755)


async def test_dossier_screen_attaches_from_usb_path_scanner_and_reuse(
        services, actor, tmp_path, monkeypatch) -> None:
    citizen = Applicant("Trần Thị Bình", "001190012342")
    ticked = [ChecklistEntry(1, True), ChecklistEntry(2, True)]
    earlier = services.intake.submit(actor, IntakeRequest("2.000884", citizen, ticked),
                                     Decision.ACCEPT).dossier.code
    services.attachments.attach_path(actor, earlier, 2, write(tmp_path / "cccd.png",
                                                              png_bytes(9)))
    code = services.intake.submit(actor, IntakeRequest("2.000884", citizen, ticked),
                                  Decision.ACCEPT).dossier.code
    media = tmp_path / "media" / "lan"
    write(media / "USB DISK" / "giay-to" / "to-khai.pdf", pdf_bytes("usb"))
    services.config.usb_roots = [str(media)]
    typed = write(tmp_path / "desktop" / "uy-quyen.png", png_bytes(3))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_scanimage(bin_dir, write(tmp_path / "page.png", png_bytes(4)))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    services.config.scan_format = "png"
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(DossierScreen(services, code))
        await wait_for_screen(pilot, DossierScreen)
        await settle(pilot)
        assert "Chưa có bản số hóa" in str(app.screen.query_one("#dossier-files",
                                                                  Static).content)
        modal = await _open_dialog(pilot, "s")              # the cursor is on item 1
        await pilot.press("f4")                             # USB: no scan folder is set
        await settle(pilot)
        files = modal.query_one("#attach-files", OptionList)
        assert files.option_count == 1
        await pilot.press("enter")
        await settle(pilot)
        assert "to-khai.pdf" in _status(modal)
        await pilot.press("f6")
        await type_into(pilot, "#attach-path", str(tmp_path / "nowhere.pdf"))
        await pilot.press("enter")
        await settle(pilot)
        assert "nowhere.pdf" in _status(modal) and modal.query_one("#attach-status").has_class(
            "-error")
        await type_into(pilot, "#attach-path", str(typed))
        await pilot.press("enter")
        await settle(pilot)
        assert "uy-quyen.png" in _status(modal)
        await pilot.press("f2")                             # one page from the scanner
        await settle(pilot)
        assert "scan-1.png" in _status(modal)
        await pilot.press("escape")
        await wait_for_screen(pilot, DossierScreen)
        await settle(pilot)
        listing = str(app.screen.query_one("#dossier-files", Static).content)
        assert "to-khai.pdf" in listing and "uy-quyen.png" in listing
        app.screen.query_one("#dossier-checklist").move_cursor(row=1)
        modal = await _open_dialog(pilot, "s")
        await pilot.press("f5")                             # reuse the earlier ID card scan
        await settle(pilot)
        assert earlier in str(modal.query_one("#attach-files", OptionList)
                              .get_option_at_index(0).prompt)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("escape")
        await wait_for_screen(pilot, DossierScreen)
        await settle(pilot)
        assert earlier in str(app.screen.query_one("#dossier-files", Static).content)
        app.screen.query_one("#dossier-checklist").move_cursor(row=0)
        modal = await _open_dialog(pilot, "s")
        await pilot.press("f7")                             # item 1's files: take one off
        await settle(pilot)
        files = modal.query_one("#attach-files", OptionList)
        assert files.option_count == 3
        assert "to-khai.pdf" in str(files.get_option_at_index(0).prompt)
        await pilot.press("enter")
        await wait_for_screen(pilot, ConfirmModal)
        await pilot.press("y")
        await wait_for_screen(pilot, AttachModal)
        await settle(pilot)
        assert "to-khai.pdf" in _status(modal)
        assert modal.query_one("#attach-files", OptionList).option_count == 2
        await pilot.press("escape")
        await wait_for_screen(pilot, DossierScreen)
        await settle(pilot)
        assert "to-khai.pdf" not in str(app.screen.query_one("#dossier-files", Static).content)
    rows = _rows(services, "SELECT c.position, a.source, a.reused_from, a.removed_at IS NULL "
                           "FROM attachment a JOIN checklistitem c ON c.id = a.checklist_item_id "
                           "JOIN dossier d ON d.id = a.dossier_id WHERE d.code = ? "
                           "ORDER BY a.id", code)
    assert rows == [(1, "usb", "", 0), (1, "file", "", 1), (1, "scanner", "", 1),
                    (2, "reused", earlier, 1)]
    assert services.attachments.files(code).digitised


async def test_the_dialog_says_what_is_missing(services, actor, tmp_path, monkeypatch) -> None:
    code = services.intake.submit(actor, IntakeRequest(
        "2.000884", Applicant("Trần Thị Bình", "001190012342"), [ChecklistEntry(1, True)]),
        Decision.SUPPLEMENT).dossier.code
    services.config.usb_roots = [str(tmp_path / "no-media")]
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    app = DeskApp(services, actor=actor)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(DossierScreen(services, code))
        await wait_for_screen(pilot, DossierScreen)
        await settle(pilot)
        modal = await _open_dialog(pilot, "s")
        assert "USB" in _status(modal)                      # no stick plugged in
        await pilot.press("f3")
        await settle(pilot)
        assert "scan_folder" in _status(modal)              # no scan folder set
        await pilot.press("f2")
        await settle(pilot)
        assert "scanimage" in _status(modal)                # SANE not installed
        assert isinstance(app.screen.query_one("#attach-path"), Input)


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_the_dialog_and_its_messages_show_whole(services, actor, tmp_path, monkeypatch,
                                                      lang, size) -> None:
    set_language(lang)
    code = services.intake.submit(actor, IntakeRequest(
        "1.001193", Applicant("Trần Thị Bình", "001190012342"), [ChecklistEntry(1, True)]),
        Decision.SUPPLEMENT).dossier.code
    folder = tmp_path / "a-rather-long-folder-name-the-scanner-writes-into" / "scans"
    write(folder / "scan-with-a-long-name-0001.pdf", pdf_bytes("x"))
    services.config.scan_folder = str(folder)
    services.config.usb_roots = [str(tmp_path / "no-media")]
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    app = DeskApp(services, actor=actor)
    problems: list[str] = []
    async with app.run_test(size=size) as pilot:
        app.push_screen(DossierScreen(services, code))
        await wait_for_screen(pilot, DossierScreen)
        await settle(pilot)
        await _open_dialog(pilot, "s")
        for key in ("f3", "f4", "f2", "f5", "f7", "f6"):
            await pilot.press(key)
            await settle(pilot)
            problems += [f"[{key}] {cut}" for cut in cut_messages(app)]
    assert not problems, "\n".join(problems)
