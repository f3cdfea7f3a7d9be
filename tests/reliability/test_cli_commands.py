"""``ccdesk officer|audit|backup|restore``: identity (``--as`` + PIN), role refusals, output."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from ccdesk.domain.lifecycle import Action
from ccdesk.storage import backup as bk
from ccdesk.storage import soundness
from tests.reliability.conftest import PINS, Desk, intake

Cli = Callable[..., object]


def _as(user: str) -> dict[str, str]:
    return {"CCDESK_PIN": PINS[user]}


def test_officer_lifecycle_by_an_it_officer(desk: Desk, cli: Cli) -> None:
    added = cli(["officer", "add", "hoa", "--name", "Lê Thị Hoà", "--role", "officer",
                 "--as", "it1"], env={**_as("it1"), "CCDESK_NEW_PIN": "246810"})
    assert added.exit_code == 0, added.stderr
    assert "Officer hoa added" in added.stdout
    assert desk.services.officers.authenticate("hoa", "246810").role == "officer"

    listed = cli(["officer", "list", "--json", "--as", "it1"], env=_as("it1"))
    rows = {r["username"]: r for r in json.loads(listed.stdout)}
    assert rows["hoa"]["role"] == "officer" and rows["hoa"]["active"] is True
    assert "pin_hash" not in rows["hoa"]

    reset = cli(["officer", "reset-pin", "hoa", "--as", "it1"],
                env={**_as("it1"), "CCDESK_NEW_PIN": "135790"})
    assert reset.exit_code == 0, reset.stderr
    assert desk.services.officers.authenticate("hoa", "135790").username == "hoa"

    disabled = cli(["officer", "disable", "hoa", "--as", "it1"], env=_as("it1"))
    assert disabled.exit_code == 0 and "disabled" in disabled.stdout
    listed = cli(["officer", "list", "--json", "--as", "it1"], env=_as("it1"))
    assert "hoa" not in {r["username"] for r in json.loads(listed.stdout)}
    listed_all = cli(["officer", "list", "--all", "--json", "--as", "it1"], env=_as("it1"))
    assert {r["username"]: r["active"] for r in json.loads(listed_all.stdout)}["hoa"] is False
    actions = [r[0] for r in sqlite3.connect(desk.db_path).execute(
        "SELECT action FROM auditlog WHERE officer_username = 'it1' ORDER BY id")]
    assert [a for a in actions if a.startswith("officer.")] == [
        "officer.add", "officer.reset_pin", "officer.disable"]


def test_officer_commands_need_an_it_officer_once_one_exists(desk: Desk, cli: Cli) -> None:
    no_as = cli(["officer", "add", "x2", "--name", "Ngô Văn Tư", "--role", "it"],
                env={"CCDESK_NEW_PIN": "11112222"})
    assert no_as.exit_code == 2 and "--as USERNAME" in no_as.stderr
    as_officer = cli(["officer", "disable", "lead1", "--as", "off1"], env=_as("off1"))
    assert as_officer.exit_code == 2
    assert "Refused" in as_officer.stderr and "officer" in as_officer.stderr
    refusal = sqlite3.connect(desk.db_path).execute(
        "SELECT officer_username, detail FROM auditlog WHERE action = 'command.refused'"
    ).fetchall()
    assert refusal == [("off1", "permission=officers")]
    wrong_pin = cli(["officer", "list", "--as", "it1"], env={"CCDESK_PIN": "0000"})
    assert wrong_pin.exit_code == 2 and "Wrong PIN" in wrong_pin.stderr
    no_pin = cli(["officer", "list", "--as", "it1"])  # no terminal to ask for the PIN
    assert no_pin.exit_code == 2 and "CCDESK_PIN" in no_pin.stderr
    assert {o.username for o in desk.services.officers.list()} >= {"lead1"}
    assert "x2" not in {o.username for o in desk.services.officers.list(include_inactive=True)}


def test_bad_officer_input_names_the_field(desk: Desk, cli: Cli) -> None:
    result = cli(["officer", "add", "bad", "--name", "Nguyễn Văn 3", "--role", "boss",
                  "--as", "it1"], env={**_as("it1"), "CCDESK_NEW_PIN": "12"})
    assert result.exit_code == 2
    assert "Full name" in result.stderr or "Role" in result.stderr or "PIN" in result.stderr
    assert "Traceback" not in result.stderr


def test_audit_by_dossier_officer_and_date(desk: Desk, cli: Cli) -> None:
    officer = desk.actor("off1")
    code = intake(desk, officer)
    desk.services.dossiers.act(officer, code, Action.MARK_READY)
    by_dossier = cli(["audit", "--dossier", code, "--json", "--as", "lead1"], env=_as("lead1"))
    assert by_dossier.exit_code == 0, by_dossier.stderr
    rows = json.loads(by_dossier.stdout)
    assert [(r["officer"], r["action"], r["dossier"]) for r in rows] == [
        ("off1", "accept", code), ("off1", "mark_ready", code)]
    assert all(r["terminal"] and r["at"].endswith("Z") for r in rows)

    by_name = cli(["audit", "--officer", "hoang van nam", "--json", "--as", "lead1"],
                  env=_as("lead1"))  # full name without accents finds username off1
    actions = [r["action"] for r in json.loads(by_name.stdout)]
    assert actions == ["accept", "mark_ready"]

    text = cli(["audit", "--since", "01/01/2020", "--as", "it1"], env=_as("it1"))
    assert text.exit_code == 0 and code in text.stdout and "mark_ready" in text.stdout
    future = cli(["audit", "--since", "2999-01-01", "--as", "it1"], env=_as("it1"))
    assert "No audit lines match" in future.stdout
    # Looking at the trail is itself recorded.
    views = sqlite3.connect(desk.db_path).execute(
        "SELECT officer_username, detail FROM auditlog WHERE action = 'audit.view'").fetchall()
    assert ("lead1", f"dossier={code}") in views


def test_audit_refusals_and_bad_dates_are_clear(desk: Desk, cli: Cli) -> None:
    refused = cli(["audit", "--since", "01/11/2026", "--as", "off1"], env=_as("off1"))
    assert refused.exit_code == 2 and "Refused" in refused.stderr
    bad = cli(["audit", "--since", "31/02/2026", "--as", "it1"], env=_as("it1"))
    assert bad.exit_code == 2 and "--since" in bad.stderr and "31/02/2026" in bad.stderr
    nothing = cli(["audit"])
    assert nothing.exit_code == 2 and "--dossier" in nothing.stderr
    unknown = cli(["audit", "--officer", "nobody", "--as", "it1"], env=_as("it1"))
    assert unknown.exit_code == 2 and "nobody" in unknown.stderr


def test_backup_runs_unattended_and_to_a_folder(desk: Desk, cli: Cli, tmp_path: Path) -> None:
    plain = cli(["backup"])
    assert plain.exit_code == 0, plain.stderr
    usb = tmp_path / "usb"
    usb.mkdir()
    to = cli(["backup", "--to", str(usb), "--as", "it1"], env=_as("it1"))
    assert to.exit_code == 0, to.stderr
    copies = list(usb.glob("ccdesk-manual-*.sqlite3"))
    assert len(copies) == 1 and soundness.integrity_problem(copies[0], full=True) is None
    rows = sqlite3.connect(desk.db_path).execute(
        "SELECT officer_username FROM auditlog WHERE action = 'backup.create'").fetchall()
    assert rows == [("system",), ("it1",)]
    refused = cli(["backup", "--as", "off1"], env=_as("off1"))
    assert refused.exit_code == 2 and "Refused" in refused.stderr
    listed = cli(["backup", "--list", "--json"])
    kinds = [r["kind"] for r in json.loads(listed.stdout)]
    assert sorted(kinds) == ["daily", "manual"]  # the day's automatic copy and `backup`
    assert all(Path(r["path"]).parent == desk.paths.backups_dir
               for r in json.loads(listed.stdout))


def test_restore_confirms_and_needs_an_it_officer(desk: Desk, cli: Cli) -> None:
    officer = desk.actor("off1")
    first = intake(desk, officer)
    backup = bk.take_backup(desk.db_path, desk.paths.backups_dir)
    second = intake(desk, officer, name="Lê Thị Hoà", id_number="001185012345")

    no_as = cli(["restore", str(backup), "--yes"])
    assert no_as.exit_code == 2 and "--as" in no_as.stderr
    no_yes = cli(["restore", str(backup), "--as", "it1"], env=_as("it1"))
    assert no_yes.exit_code == 2 and "--yes" in no_yes.stderr
    codes = {r[0] for r in sqlite3.connect(desk.db_path).execute("SELECT code FROM dossier")}
    assert codes == {first, second}  # nothing changed so far

    done = cli(["restore", str(backup), "--yes", "--as", "it1"], env=_as("it1"))
    assert done.exit_code == 0, done.stderr
    assert "kept at" in done.stdout
    codes = {r[0] for r in sqlite3.connect(desk.db_path).execute("SELECT code FROM dossier")}
    assert codes == {first}
    detail = sqlite3.connect(desk.db_path).execute(
        "SELECT detail FROM auditlog WHERE action = 'backup.restore'").fetchone()[0]
    assert f"from={backup.name}" in detail and "by=it1" in detail


def test_restore_of_a_missing_file_is_a_clear_error(desk: Desk, cli: Cli,
                                                      tmp_path: Path) -> None:
    result = cli(["restore", str(tmp_path / "nope.sqlite3"), "--yes"])
    assert result.exit_code == 2 and "not found" in result.stderr


def test_restore_at_a_terminal_asks_and_a_no_changes_nothing(desk: Desk) -> None:
    """The real command on a pseudo-terminal: the confirmation is asked, "n" cancels."""
    import os
    import subprocess
    import sys

    from tests.reliability.conftest import REPO

    intake(desk, desk.actor("off1"))
    backup = bk.take_backup(desk.db_path, desk.paths.backups_dir)
    intake(desk, desk.actor("off1"), name="Lê Thị Hoà", id_number="001185012345")
    codes = "SELECT code FROM dossier ORDER BY code"
    before = sqlite3.connect(desk.db_path).execute(codes).fetchall()
    master, slave = os.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCDESK_")}
    env.update({"CCDESK_HOME": str(desk.paths.data_dir.parent), "CCDESK_PIN": PINS["it1"],
                "PYTHONIOENCODING": "utf-8"})
    child = subprocess.Popen([sys.executable, "-m", "ccdesk.cli", "--lang", "en", "restore",
                              str(backup), "--as", "it1"], stdin=slave, stdout=slave,
                             stderr=subprocess.PIPE, env=env, cwd=REPO)
    os.close(slave)
    seen = b""
    while b"[y/N]" not in seen:
        chunk = os.read(master, 1024)
        assert chunk, seen
        seen += chunk
    os.write(master, b"n\n")
    assert child.wait(timeout=60) == 1
    assert b"Restore " in seen and str(backup).encode() in seen
    assert b"cancelled" in child.stderr.read()
    os.close(master)
    assert sqlite3.connect(desk.db_path).execute(codes).fetchall() == before
    assert len(before) == 2
    # Only the login (with the terminal it came from) was recorded.
    last = sqlite3.connect(desk.db_path).execute(
        "SELECT officer_username, action, terminal FROM auditlog ORDER BY id DESC").fetchone()
    assert last[:2] == ("it1", "login") and last[2].startswith("/dev/")


def test_restore_onto_a_new_machine_creates_the_database(desk: Desk, cli: Cli,
                                                         tmp_path: Path) -> None:
    code = intake(desk, desk.actor("off1"))
    usb = tmp_path / "usb"
    usb.mkdir()
    copy = bk.backup_to(desk.db_path, usb)
    new_db = tmp_path / "new-machine" / "ccdesk.sqlite3"
    result = cli(["--db", str(new_db), "restore", str(copy), "--yes"])
    assert result.exit_code == 0, result.stderr
    assert [r[0] for r in sqlite3.connect(new_db).execute("SELECT code FROM dossier")] == [code]
    assert oct(new_db.stat().st_mode & 0o777) == oct(0o600)


def test_catalog_import_needs_a_lead_or_it_officer(desk: Desk, cli: Cli) -> None:
    from tests.reliability.conftest import CATALOG

    refused = cli(["catalog", "import", str(CATALOG), "--as", "off1"], env=_as("off1"))
    assert refused.exit_code == 2 and "Refused" in refused.stderr
    anonymous = cli(["catalog", "import", str(CATALOG)])
    assert anonymous.exit_code == 2 and "--as" in anonymous.stderr
    done = cli(["catalog", "import", str(CATALOG), "--as", "lead1"], env=_as("lead1"))
    assert done.exit_code == 0, done.stderr
    rows = sqlite3.connect(desk.db_path).execute(
        "SELECT officer_username FROM auditlog WHERE action = 'catalog.import' "
        "ORDER BY id DESC LIMIT 1").fetchall()
    assert rows == [("lead1",)]


def test_report_search_and_forms_check_the_as_officer(desk: Desk, cli: Cli) -> None:
    """Unattended runs act as the system; with ``--as`` the officer's role is checked and a
    reprint names them."""
    from tests.reliability.conftest import intake

    code = intake(desk, desk.actor("off1"))
    refused = cli(["report", "--period", "2026", "--json", "--as", "off1"], env=_as("off1"))
    assert refused.exit_code == 2 and "Refused" in refused.stderr
    assert cli(["report", "--period", "2026", "--json", "--as", "lead1"],
               env=_as("lead1")).exit_code == 0
    assert cli(["report", "--period", "2026", "--json"]).exit_code == 0
    trainer = cli(["dossier", "show", code, "--json", "--as", "trn1"], env=_as("trn1"))
    assert trainer.exit_code == 2 and "Refused" in trainer.stderr  # real data, not a sandbox
    wrong_pin = cli(["dossier", "search", code, "--as", "off1"], env={"CCDESK_PIN": "0000"})
    assert wrong_pin.exit_code == 2 and code not in wrong_pin.stdout
    found = cli(["dossier", "search", code, "--json", "--as", "off1"], env=_as("off1"))
    assert found.exit_code == 0 and code in found.stdout
    printed = cli(["forms", "render", "--dossier", code, "--form", "01", "--print",
                   "--as", "off1"], env=_as("off1"))
    assert printed.exit_code == 0, printed.stderr
    rows = sqlite3.connect(desk.db_path).execute(
        "SELECT o.username FROM dossierevent e JOIN officer o ON o.id = e.officer_id "
        "WHERE e.action = 'reprint'").fetchall()
    assert rows == [("off1",)]
