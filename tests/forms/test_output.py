"""Printing and saving: CUPS when a printer is there, a saved PDF otherwise, identical reprints;
and the ``ccdesk forms`` command line.

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
from forms_readback import page_texts
from typer.testing import CliRunner

from ccdesk.commands.common import STATE
from ccdesk.forms.errors import FormError


def _reprints(desk, code: str) -> int:  # noqa: ANN001
    return [e.action for e in desk.services.dossiers.detail(code).events].count("reprint")


def test_reprint_gives_the_same_bytes_and_records_an_event(scenario) -> None:
    forms, code = scenario.forms, scenario.codes["refused"]
    first = forms.render_pdf(code, "03")
    assert forms.render_pdf(code, "03") == first
    before = _reprints(scenario, code)
    outcome = forms.output(scenario.officer, code, "03", reprint=False)
    assert not outcome.printed and outcome.path is not None
    assert outcome.path.read_bytes() == first
    assert outcome.path.parent == scenario.services.paths.forms_dir
    assert stat.S_IMODE(outcome.path.stat().st_mode) == 0o600    # personal data
    assert _reprints(scenario, code) == before

    again = forms.output(scenario.officer, code, "03", reprint=True)
    assert again.path.read_bytes() == first
    assert _reprints(scenario, code) == before + 1
    event = scenario.services.dossiers.detail(code).events[-1]
    assert event.action == "reprint" and '"form":"03"' in event.data
    assert event.officer_id == scenario.officer.officer_id
    assert forms.render_pdf(code, "03") == first       # the event does not change the paper


@pytest.fixture
def cups(tmp_path: Path, scenario, monkeypatch):  # noqa: ANN001, ANN201
    """A configured printer "quay1" and fake CUPS tools; returns a function to install them."""
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(scenario.services.config, "printer", "quay1")
    spool = tmp_path / "spool"

    def install(*, present: bool = True, lp_fails: bool = False) -> Path:
        (tmp_path / "bin").mkdir()
        spool.mkdir()
        lpstat = tmp_path / "bin" / "lpstat"
        lpstat.write_text("#!/bin/sh\n" + ('[ "$2" = "quay1" ] && exit 0\n' if present else "")
                          + "echo 'lpstat: Invalid destination name' >&2\nexit 1\n")
        lp = tmp_path / "bin" / "lp"
        if lp_fails:
            lp.write_text("#!/bin/sh\necho 'lp: The printer or class does not exist.' >&2\n"
                          "exit 1\n")
        else:
            lp.write_text(f'#!/bin/sh\necho "$@" > "{spool}/args"\ncat > "{spool}/job.pdf"\n'
                          'echo "request id is quay1-7 (1 file(s))"\n')
        for tool in (lpstat, lp):
            tool.chmod(0o755)
        return spool

    return install


def test_prints_through_cups_when_the_printer_is_present(scenario, cups) -> None:
    spool = cups()
    code = scenario.codes["land"]
    before = _reprints(scenario, code)
    outcome = scenario.forms.output(scenario.officer, code, "04", reprint=True)
    assert outcome.printed and outcome.printer == "quay1" and outcome.path is None
    assert outcome.job == "request id is quay1-7 (1 file(s))"
    assert (spool / "job.pdf").read_bytes() == scenario.forms.render_pdf(code, "04")
    args = (spool / "args").read_text()
    assert args.startswith("-d quay1 -t ccdesk ") and code in args
    assert "Hường" not in args                    # no personal data in the job title
    assert _reprints(scenario, code) == before + 1


def test_saves_the_pdf_when_the_configured_printer_is_missing(scenario, cups) -> None:
    spool = cups(present=False)
    code = scenario.codes["stopped"]
    outcome = scenario.forms.output(scenario.officer, code, "05", reprint=False)
    assert not outcome.printed
    assert outcome.path.name == f"{code}_mau05_2025.pdf"
    assert outcome.path.read_bytes() == scenario.forms.render_pdf(code, "05")
    assert not (spool / "job.pdf").exists()


def test_a_failing_printer_is_reported_with_its_name_and_no_event(scenario, cups) -> None:
    cups(lp_fails=True)
    code = scenario.codes["supplement"]
    before = _reprints(scenario, code)
    with pytest.raises(FormError) as err:
        scenario.forms.output(scenario.officer, code, "02", reprint=True)
    message = err.value.message("vi")
    assert "quay1" in message and "The printer or class does not exist." in message
    assert _reprints(scenario, code) == before


@pytest.fixture
def cli(scenario, shared_paths, monkeypatch):  # noqa: ANN001, ANN201
    """Run ``ccdesk`` in-process on the scenario database (Typer's runner)."""
    from ccdesk.cli import app

    monkeypatch.setattr(STATE, "paths", shared_paths)
    monkeypatch.setattr(STATE, "_services", None)
    runner = CliRunner()

    def run(*args: str):  # noqa: ANN202
        STATE._services = None
        result = runner.invoke(app, ["--db", str(scenario.services.db.path), *args],
                               catch_exceptions=False)
        if STATE._services is not None:
            STATE._services.close()
        return result

    return run


def test_cli_render_text_and_register(scenario, cli, tmp_path) -> None:
    text = cli("forms", "render", "--dossier", scenario.codes["legacy"], "--form", "05",
               "--text")
    assert text.exit_code == 0
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in text.stdout
    register = tmp_path / "so.pdf"
    done = cli("forms", "register", "--from", "01/11/2026", "--to", "2026-11-30", "--out",
               str(register))
    assert done.exit_code == 0, done.stderr
    assert done.stdout.strip() == f"Đã lưu {register}"
    assert register.read_bytes() == scenario.forms.register_pdf(date(2026, 11, 1),
                                                                         date(2026, 11, 30))
    piped = cli("forms", "render", "--dossier", scenario.codes["stopped"], "--form", "05",
                "--out", "-")
    assert piped.exit_code == 0
    assert piped.stdout_bytes == scenario.forms.render_pdf(scenario.codes["stopped"],
                                                                    "05")
    saved = cli("forms", "render", "--dossier", scenario.codes["land"], "--form", "6")
    assert saved.exit_code == 0
    path = scenario.services.paths.forms_dir / f"{scenario.codes['land']}_mau06_2025.pdf"
    assert saved.stdout.strip() == f"Đã lưu {path}"
    assert path.read_bytes() == scenario.forms.render_pdf(scenario.codes["land"], "06")


def test_cli_report_pdf(scenario, cli, tmp_path) -> None:
    out = tmp_path / "ii06a.pdf"
    done = cli("report", "--from", "2026-11-01", "--to", "2026-11-30", "--pdf", "--output",
               str(out))
    assert done.exit_code == 0, done.stderr
    assert done.stdout.strip() == f"Đã lưu {out}"
    (text,) = page_texts(out.read_bytes())
    assert "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH" in text
    assert "Kỳ báo cáo: tháng 11 năm 2026 (Từ ngày 01/11/2026 đến ngày 30/11/2026)" in text
    assert "TỔNG CỘNG" in text and "Đất đai" in text


def test_cli_errors_are_messages_not_tracebacks(scenario, cli) -> None:
    done = cli("forms", "render", "--dossier", "000.17.22.H56-000000-9999", "--form", "01")
    assert done.exit_code == 2
    assert done.stderr.strip() == "Không tìm thấy hồ sơ 000.17.22.H56-000000-9999."
    done = cli("--lang", "en", "forms", "register", "--from", "2026-02-30", "--to",
               "2026-03-01")
    assert done.exit_code == 2
    assert done.stderr.strip() == "--from: “2026-02-30” is not a date as YYYY-MM-DD or dd/mm/yyyy."
    done = cli("--lang", "en", "forms", "render", "--dossier", scenario.codes["land"],
               "--form", "07", "--regime", "2018")
    assert done.exit_code == 2
    assert done.stderr.strip() == ("Form: there is no form “07” in the 2018 regime; "
                                   "choose one of: 01, 02, 03, 04, 05, 06.")
    done = cli("forms", "render", "--dossier", scenario.codes["land"], "--form", "01",
               "--text", "--out", "x.pdf")
    assert done.exit_code == 2 and "--out" in done.stderr


def test_another_process_renders_the_same_bytes(scenario, shared_paths, tmp_path) -> None:
    """Nothing in a PDF depends on the clock or on the process that made it."""
    code, out = scenario.codes["land"], tmp_path / "mau01.pdf"
    env = {**os.environ, "CCDESK_HOME": str(shared_paths.data_dir.parent), "CCDESK_LANG": "vi"}
    done = subprocess.run([sys.executable, "-m", "ccdesk.cli", "--db",
                           str(scenario.services.db.path), "forms", "render", "--dossier", code,
                           "--form", "01", "--out", str(out)],
                          capture_output=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert out.read_bytes() == scenario.forms.render_pdf(code, "01")


def test_an_unwritable_forms_folder_is_a_message(scenario, monkeypatch, tmp_path) -> None:
    """No printer and a forms folder that cannot be written: the officer gets a sentence."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the forms folder should be")
    paths = type(scenario.services.paths)(data_dir=blocker, config_dir=tmp_path / "config")
    monkeypatch.setattr(scenario.services, "paths", paths)
    with pytest.raises(FormError) as err:
        scenario.forms.output(scenario.officer, scenario.codes["land"], "06",
                                       reprint=False)
    assert err.value.message("vi").startswith(f"Không lưu được tệp {blocker / 'forms'}")


@pytest.mark.slow  # instances the fonts again
def test_a_rebuilt_font_cache_gives_identical_fonts(scenario, tmp_path) -> None:
    """Reprints stay identical after the font cache is rebuilt (new machine, cleared cache)."""
    from ccdesk.forms.fonts import font_files

    shared = font_files(scenario.forms.font_dir)
    rebuilt = font_files(tmp_path / "fonts")
    for style, path in shared.styles().items():
        assert rebuilt.styles()[style].read_bytes() == path.read_bytes()
