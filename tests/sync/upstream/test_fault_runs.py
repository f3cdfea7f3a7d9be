"""Randomized fault runs (tests/sync/upstream/fault_runs.py): 200 seeds in the default suite, in
process, and two of them (:data:`KILL_SEEDS`) with real ``kill -9`` of the relay and of the
forwarder as child processes. bench/forward_faults.py runs thousands. A failure names its seed
and plan; replay one with ``-k seed_17``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sync.upstream.double_fixtures import DoubleServer, config
from tests.sync.upstream.fault_runs import Bench, run_in_process, scratch_dir

RUNS = 200
KILL_SEEDS = (0, 100)


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    root = scratch_dir("ccdesk-fault-runs-")
    cfg = config()       # its FaultSpec is the one object the double reads: runs re-arm it
    double = DoubleServer(root / "double.sqlite3", cfg)
    try:
        yield Bench(double.url, cfg.faults, root)
    finally:
        double.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("seed", range(RUNS), ids=lambda seed: f"seed_{seed}")
def test_a_randomized_fault_run_delivers_everything_once(bench: Bench, seed: int,
                                                         tmp_path: Path) -> None:
    if seed in KILL_SEEDS:
        from tests.sync.upstream.fault_kills import run_with_kills

        run_with_kills(bench, seed, tmp_path)
    else:
        run_in_process(bench, seed)
