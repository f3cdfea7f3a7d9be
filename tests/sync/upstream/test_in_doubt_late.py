"""A steps call that times out but is stored upstream *after* the forwarder gave up on it (the
upstream has no idempotency): looked up at once, the steps were not there yet, went again, and
the late call landed too — every step twice. The randomized fault runs found it (seeds 175,
246, 321 of bench/forward_faults.py). The forwarder now waits ``IN_DOUBT_GRACE`` timeouts after
a timed-out call before it looks (sync/upstream/in_doubt.py, ``InDoubtSteps.too_soon``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ccdesk.ids import uuid7
from ccdesk.retry import RetryPolicy
from sync import keys
from sync.server.store import DistrictStore
from sync.upstream import outcome
from sync.upstream.config import load_config, save_config
from sync.upstream.double.faults import FaultSpec
from sync.upstream.forwarder import Forwarder
from sync.upstream.status import status as upstream_status
from sync.upstream.transport import DvcqgTransport, Reply
from tests.sync.upstream.double_fixtures import PASSWORD, UNIT, USER, DoubleServer, config
from tests.sync.upstream.fault_runs import COMMUNE, body, records

TIMEOUT_S = 0.4
LATE_S = 0.9     # stored 0.5 s after the client gave up, before the grace (2 × 0.4 s) ends


class SlowFirstSteps(DvcqgTransport):
    """The real transport; the double answers its first steps call after ``LATE_S``."""

    faults: FaultSpec
    slowed = False

    def steps(self, items: list[dict[str, Any]]) -> Reply:
        if self.slowed:
            return super().steps(items)
        self.slowed = True
        self.faults.latency_s, self.faults.latency_p = LATE_S, 1.0
        try:
            return super().steps(items)
        finally:   # the slow call has drawn its latency: the look-ups that follow are quick
            self.faults.latency_s, self.faults.latency_p = 0.0, 0.0


def test_steps_stored_upstream_after_the_timeout_are_not_sent_again(tmp_path: Path) -> None:
    cfg = config()
    double = DoubleServer(tmp_path / "double.sqlite3", cfg)
    store = DistrictStore.open(f"sqlite:///{tmp_path}/relay.sqlite3")
    try:
        device = store.enroll(store.issue_enroll_code(COMMUNE), "desk-late",
                              keys.public_of(keys.new_private_key()), False)
        rows = records(9001, [2])                   # one dossier: 3 steps
        store.apply_batch(device, body(device.device_id, rows), uuid7())
        save_config(store.engine, profile="dvcqg", url=double.url, unit_code=UNIT,
                       username=USER, password=PASSWORD, accept_demo=False,
                       settings={"timeout_s": TIMEOUT_S})
        config_ = load_config(store.engine)
        transport = SlowFirstSteps(config_.profile, config_.creds)
        transport.faults = cfg.faults
        exits = []
        for _ in range(50):
            runner = Forwarder(store.engine, config_, transport=transport,
                                  policy=RetryPolicy(base=0.0, cap=0.0, max_attempts=2),
                                  sleep=lambda _s: None)
            result = runner.run(once=True)
            exits.append(result.exit_code)
            if result.exit_code == outcome.EXIT_OK:
                break
            time.sleep(0.1)
        transport.close()
        assert exits[-1] == outcome.EXIT_OK, exits
        assert transport.slowed
        time.sleep(LATE_S)     # anything still sleeping in the double has landed
        steps = double.store.inspect(rows[0]["entity_id"])["steps"]   # type: ignore[index]
        assert [s["_duplicate"] for s in steps] == [False, False, False]
        assert double.store.stats()["duplicate_steps"] == 0
        assert upstream_status(store.engine)["steps_sent"] == 3
    finally:
        store.engine.dispose()
        double.stop()
