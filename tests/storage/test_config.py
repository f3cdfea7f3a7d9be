"""config.toml: what the desk saves keeps what the user wrote (comments, layout, unknown keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccdesk.config import Config
from ccdesk.domain.errors import ValidationError

WRITTEN = """\
# Máy in của bộ phận một cửa (hỏi anh Tuấn trước khi đổi)
language = "vi"             # vi | en
printer = ""                # CUPS queue; empty = save PDFs

[office_hours]
# Giờ mùa hè
morning = ["07:00", "11:30"]
afternoon = ["13:30", "17:00"]
same_day_cutoff = "15:00"

[later]  # a key a newer ccdesk writes
flag = true
"""


def test_saving_keeps_the_users_comments_layout_and_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(WRITTEN, encoding="utf-8")
    config = Config.load(path)
    config.printer = "desk-printer"
    config.language = "en"
    config.save(path)

    saved = path.read_text(encoding="utf-8")
    assert "# Máy in của bộ phận một cửa (hỏi anh Tuấn trước khi đổi)" in saved
    assert 'language = "en"             # vi | en' in saved
    assert 'printer = "desk-printer"                # CUPS queue; empty = save PDFs' in saved
    assert "# Giờ mùa hè" in saved
    assert '[later]  # a key a newer ccdesk writes\nflag = true' in saved
    again = Config.load(path)
    assert (again.printer, again.language) == ("desk-printer", "en")
    assert again.hours().morning_start.isoformat() == "07:00:00"
    assert again.sync_retention_days == 90  # a default the user never wrote is written once


def test_an_unchanged_config_keeps_every_line_apart_from_new_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(WRITTEN, encoding="utf-8")
    Config.load(path).save(path)
    first = path.read_text(encoding="utf-8")
    saved = iter(first.splitlines())
    assert all(line in saved for line in WRITTEN.splitlines())  # each one, in the same order
    added = set(first.splitlines()) - set(WRITTEN.splitlines())
    assert {line.split(" = ")[0] for line in added} == {
        "idle_lock_minutes", "upstream_url", "sync_retention_days", "theme", "form_paper",
        "citizen_rating_seconds", "queue_tickets", "receipt_printer", "scan_folder",
        "usb_roots", "scanner_device", "scan_format"}
    Config.load(path).save(path)
    assert path.read_text(encoding="utf-8") == first


def test_a_file_broken_since_it_was_read_is_not_written_over(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(WRITTEN, encoding="utf-8")
    config = Config.load(path)
    path.write_text('printer = "unterminated\n', encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        config.save(path)
    assert str(path) in err.value.message("en")
    assert path.read_text(encoding="utf-8") == 'printer = "unterminated\n'


def test_a_new_file_gets_every_setting(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    Config(printer="p1").save(path)
    assert Config.load(path) == Config(printer="p1")


def test_the_digitising_settings_load_and_a_wrong_usb_root_is_named(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('scan_folder = "/srv/scans"\nusb_roots = ["/media/desk"]\n'
                    'scan_format = "pdf"\n', encoding="utf-8")
    config = Config.load(path)
    assert (config.scan_folder, config.usb_roots, config.scan_format) == (
        "/srv/scans", ["/media/desk"], "pdf")
    path.write_text("usb_roots = [1, 2]\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        Config.load(path)
    assert "usb_roots" in caught.value.message("en") and str(path) in caught.value.message("en")
