"""Queue tickets: an 80 mm receipt PDF read back, saved owner-only when no receipt printer is
there, sent to ``lp -d <receipt_printer>`` when CUPS has it; and the ``ccdesk queue`` commands."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from ccdesk.config import Config
from ccdesk.forms.ticket import ROLL_WIDTH, print_ticket
from ccdesk.paths import Paths
from tests.conftest import run_ccdesk
from tests.forms.conftest import Desk, open_desk
from tests.forms.forms_readback import page_sizes, page_texts

MM = 72 / 25.4


@pytest.fixture
def desk(tmp_path: Path, shared_paths: Paths) -> Iterator[Desk]:
    """Its own database; the session's font cache (building the fonts takes seconds)."""
    built = open_desk(tmp_path / "desk.sqlite3", shared_paths,
                      Config(queue_tickets=True, receipt_printer="bien-nhan"))
    try:
        yield built
    finally:
        built.services.close()


def test_ticket_pdf_is_80mm_and_reads_back(desk: Desk) -> None:
    group = desk.services.queue.groups()[0]
    first = desk.services.queue.issue(group)
    second = desk.services.queue.issue(group)
    outcome = print_ticket(desk.services, second)    # no CUPS here: saved as a PDF
    assert not outcome.printed and outcome.path is not None
    assert stat.S_IMODE(outcome.path.stat().st_mode) == 0o600
    pdf = outcome.path.read_bytes()
    [(width, height)] = page_sizes(pdf)
    assert round(width / MM) == ROLL_WIDTH and height < width * 1.5
    [text] = page_texts(pdf)
    assert "PHIẾU SỐ THỨ TỰ" in text and "002" in text and group in text
    assert "Trung tâm Phục vụ hành chính công" in text
    assert "Số người đang chờ trước Ông/Bà: 1" in text
    assert first.label == "001"


def test_ticket_goes_to_the_receipt_printer(desk: Desk, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir, spool = tmp_path / "bin", tmp_path / "spool"
    bin_dir.mkdir()
    spool.mkdir()
    (bin_dir / "lpstat").write_text('#!/bin/sh\n[ "$2" = "bien-nhan" ] && exit 0\nexit 1\n')
    (bin_dir / "lp").write_text(f'#!/bin/sh\necho "$@" > "{spool}/args"\n'
                                f'cat > "{spool}/job.pdf"\necho "request id is bien-nhan-3"\n')
    for tool in ("lpstat", "lp"):
        (bin_dir / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    ticket = desk.services.queue.issue(desk.services.queue.groups()[0])
    outcome = print_ticket(desk.services, ticket)
    assert outcome.printed and outcome.job == "request id is bien-nhan-3"
    assert (spool / "args").read_text().split()[:2] == ["-d", "bien-nhan"]
    assert "001" in page_texts((spool / "job.pdf").read_bytes())[0]


def test_queue_commands(tmp_path: Path) -> None:
    home = tmp_path / "home"
    seeded = run_ccdesk("demo", "seed", "--dossiers", "5", "--days", "2", "--json", home=home)
    assert seeded.returncode == 0, seeded.stderr
    off = run_ccdesk("queue", "groups", home=home)
    assert off.returncode == 2 and "queue_tickets = true" in off.stderr
    config = home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("queue_tickets = true\n", encoding="utf-8")
    groups = orjson.loads(run_ccdesk("queue", "groups", "--json", home=home).stdout)["groups"]
    assert "Chứng thực" in groups
    issued = run_ccdesk("queue", "ticket", "Chứng thực", "--json", home=home)
    assert issued.returncode == 0, issued.stderr
    data = orjson.loads(issued.stdout)
    assert (data["label"], data["printed"]) == ("001", False) and Path(data["path"]).exists()
    bad = run_ccdesk("queue", "ticket", "Không có", home=home)
    assert bad.returncode == 2
    called = orjson.loads(run_ccdesk("queue", "call", "--json", home=home).stdout)
    assert called["called"]["label"] == "001"
    assert run_ccdesk("queue", "call", home=home).returncode == 1
    board = orjson.loads(run_ccdesk("queue", "status", "--json", home=home).stdout)
    assert board == {"groups": [{"group": "Chứng thực", "serving": 1, "waiting": 0}]}


def test_ii06a_pdf_marks_the_officers_fallback_ratings(desk: Desk) -> None:
    from datetime import date

    from ccdesk.domain.lifecycle import Action
    from tests.conftest import submit_intake

    s, officer = desk.services, desk.officer
    code = submit_intake(s, officer, "2.000884").dossier.code
    s.dossiers.act(officer, code, Action.MARK_READY)
    s.dossiers.act(officer, code, Action.RETURN_RESULT)
    s.dossiers.rate(officer, code, "satisfied")
    day = desk.clock.now.date()
    report = s.reports.period_report(day, day)
    [text] = page_texts(desk.forms.report_pdf(report))
    assert "(cán bộ ghi thay: 1)" in text
    assert date(2026, 11, 23) == day
