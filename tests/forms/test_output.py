"""Printing and saving: CUPS when a printer is there, a saved PDF otherwise, identical reprints.

CUPS is not installed on test machines, so ``lp`` and ``lpstat`` are small executables put first
on PATH: the code under test runs them as real subprocesses, exactly as it runs CUPS's own.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from conftest import build_scenario, open_desk

from ccdesk.config import Config
from ccdesk.forms.errors import FormError


def test_reprint_gives_the_same_bytes_and_records_an_event(desk) -> None:
    forms, code = desk.services.forms, desk.codes["land"]
    first = forms.render_pdf(code, "01")
    assert forms.render_pdf(code, "01") == first
    outcome = forms.output(desk.officer, code, "01", reprint=False)
    assert not outcome.printed and outcome.path is not None
    assert outcome.path.read_bytes() == first
    assert outcome.path.parent == desk.services.paths.forms_dir
    assert stat.S_IMODE(outcome.path.stat().st_mode) == 0o600    # personal data
    events = desk.services.dossiers.detail(code).events
    assert not [e for e in events if e.action == "reprint"]

    again = forms.output(desk.officer, code, "01", reprint=True)
    assert again.path.read_bytes() == first
    reprints = [e for e in desk.services.dossiers.detail(code).events if e.action == "reprint"]
    assert len(reprints) == 1 and '"form":"01"' in reprints[0].data
    assert reprints[0].officer_id == desk.officer.officer_id
    # The reprint event does not change the paper.
    assert forms.render_pdf(code, "01") == first


def _fake_cups(bin_dir: Path, spool: Path, *, present: bool = True, lp_fails: bool = False
               ) -> None:
    bin_dir.mkdir()
    spool.mkdir()
    lpstat = bin_dir / "lpstat"
    lpstat.write_text("#!/bin/sh\n" + ('[ "$2" = "quay1" ] && exit 0\n' if present else "")
                      + "echo 'lpstat: Invalid destination name' >&2\nexit 1\n")
    lp = bin_dir / "lp"
    if lp_fails:
        lp.write_text("#!/bin/sh\necho 'lp: The printer or class does not exist.' >&2\nexit 1\n")
    else:
        lp.write_text(f'#!/bin/sh\necho "$@" > "{spool}/args"\ncat > "{spool}/job.pdf"\n'
                      'echo "request id is quay1-7 (1 file(s))"\n')
    for tool in (lpstat, lp):
        tool.chmod(0o755)


@pytest.fixture
def printer_desk(tmp_path, shared_paths, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    built = build_scenario(open_desk(tmp_path / "desk.sqlite3", shared_paths,
                                     config=Config(printer="quay1")))
    yield built
    built.services.close()


def test_prints_through_cups_when_the_printer_is_present(printer_desk, tmp_path) -> None:
    _fake_cups(tmp_path / "bin", tmp_path / "spool")
    code = printer_desk.codes["land"]
    outcome = printer_desk.services.forms.output(printer_desk.officer, code, "04", reprint=True)
    assert outcome.printed and outcome.printer == "quay1" and outcome.path is None
    assert outcome.job == "request id is quay1-7 (1 file(s))"
    assert (tmp_path / "spool" / "job.pdf").read_bytes() == \
        printer_desk.services.forms.render_pdf(code, "04")
    args = (tmp_path / "spool" / "args").read_text()
    assert args.startswith("-d quay1 -t ccdesk ") and code in args
    assert "Hường" not in args                    # no personal data in the job title
    events = printer_desk.services.dossiers.detail(code).events
    assert [e.action for e in events].count("reprint") == 1


def test_saves_the_pdf_when_the_configured_printer_is_missing(printer_desk, tmp_path) -> None:
    _fake_cups(tmp_path / "bin", tmp_path / "spool", present=False)
    outcome = printer_desk.services.forms.output(printer_desk.officer,
                                                 printer_desk.codes["stopped"], "05",
                                                 reprint=False)
    assert not outcome.printed
    assert outcome.path.name == f"{printer_desk.codes['stopped']}_mau05_2025.pdf"
    assert outcome.path.read_bytes()[:5] == b"%PDF-"
    assert not (tmp_path / "spool" / "job.pdf").exists()


def test_a_failing_printer_is_reported_with_its_name_and_no_event(printer_desk, tmp_path
                                                                   ) -> None:
    _fake_cups(tmp_path / "bin", tmp_path / "spool", lp_fails=True)
    code = printer_desk.codes["land"]
    with pytest.raises(FormError) as err:
        printer_desk.services.forms.output(printer_desk.officer, code, "01", reprint=True)
    message = err.value.message("vi")
    assert "quay1" in message and "The printer or class does not exist." in message
    events = printer_desk.services.dossiers.detail(code).events
    assert "reprint" not in [e.action for e in events]


def _cli(shared_paths, db: Path, *args: str) -> subprocess.CompletedProcess[bytes]:  # noqa: ANN001
    env = {**os.environ, "CCDESK_HOME": str(shared_paths.data_dir.parent), "CCDESK_LANG": "vi"}
    return subprocess.run([sys.executable, "-m", "ccdesk.cli", "--db", str(db), *args],
                          capture_output=True, env=env, timeout=120, check=False)


def test_cli_renders_the_same_pdf_as_the_service(desk, shared_paths, tmp_path) -> None:
    code, db = desk.codes["land"], desk.services.db.path
    out = tmp_path / "mau01.pdf"
    done = _cli(shared_paths, db, "forms", "render", "--dossier", code, "--form", "01",
                "--out", str(out))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == f"Đã lưu {out}"
    # Another process, the same bytes: nothing in the PDF depends on the clock or the process.
    assert out.read_bytes() == desk.services.forms.render_pdf(code, "01")

    text = _cli(shared_paths, db, "forms", "render", "--dossier", desk.codes["legacy"],
                "--form", "05", "--text")
    assert text.returncode == 0
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in text.stdout.decode()

    register = tmp_path / "so.pdf"
    done = _cli(shared_paths, db, "forms", "register", "--from", "01/11/2026", "--to",
                "2026-11-30", "--out", str(register))
    assert done.returncode == 0, done.stderr.decode()
    assert register.read_bytes() == desk.services.forms.register_pdf(date(2026, 11, 1),
                                                                     date(2026, 11, 30))


def test_cli_errors_are_messages_not_tracebacks(desk, shared_paths) -> None:
    db = desk.services.db.path
    done = _cli(shared_paths, db, "forms", "render", "--dossier", "000.17.22.H56-000000-9999",
                "--form", "01")
    assert done.returncode == 2
    assert done.stderr.decode().strip() == "Không tìm thấy hồ sơ 000.17.22.H56-000000-9999."
    done = _cli(shared_paths, db, "--lang", "en", "forms", "register", "--from", "2026-02-30",
                "--to", "2026-03-01")
    assert done.returncode == 2
    assert done.stderr.decode().strip() == \
        "--from: “2026-02-30” is not a date as YYYY-MM-DD or dd/mm/yyyy."
    done = _cli(shared_paths, db, "--lang", "en", "forms", "render", "--dossier",
                desk.codes["land"], "--form", "07", "--regime", "2018")
    assert done.returncode == 2
    assert done.stderr.decode().strip() == ("Form: there is no form “07” in the 2018 regime; "
                                            "choose one of: 01, 02, 03, 04, 05, 06.")
    assert b"Traceback" not in done.stderr
