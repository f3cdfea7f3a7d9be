"""Desk → relay → forwarder → the double in igate mode (docs/upstream.md, "igate"), on SQLite
and PostgreSQL: a bearer token from client credentials, the upstream's own minted code kept
beside ours and used for everything afterwards, steps exactly once, no duplicate after a
crash between "created upstream" and "recorded the code", tokens that expire mid-run, and
scans uploaded as multipart whose hashes the double verifies."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ccdesk.domain.lifecycle import Action
from sync.server.store import DistrictStore
from sync.upstream.config import load_config, save_config
from sync.upstream.forwarder import Forwarder
from sync.upstream.igate_codes import MINTED, UPLOADED
from sync.upstream.outcome import ForwardResult
from sync.upstream.tables import DEAD
from sync.upstream.transports import make_transport
from tests.sync.files.kit import intake_with_scans, scan
from tests.sync.helpers import Desk, ServerThread
from tests.sync.upstream.conftest import FAST, push
from tests.sync.upstream.double_fixtures import (
    PASSWORD,
    UNIT,
    USER,
    DoubleServer,
    config,
    running_chain,
)


@dataclass
class Chain:
    desk: Desk
    relay: ServerThread
    double: DoubleServer
    store: DistrictStore

    def forwarder(self) -> Forwarder:
        cfg = load_config(self.store.engine)
        transport = make_transport(cfg.profile, cfg.creds, engine=self.store.engine,
                                   files_dir=self.store.files_dir)
        return Forwarder(self.store.engine, cfg, transport=transport, policy=FAST,
                         sleep=lambda _s: None)

    def forward(self, runner: Forwarder | None = None) -> ForwardResult:
        push(self.desk)
        result = (runner or self.forwarder()).run()
        assert result.exit_code == 0, result
        return result

    def until_done(self, runs: int = 40) -> list[int]:
        exits = []
        for _run in range(runs):
            exits.append(self.forwarder().run().exit_code)
            if exits[-1] == 0:
                break
        return exits

    def inspect(self, code: str) -> dict[str, Any]:
        response = httpx.get(f"{self.double.url}/_inspect/{code}", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.double.url}/_stats", timeout=30).json()

    def minted(self) -> dict[str, str]:
        with self.store.engine.connect() as conn:
            return dict(conn.execute(select(MINTED.c.code, MINTED.c.upstream_code)).all())

    def clean(self) -> None:
        stats = self.stats()
        assert (stats["duplicate_steps"], stats["rejected"]) == (0, 0), stats
        assert stats["igate"]["duplicate_creates"] == 0, stats
        with self.store.engine.connect() as conn:
            assert conn.execute(select(DEAD)).all() == []


def make_chain(tmp_path: Path, relay_url: str, faults: str | None = None,
               **options: Any) -> Iterator[Chain]:
    with running_chain(tmp_path, relay_url, config(faults, profile="igate", **options),
                       profile="igate", files_dir=tmp_path / "relay-files") as parts:
        yield Chain(*parts)


@pytest.fixture
def chain(tmp_path: Path, relay_url: str) -> Iterator[Chain]:
    yield from make_chain(tmp_path, relay_url)


def statuses(found: dict[str, Any]) -> list[str]:
    return [s["TrangThai"] for s in found["steps"]]


def test_create_update_and_steps_go_under_the_minted_code(chain: Chain) -> None:
    code = chain.desk.intake(1)[0]
    first = chain.forward()
    assert (first.snapshots_sent, first.steps_sent) == (1, 1)
    minted = chain.minted()[code]
    assert minted != code and minted.startswith(UNIT + "-")
    found = chain.inspect(code)                      # by our reference
    assert (found["MaHoSo"], found["reference"], found["minted_codes"]) == (minted, code,
                                                                            [minted])
    assert found["snapshot"]["MaThamChieu"] == code
    chain.desk.act(code, Action.START)
    chain.desk.act(code, Action.MARK_READY)
    second = chain.forward()
    assert (second.snapshots_sent, second.steps_sent) == (1, 2)
    found = chain.inspect(minted)                    # by the upstream's own code
    assert found["status_timeline"] == ["2", "9"]
    assert statuses(found) == ["2", "4", "9"]
    assert [s["MaHoSo"] for s in found["steps"]] == [minted] * 3
    assert [v["isUpdating"] for v in found["snapshots"]] == ["False", "True"]
    assert chain.minted() == {code: minted}          # kept, never minted again
    assert chain.forward().snapshots_sent == 0       # nothing new: nothing sent
    stats = chain.stats()
    # One per run that called (cached within a run; a run with nothing to send buys none).
    assert stats["igate"]["tokens_issued"] == 2
    chain.clean()


def test_a_lost_minted_code_is_found_by_our_reference_not_created_twice(
        tmp_path: Path, relay_url: str) -> None:
    """The create was stored upstream and answered, then the forwarder died before keeping
    the code (``igate_after_create``; the kill -9 itself: test_igate_cli.py): the dossier's
    snapshot is still ``sending``, so the next run looks it up by our reference, keeps the
    code it finds and sends an update."""
    for chain in make_chain(tmp_path, relay_url):
        code = chain.desk.intake(1)[0]
        chain.desk.act(code, Action.START)
        push(chain.desk)
        runner = chain.forwarder()

        class Died(BaseException):
            """The process ends here: nothing after it runs."""

        def die(_code: str, _minted: str) -> None:
            raise Died
        runner.transport.book.keep_minted = die  # type: ignore[attr-defined,method-assign]
        with pytest.raises(Died):
            runner.run()
        runner.lease.release()
        assert chain.minted() == {}
        assert len(chain.inspect(code)["minted_codes"]) == 1     # stored upstream

        assert chain.forward().exit_code == 0
        found = chain.inspect(code)
        assert len(found["minted_codes"]) == 1 and chain.minted() == {code: found["MaHoSo"]}
        assert [v["isUpdating"] for v in found["snapshots"]] == ["False", "True"]
        assert statuses(found) == ["2", "4"]
        chain.clean()


def test_a_token_that_expires_mid_run_is_renewed_once(tmp_path: Path, relay_url: str) -> None:
    """The double says its tokens live 30 minutes but ends them after 1 s: the cached token
    is refused (401), a new one is bought and the call repeated, once."""
    for chain in make_chain(tmp_path, relay_url, "session_expiry=1s"):
        runner = chain.forwarder()
        code = chain.desk.intake(1)[0]
        chain.forward(runner)
        time.sleep(1.2)
        chain.desk.act(code, Action.START)
        result = chain.forward(runner)
        assert (result.snapshots_sent, result.steps_sent) == (1, 1)
        assert runner.transport.token.bought == 2  # type: ignore[attr-defined]
        assert statuses(chain.inspect(code)) == ["2", "4"]
        chain.clean()


@pytest.mark.parametrize("seed", [1, 2])
def test_faults_lose_nothing_and_create_nothing_twice(tmp_path: Path, seed: int) -> None:
    """5xx, 429, resets after storing (a create among them: its code is found by our
    reference), revoked and expiring tokens: every dossier once, every step once."""
    faults = (f"http500=0.1,429=0.05,retry_after=0,reset_after_store=0.2,401=0.1,"
              f"session_expiry=0.1,seed={seed}")
    for chain in make_chain(tmp_path, f"sqlite:///{tmp_path}/relay.sqlite3", faults):
        codes = chain.desk.intake(4)
        for code in codes:
            chain.desk.act(code, Action.START)
            chain.desk.act(code, Action.MARK_READY)
        push(chain.desk)
        exits = chain.until_done()
        assert exits[-1] == 0, exits
        for code in codes:
            found = chain.inspect(code)
            assert len(found["minted_codes"]) == 1, found["minted_codes"]
            assert statuses(found) == ["2", "4", "9"]
        stats = chain.stats()
        assert sum(stats["faults"].values()) > 0, stats
        chain.clean()


def test_scans_are_uploaded_once_and_verified_by_the_double(
        tmp_path: Path, relay_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for chain in make_chain(tmp_path, relay_url):
        scans = [scan(150_000, 41), scan(70_000, 42)]
        code, hashes = intake_with_scans(chain.desk, monkeypatch, scans)
        result = chain.forward()
        assert result.snapshots_sent == 1
        found = chain.inspect(code)
        files = found["files"]
        assert sorted(f["sha256"] for f in files) == sorted(hashes)
        assert all(f["verified"] for f in files)
        assert sorted(f["size"] for f in files) == sorted(len(s) for s in scans)
        listed = found["snapshot"]["TaiLieuNop"]
        assert {e["TepDinhKemId"] for e in listed} == {f["id"] for f in files}
        assert all("DuongDanTaiTepTin" not in e for e in listed)   # bytes, not a URL
        with chain.store.engine.connect() as conn:
            assert set(conn.execute(select(UPLOADED.c.sha256)).scalars()) == set(hashes)
        chain.desk.act(code, Action.START)
        chain.forward()
        assert chain.stats()["igate"]["uploads"] == 2                 # not uploaded again
        chain.clean()


def test_a_scan_damaged_at_the_relay_is_not_uploaded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for chain in make_chain(tmp_path, f"sqlite:///{tmp_path}/relay.sqlite3"):
        code, (sha,) = intake_with_scans(chain.desk, monkeypatch, [scan(50_000, 43)])
        push(chain.desk)
        stored = chain.store.files_dir / sha[:2] / sha
        damaged = bytearray(stored.read_bytes())
        damaged[-1] ^= 0xFF                          # one bit of rot on the relay's disk
        stored.write_bytes(bytes(damaged))
        result = chain.forwarder().run()
        assert result.exit_code == 40 and result.dead_letter == 1
        with chain.store.engine.connect() as conn:
            (letter,) = conn.execute(select(DEAD)).mappings().all()
        assert letter["kind"] == "snapshot" and "no longer match" in letter["message"]
        assert chain.stats()["igate"]["uploads"] == 0


def test_an_upload_larger_than_the_bound_is_refused_before_it_leaves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for chain in make_chain(tmp_path, f"sqlite:///{tmp_path}/relay.sqlite3"):
        save_config(chain.store.engine, profile="igate", url=chain.double.url, unit_code=UNIT,
                    username=USER, password=PASSWORD, accept_demo=False,
                    settings={"upload_max_bytes": 10_000})
        intake_with_scans(chain.desk, monkeypatch, [scan(50_000, 44)])
        push(chain.desk)
        result = chain.forwarder().run()
        assert result.exit_code == 40
        assert chain.stats()["igate"]["uploads"] == 0


def test_wrong_client_secret_is_auth_refused(tmp_path: Path) -> None:
    for chain in make_chain(tmp_path, f"sqlite:///{tmp_path}/relay.sqlite3"):
        save_config(chain.store.engine, profile="igate", url=chain.double.url, unit_code=UNIT,
                    username=USER, password="not-the-secret", accept_demo=False)
        chain.desk.intake(1)
        push(chain.desk)
        result = chain.forwarder().run()
        assert result.exit_code == 30 and "not-the-secret" not in (result.error or "")


def test_scans_under_faults_are_listed_once_each(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Resets after an upload was stored, 5xx and revoked tokens: an upload whose reply was
    lost goes again (at worst an unlisted copy upstream), each scan is listed once, by an id
    the double verified, and nothing needs a person."""
    faults = "http500=0.15,reset_after_store=0.3,401=0.1,seed=5"
    for chain in make_chain(tmp_path, f"sqlite:///{tmp_path}/relay.sqlite3", faults):
        scans = [scan(40_000, 51), scan(30_000, 52), scan(20_000, 53)]
        code, hashes = intake_with_scans(chain.desk, monkeypatch, scans)
        push(chain.desk)
        exits = chain.until_done()
        assert exits[-1] == 0, exits
        found = chain.inspect(code)
        listed = [e["TepDinhKemId"] for e in found["snapshot"]["TaiLieuNop"]]
        assert len(listed) == len(set(listed)) == 3
        assert sorted(f["sha256"] for f in found["files"]) == sorted(hashes)
        stats = chain.stats()
        assert stats["igate"]["files"] == 3 and stats["igate"]["uploads"] >= 3
        assert stats["faults"], stats
        chain.clean()
