"""Hypothesis stateful test: intakes, transitions, pushes and pulls under faults, district
edits and crashes, interleaved; the sync invariants (docs/design/sync-failures.md) hold after
every step."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ccdesk.domain.errors import CcdeskError
from ccdesk.storage import crashpoint
from sync import service
from sync.engine import Backoff, EngineOptions, SyncEngine
from sync.server.store import DistrictStore
from sync.state import SyncState
from tests.sync.faultproxy import FaultProxy
from tests.sync.helpers import ServerThread, assert_invariants, make_desk
from tests.sync.soak import ACTIONS

FAULTS = ["reset", "drop_reply", "500_before", "500_after", "duplicate", "captive",
          "blackout", "delay"]
OPTIONS = EngineOptions(backoff=Backoff(base=0.001, cap=0.005), max_attempts=3, lock_wait=10,
                        read_timeout=0.3, connect_timeout=1)
_ENV: dict[str, object] = {}
_COUNTER = itertools.count()


class SimulatedCrash(BaseException):
    """The process dies at a crash point (in-process stand-in; test_crash.py uses kill -9)."""


@pytest.fixture(scope="module", autouse=True)
def district_for_machine() -> object:
    root = Path(tempfile.mkdtemp(prefix="ccdesk-stateful-"))
    store = DistrictStore.open(f"sqlite:///{root}/district.sqlite3")
    server = ServerThread(store)
    proxy = FaultProxy(server.port)
    _ENV.update(root=root, store=store, proxy=proxy)
    yield
    proxy.stop()
    server.stop()


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        n = next(_COUNTER)
        self.store: DistrictStore = _ENV["store"]
        self.proxy: FaultProxy = _ENV["proxy"]
        self.desk = make_desk(_ENV["root"] / f"m{n}", agency=f"000.{n % 90 + 10:02}.33.H56")
        service.enroll(self.desk.services, self.proxy.url,
                       self.store.issue_enroll_code("26734"))
        self.engine = SyncEngine(self.desk.services.ctx, options=OPTIONS,
                                 sleep=lambda _s: None)
        self.codes: list[str] = []
        self.cursor = 0

    @rule(n=st.integers(1, 3))
    def intake(self, n: int) -> None:
        self.codes += self.desk.intake(n)

    @precondition(lambda self: self.codes)
    @rule(i=st.integers(0, 10_000), action=st.sampled_from(ACTIONS))
    def transition(self, i: int, action: object) -> None:
        kw = {"body": "Phòng Tư pháp"} if action.value == "hand_off" else {}
        if action.value == "withdraw":
            kw = {"reason": "Công dân rút hồ sơ"}
        try:
            self.desk.act(self.codes[i % len(self.codes)], action, **kw)
        except CcdeskError:
            pass

    @rule(faults=st.lists(st.sampled_from(FAULTS), max_size=3))
    def push(self, faults: list[str]) -> None:
        for kind in faults:
            self.proxy.add(kind, seconds=0.5)
        result = self.engine.push()
        self.proxy.faults.clear()
        assert result.exit_code in (0, 10, 20, 40), result
        if result.exit_code == 0:
            assert result.pending == 0

    @rule()
    def pull(self) -> None:
        result = self.engine.run()
        assert result.exit_code in (0, 10, 20, 40), result

    @precondition(lambda self: self.codes)
    @rule(i=st.integers(0, 10_000), kind=st.sampled_from(["result", "status"]))
    def district_edit(self, i: int, kind: str) -> None:
        status = "stopped" if kind == "status" else ""
        try:
            self.store.record_change(self.codes[i % len(self.codes)], kind, status)
        except Exception:  # noqa: BLE001 - not arrived upstream yet
            pass

    @rule(point=st.sampled_from(["after_mark", "after_reply"]))
    def crash(self, point: str) -> None:
        def crash_point(name: str) -> None:
            if name == point:
                raise SimulatedCrash(name)

        original = crashpoint.crash_point
        crashpoint.crash_point = crash_point
        try:
            self.engine.push()
        except SimulatedCrash:
            pass
        finally:
            crashpoint.crash_point = original

    @invariant()
    def sync_invariants(self) -> None:
        assert_invariants(self.desk, self.store, after_crash=True) if self.desk.outbox() \
            else None
        with self.desk.services.db.session() as session:
            cursor = session.get(SyncState, 1).pull_cursor
        assert cursor >= self.cursor, "the pull cursor moved backwards"
        self.cursor = cursor

    def teardown(self) -> None:
        try:
            self.proxy.faults.clear()
            final = self.engine.push()
            assert final.exit_code in (0, 40), final
            if self.desk.outbox():
                assert_invariants(self.desk, self.store)
        finally:
            self.desk.close()


SyncMachine.TestCase.settings = settings(
    max_examples=6, stateful_step_count=10, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TestSyncStateful = SyncMachine.TestCase
TestSyncStateful.pytestmark = [pytest.mark.slow]  # a Hypothesis state machine with faults
