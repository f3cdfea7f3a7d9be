"""Randomized fault runs at scale (issue 16, "Done means"): thousands of seeds of
tests/sync/upstream/fault_runs.py — the double's faults, the forwarder killed at its crash points,
lost relay replies — and every ``--kill-every``-th seed with real ``kill -9`` of ``ccdesk
district serve`` and ``ccdesk district forward`` (tests/sync/upstream/fault_kills.py).

    .venv/bin/python bench/forward_faults.py [--runs 2000] [--first-seed 0] [--kill-every 50]
    .venv/bin/python bench/forward_faults.py --seed 1234        # replay one run

Invariants checked on every run: every dossier delivered with all its steps, every step exactly
once (``duplicate_steps`` 0), dead letters only for the double's injected rejects, the relay
store consistent. Failing seeds are printed with their plan; the exit status is 1 if any.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sync.upstream.double_fixtures import DoubleServer, config  # noqa: E402
from tests.sync.upstream.fault_kills import run_with_kills  # noqa: E402
from tests.sync.upstream.fault_runs import Bench, Plan, run_in_process, scratch_dir  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--kill-every", type=int, default=50,
                        help="every Nth seed kills the relay and forwarder processes (0: none)")
    parser.add_argument("--seed", type=int, help="replay this one seed")
    args = parser.parse_args()
    seeds = [args.seed] if args.seed is not None else list(
        range(args.first_seed, args.first_seed + args.runs))
    root = scratch_dir("ccdesk-forward-faults-")
    cfg = config()
    double = DoubleServer(root / "double.sqlite3", cfg)
    bench = Bench(double.url, cfg.faults, root)
    failed: list[int] = []
    totals: Counter[str] = Counter()
    started, cpu = time.perf_counter(), time.process_time()
    try:
        for n, seed in enumerate(seeds, 1):
            killing = args.kill_every and seed % args.kill_every == 0
            try:
                if killing:
                    disk = Path(tempfile.mkdtemp(prefix="ccdesk-fault-kill-"))
                    try:
                        outcome = run_with_kills(bench, seed, disk)
                    finally:
                        shutil.rmtree(disk, ignore_errors=True)
                    totals["kill runs"] += 1
                    totals["forwarder processes killed"] += sum(
                        code == -9 for code in outcome["forwarder_exits"])
                    totals["relay processes killed"] += 1
                else:
                    outcome = run_in_process(bench, seed)
                totals["dead letters (injected rejects)"] += outcome["dead_letters"]
                totals["forwarder kills at crash points"] += outcome.get("kills", 0)
            except Exception:   # noqa: BLE001 - report the seed and go on
                failed.append(seed)
                print(f"FAILED seed {seed}: {Plan.draw(seed)}", flush=True)
                traceback.print_exc(limit=3)
            if n % 100 == 0:
                print(f"{n} runs, {len(failed)} failed, {time.perf_counter() - started:.0f} s",
                      flush=True)
    finally:
        double.stop()
        shutil.rmtree(root, ignore_errors=True)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"{len(seeds)} runs (seeds {seeds[0]}…{seeds[-1]}), {len(failed)} failed"
          + (f": seeds {failed}" if failed else ""))
    print(", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
    print(f"wall {time.perf_counter() - started:.0f} s, this process's CPU "
          f"{time.process_time() - cpu:.0f} s; uptime: {uptime}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
