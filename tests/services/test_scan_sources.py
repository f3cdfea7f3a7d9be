"""Where digitised papers come from: the scan folder, USB sticks (real folders), and SANE's
``scanimage`` (a real subprocess: a script on PATH that writes a real PNG or fails as SANE
does). ccdesk/services/scan_sources.py."""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from ccdesk.domain.errors import ValidationError
from ccdesk.services import scan_sources
from ccdesk.storage.filestore import sniff_type
from tests.services.attach_kit import pdf_bytes, png_bytes, write


def _aged(path: Path, seconds_ago: float) -> Path:
    moment = time.time() - seconds_ago
    os.utime(path, (moment, moment))
    return path


def _snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p): (p.stat().st_mode, p.read_bytes()) for p in root.rglob("*") if p.is_file()}


def test_folder_lists_newest_first_by_content_and_touches_nothing(tmp_path):
    folder = tmp_path / "scans"
    old = _aged(write(folder / "old.pdf", pdf_bytes("a")), 600)
    new = _aged(write(folder / "new.png", png_bytes(1)), 10)
    _aged(write(folder / "renamed.txt", png_bytes(2)), 300)       # a PNG whatever its name
    write(folder / "notes.pdf", b"just text, not a PDF")
    write(folder / "sub" / "deeper.png", png_bytes(3))            # the folder's own level only
    write(folder / ".hidden.png", png_bytes(4))
    os.symlink(new, folder / "link.png")
    os.chmod(old, 0o644)
    before = _snapshot(folder)
    found = scan_sources.folder_files(folder)
    assert [c.name for c in found] == ["new.png", "renamed.txt", "old.pdf"]
    assert [c.mime for c in found] == ["image/png", "image/png", "application/pdf"]
    assert _snapshot(folder) == before
    assert stat.S_IMODE(old.stat().st_mode) == 0o644


def test_folder_not_set_or_missing_is_said_clearly(tmp_path):
    with pytest.raises(ValidationError) as caught:
        scan_sources.folder_files("  ")
    assert caught.value.key == "attachments.no_scan_folder"
    with pytest.raises(ValidationError) as caught:
        scan_sources.folder_files(tmp_path / "nowhere")
    assert caught.value.key == "attachments.folder_missing"
    assert str(tmp_path / "nowhere") in caught.value.message("en")


def test_usb_sticks_are_walked_bounded_in_depth_and_count(tmp_path, monkeypatch):
    root = tmp_path / "media" / "lan"
    stick = root / "KINGSTON"
    write(stick / "giay-to" / "cccd.png", png_bytes(5))
    write(stick / "a" / "b" / "c" / "d" / "too-deep.png", png_bytes(6))
    write(stick / "tai-lieu.docx", b"PK\x03\x04 word")
    for n in range(12):
        write(stick / "many" / f"{n:02}.pdf", pdf_bytes(str(n)))
    before = _snapshot(root)
    names = {c.name for c in scan_sources.usb_files([root])}
    assert "cccd.png" in names and "too-deep.png" not in names and "tai-lieu.docx" not in names
    monkeypatch.setattr(scan_sources, "MAX_VISITED", 5)
    assert len(scan_sources.usb_files([root])) < 5
    assert len(scan_sources.usb_files([root], limit=3)) <= 3
    assert _snapshot(root) == before
    with pytest.raises(ValidationError) as caught:
        scan_sources.usb_files([tmp_path / "media" / "nobody"])
    assert caught.value.key == "attachments.no_usb"


def test_usb_roots_come_from_config_or_the_desktop(tmp_path):
    assert scan_sources.usb_roots_from([str(tmp_path)]) == [tmp_path]
    defaults = scan_sources.usb_roots_from([])
    assert [p.parent for p in defaults] == [Path("/media"), Path("/run/media")]


def _fake_scanimage(bin_dir: Path, body: str) -> None:
    script = bin_dir / "scanimage"
    script.write_text(f"#!{sys.executable}\nimport sys\n{body}\n")
    script.chmod(0o755)


@pytest.fixture
def scanner_path(tmp_path, monkeypatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def test_a_scan_through_scanimage_gives_the_page_it_wrote(scanner_path, tmp_path):
    page = write(tmp_path / "page.png", png_bytes(8))
    args = tmp_path / "args.txt"
    _fake_scanimage(scanner_path, f"open({str(args)!r}, 'w').write(' '.join(sys.argv[1:]))\n"
                                  f"sys.stdout.buffer.write(open({str(page)!r}, 'rb').read())")
    data = scan_sources.scan_page("genesys:libusb:001:004", "png")
    assert hashlib.sha256(data).digest() == hashlib.sha256(page.read_bytes()).digest()
    assert sniff_type(data) == "image/png"
    assert args.read_text().split() == ["--device-name=genesys:libusb:001:004", "--format=png",
                                        "--resolution=300"]


def test_scanner_failures_are_clear_messages(scanner_path, tmp_path, monkeypatch):
    _fake_scanimage(scanner_path, "sys.stderr.write('scanimage: no SANE devices found\\n')\n"
                                  "sys.exit(1)")
    with pytest.raises(ValidationError) as caught:
        scan_sources.scan_page()
    assert caught.value.key == "attachments.no_scanner"
    _fake_scanimage(scanner_path, "sys.stderr.write('scanimage: Error during device I/O\\n')\n"
                                  "sys.exit(1)")
    with pytest.raises(ValidationError) as caught:
        scan_sources.scan_page()
    assert caught.value.key == "attachments.scan_failed"
    assert "device I/O" in caught.value.message("en")
    _fake_scanimage(scanner_path, "sys.stdout.buffer.write(b'%PDF-' + b'x' * 5000)")
    with pytest.raises(ValidationError) as caught:
        scan_sources.scan_page(limit=1000)
    assert caught.value.key == "reliability.security.too_large"
    _fake_scanimage(scanner_path, "import time\ntime.sleep(30)")
    started = time.monotonic()
    with pytest.raises(ValidationError):
        scan_sources.scan_page(seconds=1)
    assert time.monotonic() - started < 15
    with pytest.raises(ValidationError) as caught:
        scan_sources.scan_page(fmt="tiff")
    assert caught.value.field == "scan_format"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ValidationError) as caught:
        scan_sources.scan_page()
    assert caught.value.key == "attachments.no_scanimage"
