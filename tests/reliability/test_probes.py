"""Bad arguments through the real ``ccdesk`` command line (issue 12.15): every probe ends with
the documented exit code and one clean message, never a traceback, an "Unexpected error" line
or a hang (the subprocess timeout bounds each one: /dev/zero once made three commands read
until memory ran out)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability.conftest import Desk, run_ccdesk

PROBE_TIMEOUT = 45  # seconds; a bounded read answers in one or two


def _huge(tmp: Path) -> str:
    """A 300 MiB sparse file: instant to make, larger than every bound."""
    path = tmp / "huge.bin"
    with path.open("wb") as fh:
        fh.truncate(300 * 1024 * 1024)
    return str(path)


def _fifo(tmp: Path) -> str:
    path = tmp / "fifo"
    os.mkfifo(path)
    return str(path)


BAD_FILES = {
    "missing": lambda tmp: str(tmp / "nope.toml"),
    "folder": lambda tmp: str(tmp),
    "dev_zero": lambda _tmp: "/dev/zero",  # read only, never written
    "fifo": _fifo,
    "huge": _huge,
}

FILE_COMMANDS = {
    "catalog check": ["catalog", "check", "{file}"],
    "catalog import": ["catalog", "import", "{file}"],
    "sync import-ack": ["sync", "import-ack", "{file}"],
    "district import": ["district", "import", "{file}", "--db", "sqlite:///{tmp}/d.sqlite3"],
    "restore": ["restore", "{file}", "--yes"],
}

ARGUMENT_PROBES = {
    "calendar due bad date": (["calendar", "due", "--received", "31/02/2026 25:00",
                               "--days", "3"], 2),
    "calendar due negative days": (["calendar", "due", "--received", "2026-11-23 09:00",
                                    "--days", "-5"], 2),
    "calendar due huge days": (["calendar", "due", "--received", "2026-11-23 09:00",
                                "--days", "99999999999999999999"], 2),
    "calendar list bad year": (["calendar", "list", "--year", "99999"], 2),
    "report bad period": (["report", "--period", "2026-13"], 2),
    "report bad range": (["report", "--from", "2026-11-30", "--to", "2026-11-01"], 2),
    "audit bad date": (["audit", "--since", "31/02/2026"], 2),
    "audit bad limit": (["audit", "--since", "2026-11-01", "--limit", "-1"], 2),
    "dossier search bad limit": (["dossier", "search", "an", "--limit", "0"], 2),
    "dossier show unknown": (["dossier", "show", "../../etc/passwd"], 2),
    "forms render unknown form": (["forms", "render", "--dossier", "X-1", "--form", "99"], 2),
    "forms register bad date": (["forms", "register", "--from", "hôm qua", "--to",
                                 "2026-11-01", "--out", "{tmp}/r.pdf"], 2),
    "demo seed zero": (["demo", "seed", "--dossiers", "0"], 2),
    "backup to device": (["backup", "--to", "/dev/zero"], 2),
    "officer add short pin": (["officer", "add", "x", "--name", "Nguyễn Văn A", "--role",
                               "officer"], 2),
}

DAMAGED_DB_COMMANDS = [["sync", "status"], ["sync", "status", "--json"], ["sync", "log"],
                       ["officer", "list"], ["catalog", "list"],
                       ["audit", "--since", "2026-11-01"], ["dossier", "search", "an"]]


def _assert_clean(result, expected: int) -> None:  # noqa: ANN001 - CompletedProcess
    out = result.stdout + result.stderr
    assert result.returncode == expected, out
    assert "Traceback" not in out and "Unexpected error" not in out
    assert "Lỗi ngoài dự kiến" not in out
    assert result.stderr.strip(), "a refusal says why"
    # One message (Typer's usage errors add a usage line and a frame around it).
    lines = [line for line in result.stderr.strip().splitlines()
             if not line.startswith(("Usage:", "Try ", "╭", "╰"))]
    assert len(lines) <= 2, result.stderr


# /dev/zero (the probe that hung) runs for every command; the rest of the matrix is marked slow.
FILE_PROBES = [pytest.param(command, bad, id=f"{command}-{bad}",
                            marks=() if bad == "dev_zero" else pytest.mark.slow)
               for command in sorted(FILE_COMMANDS) for bad in sorted(BAD_FILES)]


@pytest.mark.parametrize(("command", "bad"), FILE_PROBES)
def test_bad_input_files_are_refused_quickly_and_cleanly(desk: Desk, tmp_path: Path,
                                                         command: str, bad: str) -> None:
    desk.services.close()
    probe = tmp_path / "probe"
    probe.mkdir()
    file = BAD_FILES[bad](probe)
    args = [a.format(file=file, tmp=tmp_path) for a in FILE_COMMANDS[command]]
    env = {"CCDESK_PIN": "43218765"} if command == "catalog import" else None
    if command == "catalog import":
        args += ["--as", "it1"]
    result = run_ccdesk(["--lang", "en", *args], desk.paths.data_dir.parent, env=env,
                        timeout=PROBE_TIMEOUT)
    _assert_clean(result, 2)
    if bad != "missing":
        assert file in result.stderr  # the message names the file


@pytest.mark.parametrize("probe", sorted(ARGUMENT_PROBES))
def test_bad_arguments_get_one_clean_message(desk: Desk, tmp_path: Path, probe: str) -> None:
    desk.services.close()
    args, expected = ARGUMENT_PROBES[probe]
    args = [a.format(tmp=tmp_path) for a in args]
    result = run_ccdesk(["--lang", "en", *args], desk.paths.data_dir.parent,
                        env={"CCDESK_NEW_PIN": "12", "CCDESK_PIN": "43218765",
                             "CCDESK_USER": "it1"}, timeout=PROBE_TIMEOUT)
    _assert_clean(result, expected)


@pytest.mark.parametrize("args", DAMAGED_DB_COMMANDS, ids=" ".join)
def test_commands_on_a_damaged_database_say_so_without_a_traceback(desk: Desk,
                                                                   args: list[str]) -> None:
    desk.services.close()
    desk.db_path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 8000)
    for extra in ("-wal", "-shm"):
        desk.db_path.with_name(desk.db_path.name + extra).unlink(missing_ok=True)
    result = run_ccdesk(["--lang", "en", *args], desk.paths.data_dir.parent,
                        timeout=PROBE_TIMEOUT)
    _assert_clean(result, 2)
    assert "damaged or unreadable" in result.stderr
