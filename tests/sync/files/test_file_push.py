"""Files follow their dossiers to a real relay over HTTP (docs/sync.md, "Files")."""

from __future__ import annotations

import stat

import pytest

from sync import service
from sync.engine import Backoff, EngineOptions, SyncEngine
from tests.sync.files.kit import intake_with_scans, scan, sent
from tests.sync.helpers import COMMUNE, Desk, ServerThread

FAST = EngineOptions(backoff=Backoff(base=0.01, cap=0.05), max_attempts=4, lock_wait=5)


def enrol(desk: Desk, server: ServerThread) -> None:
    service.enroll(desk.services, server.url, server.store.issue_enroll_code(COMMUNE))


def test_files_follow_their_dossier_whole_and_verified(
        desk: Desk, server: ServerThread, monkeypatch: pytest.MonkeyPatch) -> None:
    scans = [scan(150_000, 1), scan(90_000, 2)]
    code, hashes = intake_with_scans(desk, monkeypatch, scans)
    enrol(desk, server)
    result = SyncEngine(desk.services.ctx, options=FAST).push()
    assert result.exit_code == 0, result
    assert result.acked == 1
    assert (result.files_sent, result.files_pending) == (2, 0)
    assert result.file_bytes_sent == sum(len(s) for s in scans)
    assert sent(desk) == {h: (len(s), True) for h, s in zip(hashes, scans, strict=True)}
    intake = server.store.files
    for h, data in zip(hashes, scans, strict=True):
        path = intake.path_of(h)
        assert path.read_bytes() == data
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Nothing left: the next run sends no file bytes.
    again = SyncEngine(desk.services.ctx, options=FAST).push()
    assert (again.exit_code, again.files_sent, again.file_bytes_sent) == (0, 0, 0)
