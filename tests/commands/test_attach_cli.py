"""``ccdesk attach add|list|remove|check`` and ``ccdesk backup`` with digitised papers, as IT
scripts run them: the installed command in a subprocess on a real desk under CCDESK_HOME."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
from pathlib import Path

import orjson
import pytest

from tests.conftest import run_ccdesk
from tests.services.attach_kit import pdf_bytes, png_bytes, write


def run(home: Path, *args: str, lang: str = "vi") -> subprocess.CompletedProcess[str]:
    return run_ccdesk(*args, home=home, lang=lang)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("attach-cli")
    out = run(root, "demo", "seed", "--dossiers", "30", "--days", "3", "--seed", "7")
    assert out.returncode == 0, out.stderr
    return root


def _database(home: Path) -> Path:
    return next(p for p in home.rglob("*.sqlite3") if "backups" not in p.parts)


def _open_dossier(home: Path) -> str:
    with sqlite3.connect(_database(home)) as con:
        return con.execute("SELECT code FROM dossier WHERE status IN ('received', "
                           "'in_progress') ORDER BY id LIMIT 1").fetchone()[0]


def test_add_list_remove_and_a_refusal(home: Path, tmp_path: Path) -> None:
    code = _open_dossier(home)
    pdf = write(tmp_path / "to-khai.pdf", pdf_bytes("cli"))
    png = write(tmp_path / "cccd.png", png_bytes(21))
    out = run(home, "attach", "add", code, "1", str(pdf), str(png), "--source", "usb", "--json")
    assert out.returncode == 0, out.stderr
    added = orjson.loads(out.stdout)
    assert added["code"] == code
    assert [(f["position"], f["source"], f["name"]) for f in added["files"]] == [
        (1, "usb", "to-khai.pdf"), (1, "usb", "cccd.png")]
    assert added["files"][0]["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert added["items"][0]["files"] == 2

    listed = orjson.loads(run(home, "attach", "list", code, "--json").stdout)
    assert listed["files"] == added["files"]
    text = run_ccdesk("attach", "list", code, home=home, lang="en",
                      env={"COLUMNS": "200"}).stdout
    assert "to-khai.pdf" in text and "From the citizen's USB stick" in text

    bad = write(tmp_path / "scan.pdf", b"<html>not a scan</html>")
    out = run(home, "attach", "add", code, "2", str(bad))
    assert out.returncode == 2 and str(bad) in out.stderr and "Traceback" not in out.stderr
    out = run(home, "attach", "add", code, "1", str(pdf), "--source", "reused")
    assert out.returncode == 2 and "source" in out.stderr.lower()

    first = added["files"][0]["id"]
    out = run(home, "attach", "remove", code, str(first))
    assert out.returncode == 0, out.stderr
    listed = orjson.loads(run(home, "attach", "list", code, "--json").stdout)
    assert [f["name"] for f in listed["files"]] == ["cccd.png"]


def test_check_finds_a_lost_file_and_backup_carries_the_store(home: Path, tmp_path: Path) -> None:
    code = _open_dossier(home)
    scan = write(tmp_path / "lost.png", png_bytes(22))
    assert run(home, "attach", "add", code, "2", str(scan)).returncode == 0
    out = run(home, "attach", "check")
    assert out.returncode == 0, out.stdout + out.stderr
    out = run(home, "backup")
    assert out.returncode == 0, out.stderr
    db = _database(home)
    sha = hashlib.sha256(scan.read_bytes()).hexdigest()
    pool = db.parent / "backups" / f"{db.stem}-files" / sha[:2] / sha
    assert pool.read_bytes() == scan.read_bytes()
    stored = db.parent / f"{db.stem}-files" / sha[:2] / sha
    stored.unlink()
    out = run(home, "attach", "check", "--json")
    assert out.returncode == 1
    assert orjson.loads(out.stdout)["missing"] == [sha]
    text = run(home, "attach", "check", lang="en")
    assert text.returncode == 1 and f"Missing: {sha}" in text.stdout
