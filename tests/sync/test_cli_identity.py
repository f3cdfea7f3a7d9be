"""Who may change a desk's sync state from the command line, and an enrolment that fails
keeping the identity the desk syncs with (the real ``ccdesk`` CLI against a real district)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from ccdesk.services.context import SYSTEM
from tests.sync.helpers import COMMUNE, Desk, ThreadDistrict
from tests.sync.test_cli import free_port, run

IT_PIN = "24681357"


def enrol(district: ThreadDistrict, desk: Desk, *extra: str, env: dict | None = None) -> int:
    code = run(district.home, "district", "enroll-code", "--commune",
               COMMUNE).stdout.split()[-1]
    return run(desk.root, "sync", "enroll", "--url", district.url, "--code", code, *extra,
               env=env).returncode


def audit_lines(desk: Desk, action: str) -> list[tuple[str, str]]:
    con = sqlite3.connect(desk.db_path)
    try:
        return con.execute("SELECT officer_username, detail FROM auditlog WHERE action = ?",
                           (action,)).fetchall()
    finally:
        con.close()


def test_a_failed_enrolment_keeps_the_working_identity(district: ThreadDistrict,
                                                       cli_desk: Desk) -> None:
    home = cli_desk.root
    cli_desk.intake(2)
    assert enrol(district, cli_desk) == 0
    assert run(home, "sync", "push").returncode == 0
    dead = run(home, "sync", "enroll", "--url", f"http://127.0.0.1:{free_port()}",
               "--code", "AAAA-BBBB")
    assert dead.returncode == 20 and "Traceback" not in dead.stderr
    cli_desk.intake(3)
    pushed = run(home, "sync", "push", "--json")
    assert pushed.returncode == 0, pushed.stderr
    assert orjson.loads(pushed.stdout)["acked"] == 3
    status = orjson.loads(run(home, "sync", "status", "--json").stdout)
    assert status["enrolled"] and status["upstream"] == district.url
    assert district.url in dead.stderr                     # "keeps its previous enrolment"
    # A plain code never rebinds an enrolled device; a re-key code issued for this device
    # replaces its identity (the new key signs from then on).
    assert enrol(district, cli_desk) == 30
    rekey = run(district.home, "district", "enroll-code", "--commune", COMMUNE, "--device",
                cli_desk.services.office.get().device_id).stdout.split()[-1]
    assert run(home, "sync", "enroll", "--url", district.url, "--code", rekey).returncode == 0
    cli_desk.intake(1)
    assert run(home, "sync", "push").returncode == 0


@pytest.mark.parametrize("command", [
    ("sync", "quarantine", "--retry-all"),
    ("sync", "conflicts", "--resolve", "1"),
    ("sync", "export", "--out", "{tmp}"),
    ("sync", "enroll", "--url", "http://127.0.0.1:9", "--code", "AAAA"),
])
def test_sync_commands_that_change_state_need_an_it_officer(command: tuple[str, ...],
                                                            cli_desk: Desk,
                                                            tmp_path: Path) -> None:
    cli_desk.services.officers.add(SYSTEM, "minh", "Trần Văn Minh", "it", IT_PIN)
    args = [part.replace("{tmp}", str(tmp_path)) for part in command]
    refused = run(cli_desk.root, *args)
    assert refused.returncode == 2 and "--as" in refused.stderr, refused.stderr
    as_lead = run(cli_desk.root, *args, "--as", "lan", env={"CCDESK_PIN": "1234"})
    assert as_lead.returncode == 2 and "Refused" in as_lead.stderr, as_lead.stderr
    as_it = run(cli_desk.root, *args, "--as", "minh", env={"CCDESK_PIN": IT_PIN})
    assert "--as" not in as_it.stderr and "Refused" not in as_it.stderr, as_it.stderr


def test_actions_are_audited_under_the_acting_officer(district: ThreadDistrict,
                                                      cli_desk: Desk,
                                                      tmp_path: Path) -> None:
    cli_desk.services.officers.add(SYSTEM, "minh", "Trần Văn Minh", "it", IT_PIN)
    it = {"CCDESK_PIN": IT_PIN}
    cli_desk.intake(2)
    assert enrol(district, cli_desk, "--as", "minh", env=it) == 0
    assert audit_lines(cli_desk, "sync.enroll") == [("minh", "commune=26734")]
    exported = run(cli_desk.root, "sync", "export", "--out", str(tmp_path), "--as", "minh",
                   env=it)
    assert exported.returncode == 0, exported.stderr
    assert audit_lines(cli_desk, "sync.export") == [("minh", "rows=2 seqs=1-2 files=0")]
    released = run(cli_desk.root, "sync", "quarantine", "--retry-all", "--as", "minh", env=it)
    assert released.returncode == 0, released.stderr
    assert audit_lines(cli_desk, "sync.quarantine.release") == [("minh", "rows=0")]
    # Unattended runs keep acting as the system, as before.
    assert run(cli_desk.root, "sync", "push").returncode == 0
