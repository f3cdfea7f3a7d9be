"""A small-N run of the randomized fault soak (bench/sync_soak.py runs thousands)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sync.faultproxy import FaultProxy
from tests.sync.helpers import ServerThread
from tests.sync.soak import one_run


@pytest.mark.slow  # a soak of randomised faults
@pytest.mark.parametrize("district_url", ["sqlite"], indirect=True)
def test_small_soak_loses_and_duplicates_nothing(tmp_path: Path, server: ServerThread) -> None:
    proxy = FaultProxy(server.port)
    try:
        outcomes = [one_run(tmp_path, server.store, proxy, n, seed=1000 + n, kill_rate=0.0)
                    for n in range(4)]
    finally:
        proxy.stop()
    assert sum(o.records for o in outcomes) > 0
    assert [(o.lost, o.duplicated) for o in outcomes] == [(0, 0)] * 4
