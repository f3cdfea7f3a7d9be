"""Issue 12.10 on the desk: every file ccdesk writes with personal data or keys is owner-only
(0600) under the usual umask: forms and reports given ``--out``/``-o``, USB bundles and their
ack files, the sync log. A file the user made keeps its own mode."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.conftest import Desk, intake


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)  # what a desk PC has: new files 0644 unless ccdesk says otherwise
    yield
    os.umask(old)


def test_forms_render_out_and_report_outputs_are_owner_only(desk: Desk, cli, tmp_path: Path,
                                                            usual_umask: None) -> None:
    code = intake(desk, desk.actor("off1"))
    desk.services.close()
    pdf = tmp_path / "slip.pdf"
    done = cli(["forms", "render", "--dossier", code, "--form", "01", "--out", str(pdf)])
    assert done.exit_code == 0, done.stderr
    assert pdf.read_bytes().startswith(b"%PDF") and _mode(pdf) == 0o600
    for flag, name in (("--json", "r.json"), ("--csv", "r.csv"), ("--pdf", "r.pdf"),
                       (None, "r.txt")):
        out = tmp_path / name
        args = ["report", "--period", "2026-11", "-o", str(out)] + ([flag] if flag else [])
        result = cli(args)
        assert result.exit_code == 0, (name, result.stderr)
        assert out.stat().st_size > 0 and _mode(out) == 0o600, name
    # A file the user made keeps its mode; a FIFO is never replaced.
    mine = tmp_path / "mine.csv"
    mine.write_text("old")
    mine.chmod(0o640)
    assert cli(["report", "--period", "2026-11", "--csv", "-o", str(mine)]).exit_code == 0
    assert _mode(mine) == 0o640 and "old" not in mine.read_text("utf-8-sig")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    refused = cli(["report", "--period", "2026-11", "--csv", "-o", str(fifo)])
    assert refused.exit_code == 2 and "not a regular file" in refused.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_usb_bundle_ack_file_and_sync_log_are_owner_only(tmp_path: Path,
                                                         usual_umask: None) -> None:
    from typer.testing import CliRunner

    from ccdesk.cli import app
    from ccdesk.commands.common import STATE
    from sync import service
    from sync.bundle import export_bundle
    from sync.joblog import JsonLineLog
    from sync.server.store import DistrictStore
    from tests.sync.helpers import ServerThread, make_desk

    desk = make_desk(tmp_path / "desk")
    url = f"sqlite:///{tmp_path}/district.sqlite3"
    store = DistrictStore.open(url)
    srv = ServerThread(store)
    try:
        desk.intake(2)
        service.enroll(desk.services, srv.url, store.issue_enroll_code("26734"))
        bundle, *_ = export_bundle(desk.services.db, tmp_path / "usb")
        assert _mode(bundle) == 0o600
        STATE._services, STATE.db = None, None
        result = CliRunner().invoke(app, ["--lang", "en", "district", "import", str(bundle),
                                          "--db", url])
        assert result.exit_code == 0, result.stderr
        ack = Path(f"{bundle}.ack.json")
        assert ack.exists() and _mode(ack) == 0o600
    finally:
        srv.stop()
        store.engine.dispose()
        desk.close()
    log = tmp_path / "logs" / "sync.jsonl"
    log.parent.mkdir()
    JsonLineLog(log).write("batch", batch_id="b1")
    assert _mode(log) == 0o600
