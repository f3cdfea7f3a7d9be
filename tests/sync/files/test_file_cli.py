"""``ccdesk sync status`` and ``sync push`` report the scans waiting and sent (docs/sync.md,
"Files"), through the real command line against a relay."""

from __future__ import annotations

import orjson
import pytest

from tests.sync.files.kit import intake_with_scans, scan
from tests.sync.helpers import Desk, ThreadDistrict
from tests.sync.test_cli import run


def test_status_and_push_report_files(district: ThreadDistrict, cli_desk: Desk,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    home = cli_desk.root
    scans = [scan(120_000, 21), scan(80_000, 22)]
    intake_with_scans(cli_desk, monkeypatch, scans)
    code = run(district.home, "district", "enroll-code", "--commune", "26734"
               ).stdout.strip().splitlines()[-1]
    assert run(home, "sync", "enroll", "--url", district.url, "--code", code).returncode == 0
    status = orjson.loads(run(home, "sync", "status", "--json").stdout)
    assert (status["files_pending"], status["file_bytes_pending"]) == (2, 200_000)
    assert "Scans waiting to send: 2 (200 kB)" in run(home, "sync", "status").stdout
    pushed = run(home, "sync", "push", "--json")
    assert pushed.returncode == 0, pushed.stderr
    data = orjson.loads(pushed.stdout)
    assert data["records_sent"] == 1 and data["pending"] == 0          # the keys it had
    assert (data["files_sent"], data["file_bytes_sent"], data["files_pending"]) == (
        2, 200_000, 0)
    status = orjson.loads(run(home, "sync", "status", "--json").stdout)
    assert (status["files_pending"], status["file_bytes_pending"]) == (0, 0)
    said = run(home, "sync", "status", lang="vi").stdout
    assert "Tệp scan chờ gửi: 0 (0 kB)" in said
