"""Logs: JSON lines, owner-only, and no personal data — names, ID numbers and phones of a whole
scenario (intake → transitions → errors → CLI commands → a crash) never reach a log or stderr."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError

from ccdesk.domain.errors import CcdeskError
from ccdesk.domain.lifecycle import Action
from ccdesk.logs import LOG_FILENAME, redact, setup_logging, shutdown_logging
from ccdesk.models import Dossier
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from tests.reliability.conftest import PINS, REPO, Desk, birth_request, run_ccdesk

PEOPLE = [  # (name, CCCD, phone as typed)
    ("Đặng Văn Đức", "001085012345", "0912 345 678"),
    ("Nguyễn Thị Hồng Nhung", "079190001234", "+84 983 111 222"),
    ("Trương Quốc Bảo", "036201004567", "0356-789-012"),
]
SECRETS = [s for name, cccd, phone in PEOPLE for s in (
    name, cccd, phone, phone.replace(" ", "").replace("-", "").replace("+84", "0"))]


@pytest.fixture
def logged(desk: Desk) -> Iterator[Path]:
    log_file = setup_logging(desk.paths, "DEBUG")
    assert log_file is not None
    yield log_file
    shutdown_logging()


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_redact_masks_ids_phones_emails_names_and_sql_parameters() -> None:
    line = ("intake by Đặng Văn Đức id 001085012345 tel 0912 345 678 / +84983111222 "
            "mail duc.dang@example.vn passport C1234567 old id 012345678")
    masked = redact(line)
    assert _leaks(masked) == [] and "example.vn" not in masked
    assert "C1234567" not in masked and "012345678" not in masked
    error = ("(sqlite3.IntegrityError) UNIQUE constraint failed: dossier.code\n"
             "[SQL: INSERT INTO dossier (code, applicant_name) VALUES (?, ?)]\n"
             "[parameters: ('X-1', 'Trương Quốc Bảo', 'truong quoc bao 036201004567')]\n"
             "(Background on this error at: https://sqlalche.me/e/20/gkpj)")
    assert "truong quoc bao" not in redact(error) and "UNIQUE constraint" in redact(error)
    # What operators need stays readable: codes, dates, counts, file names.
    keep = "dossier 000.17.22.H56-261123-0001 at 2026-11-23T09:15:00 backup ccdesk-daily-x 3 rows"
    assert redact(keep) == keep


def test_full_scenario_leaves_no_personal_data_in_logs_or_stderr(
        desk: Desk, logged: Path, capfd: pytest.CaptureFixture[str]) -> None:
    officer, lead = desk.actor("off1"), desk.actor("lead1")
    codes = []
    for name, cccd, phone in PEOPLE:
        codes.append(desk.services.intake.submit(
            officer, birth_request(name=name, id_number=cccd, phone=phone),
            Decision.ACCEPT).dossier.code)
    supplement = desk.services.intake.submit(officer, IntakeRequest(
        "1.001193", Applicant(PEOPLE[0][0], PEOPLE[0][1], phone=PEOPLE[0][2]),
        [ChecklistEntry(1, True)]), Decision.SUPPLEMENT)
    desk.services.dossiers.act(officer, supplement.dossier.code, Action.SUPPLEMENT_RECEIVED,
                               received_positions=[3])
    for action in (Action.START, Action.MARK_READY, Action.RETURN_RESULT):
        desk.services.dossiers.act(officer, codes[0], action)
    desk.services.dossiers.rate(officer, codes[0], "satisfied")
    desk.services.dossiers.act(lead, codes[1], Action.EXTEND, reason="chờ xác minh",
                               new_due=desk.clock.now.replace(year=2027))
    # Refused input carrying personal data, logged the way a screen would log it.
    try:
        desk.services.intake.submit(officer, birth_request(name=PEOPLE[1][0],
                                                           id_number="0791900012", phone="1"),
                                    Decision.ACCEPT)
    except CcdeskError as err:
        logging.getLogger("ccdesk.screens.intake").warning("intake refused: %s", err)
    # An unexpected database error whose text carries the row's values.
    try:
        desk.services.db.write(lambda s: s.add(Dossier(
            code=codes[2], procedure_version_id=1, procedure_code="1.001193",
            applicant_name=PEOPLE[2][0], applicant_id_number=PEOPLE[2][1],
            applicant_phone="0356789012", received_at=desk.clock.now, status="received")))
    except (IntegrityError, CcdeskError):
        logging.getLogger("ccdesk.storage").exception("write failed")

    home = desk.paths.data_dir.parent
    env = {"CCDESK_LOG_LEVEL": "DEBUG", "CCDESK_PIN": PINS["lead1"]}
    commands = [
        ["audit", "--dossier", codes[0], "--as", "lead1"],
        ["audit", "--officer", PEOPLE[0][0], "--as", "lead1"],  # a citizen's name typed by mistake
    ]
    outputs = [run_ccdesk(args, home, env=env) for args in commands]
    assert [o.returncode for o in outputs] == [0, 2]

    captured = capfd.readouterr()
    logs = "".join(p.read_text(encoding="utf-8") for p in desk.paths.logs_dir.glob("*.log*"))
    # The log really recorded the scenario: SQL at DEBUG, the refused intake, the failure.
    entries = [json.loads(line) for line in logs.splitlines()]
    loggers = {e["logger"] for e in entries}
    assert {"sqlalchemy.engine.Engine", "ccdesk.screens.intake", "ccdesk.storage",
            "ccdesk.storage.backup"} <= loggers  # the CLI's daily backup logged too
    assert any("UNIQUE constraint failed" in e.get("exc", "") for e in entries)
    assert any("INSERT INTO dossier" in e["msg"] for e in entries)
    assert _leaks(logs) == []
    assert _leaks(captured.err) == [] and _leaks(captured.out) == []
    assert [_leaks(o.stderr) for o in outputs] == [[]] * len(outputs), [o.stderr for o in outputs]


def test_log_file_and_folder_are_owner_only(desk: Desk, logged: Path) -> None:
    old = os.umask(0)
    try:
        logging.getLogger("ccdesk.test").info("hello")
    finally:
        os.umask(old)
    assert stat.S_IMODE(logged.stat().st_mode) == 0o600
    assert stat.S_IMODE(desk.paths.logs_dir.stat().st_mode) == 0o700
    assert logged.name == LOG_FILENAME
    entry = json.loads(logged.read_text(encoding="utf-8").splitlines()[-1])
    assert entry["msg"] == "hello" and entry["level"] == "INFO" and entry["ts"].endswith("+00:00")


def test_an_unexpected_crash_shows_a_short_message_and_logs_a_redacted_traceback(
        tmp_path: Path) -> None:
    script = (
        "from ccdesk.paths import Paths\n"
        "from ccdesk.logs import setup_logging\n"
        "from pathlib import Path\n"
        f"setup_logging(Paths(Path({str(tmp_path)!r}) / 'data', Path({str(tmp_path)!r})))\n"
        f"raise RuntimeError('failed for {PEOPLE[0][0]} {PEOPLE[0][1]} {PEOPLE[0][2]}')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCDESK_")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={**env, "CCDESK_LANG": "en"}, cwd=REPO, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "Unexpected error (RuntimeError)" in result.stderr
    assert _leaks(result.stderr) == []
    log = (tmp_path / "data" / "logs" / LOG_FILENAME).read_text(encoding="utf-8")
    crash = json.loads(log.splitlines()[-1])
    assert crash["level"] == "CRITICAL" and "RuntimeError: failed for <name>" in crash["exc"]
    assert _leaks(log) == []


FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "NGUYỄN", "TRẦN"]
GIVEN = ["Văn", "Thị", "Minh", "Hồng", "Quốc", "Thu", "Đức", "An", "Bình", "Ngọc", "Hà",
         "Tuấn", "Lan", "Hạnh", "Bảo", "Xuân", "Ánh"]


@st.composite
def personal_data(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["name", "cccd", "cmnd", "mobile", "intl", "email"]))
    if kind == "name":
        given = draw(st.lists(st.sampled_from(GIVEN), min_size=1, max_size=3))
        return " ".join([draw(st.sampled_from(FAMILY)), *given])
    if kind == "cccd":
        return draw(st.from_regex(r"0[0-9]{2}[0-3][0-9]{8}", fullmatch=True))
    if kind == "cmnd":
        return draw(st.from_regex(r"[0-9]{9}", fullmatch=True))
    if kind == "mobile":
        digits = draw(st.from_regex(r"0[35789][0-9]{8}", fullmatch=True))
        sep = draw(st.sampled_from(["", " ", ".", "-"]))
        return sep.join([digits[:4], digits[4:7], digits[7:]])
    if kind == "intl":
        return "+84" + draw(st.from_regex(r"[35789][0-9]{8}", fullmatch=True))
    return draw(st.from_regex(r"[a-z]{1,8}\.[a-z]{1,8}@[a-z]{2,8}\.vn", fullmatch=True))


filler = st.text(alphabet="abcdefghijklmnopqrstuvwxyz:=,;()[]{}'\"/", max_size=20)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.tuples(filler, personal_data()), min_size=1, max_size=4))
def test_redact_masks_generated_personal_data_anywhere_in_a_line(
        parts: list[tuple[str, str]]) -> None:
    line = " ".join(f"{text} {secret} " for text, secret in parts)
    masked = redact(line)
    for _text, secret in parts:
        assert secret not in masked, (secret, masked)


def test_structured_extras_are_redacted_too(desk: Desk, logged: Path) -> None:
    logging.getLogger("ccdesk.test").info(
        "batch", extra={"batch_id": "b-1", "count": 3,
                        "records": [{"name": PEOPLE[0][0], "id": PEOPLE[0][1]}]})
    entry = json.loads(logged.read_text(encoding="utf-8").splitlines()[-1])
    assert entry["batch_id"] == "b-1" and entry["count"] == 3
    assert _leaks(json.dumps(entry, ensure_ascii=False)) == []
