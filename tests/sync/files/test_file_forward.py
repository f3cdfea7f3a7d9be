"""Desk → relay → conformance double with scans (docs/upstream.md, "Files"): the dossier goes
up before its files, its snapshot lists each file by a URL at the relay once the file is
whole there, and the URL serves the very bytes the desk scanned."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text

from sync.engine import EngineOptions, SyncEngine
from sync.server.store import DistrictStore
from sync.upstream.config import save_config
from tests.sync.files.kit import intake_with_scans, scan, sha
from tests.sync.helpers import ServerThread
from tests.sync.upstream.conftest import PUSH, enrolled_desk, forwarder
from tests.sync.upstream.double_fixtures import PASSWORD, UNIT, USER, DoubleServer, config


@pytest.fixture
def double(tmp_path: Path) -> Iterator[DoubleServer]:
    server = DoubleServer(tmp_path / "double.sqlite3", config())
    yield server
    server.stop()


def configure(store: DistrictStore, double: DoubleServer, base_url: str) -> None:
    save_config(store.engine, profile="dvcqg", url=double.url, unit_code=UNIT, username=USER,
                password=PASSWORD, accept_demo=False,
                settings={"files_base_url": base_url,
                          # Field names come from the settings: one renamed, one left out.
                          "file_fields": {"url": "DuongDanTepTin", "id": ""}})


def inspect(double: DoubleServer, code: str) -> dict:
    response = httpx.get(f"{double.url}/_inspect/{code}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_snapshot_lists_files_by_url_once_they_arrive(
        tmp_path: Path, relay: ServerThread, double: DoubleServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    desk = enrolled_desk(tmp_path / "desk", relay)
    try:
        scans = [scan(150_000, 31), scan(70_000, 32)]
        code, hashes = intake_with_scans(desk, monkeypatch, scans)
        configure(relay.store, double, relay.url)
        # The dossier first, its files not yet sent: it is forwarded without a file list.
        records_only = SyncEngine(desk.services.ctx, options=EngineOptions(
            backoff=PUSH.backoff, max_attempts=5, lock_wait=20, push_files=False)).push()
        assert (records_only.exit_code, records_only.files_pending) == (0, 2)
        assert forwarder(relay.store).run().exit_code == 0
        first = inspect(double, code)
        assert "TaiLieuNop" not in first["snapshot"]
        # The files arrive: the relay sends the snapshot again, now listing them.
        files_run = SyncEngine(desk.services.ctx, options=PUSH).push()
        assert (files_run.exit_code, files_run.files_sent) == (0, 2)
        result = forwarder(relay.store).run()
        assert (result.exit_code, result.snapshots_sent) == (0, 1)
        found = inspect(double, code)
        listed = found["snapshot"]["TaiLieuNop"]
        assert [set(e) for e in listed] == [{"TenTepDinhKem", "DuongDanTepTin", "IsDeleted"}] * 2
        # Named by their paper (the checklist item the desk filed them under), numbered.
        with desk.services.db.session() as session:
            paper = session.exec(text(
                "SELECT name FROM checklistitem WHERE dossier_id = (SELECT id FROM dossier "
                "WHERE code = :code) ORDER BY position LIMIT 1").bindparams(code=code)).one()[0]
        assert sorted(e["TenTepDinhKem"] for e in listed) == [f"{paper} (2).jpg",
                                                              f"{paper}.jpg"]
        fetched = []
        for element in listed:
            url = element["DuongDanTepTin"]
            assert urlsplit(url).netloc == urlsplit(relay.url).netloc
            got = httpx.get(url, timeout=30)
            assert got.status_code == 200
            fetched.append(got.content)
        assert sorted(fetched) == sorted(scans)
        assert {sha(b) for b in fetched} == set(hashes)
        # Nothing changed since: the next pass sends no snapshot (the URLs are stable).
        assert forwarder(relay.store).run().snapshots_sent == 0
    finally:
        desk.close()
