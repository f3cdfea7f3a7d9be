"""Randomized sync fault soak: prints the counts of lost and duplicated records (target 0 and 0
over ≥ 1,000 runs). Each run is described in ``tests/sync/soak.py``.

    .venv/bin/python bench/sync_soak.py --runs 1000 [--kill-rate 0.05] [--db URL] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The soak copies set-up desks between folders: they share one desk key, which lives outside
# the database (docs/operations.md), as the test session does.
os.environ.setdefault("CCDESK_KEY_FILE",
                      str(Path(tempfile.mkdtemp(prefix="ccdesk-soak-key-")) / "desk.key"))

from sync.server.store import DistrictStore  # noqa: E402
from tests.sync.faultproxy import FaultProxy  # noqa: E402
from tests.sync.helpers import ServerThread  # noqa: E402
from tests.sync.soak import one_run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--kill-rate", type=float, default=0.03,
                        help="share of steps that kill -9 a client subprocess")
    parser.add_argument("--db", default=None, help="district URL (default: a temp SQLite)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ccdesk-soak-"))
    store = DistrictStore.open(args.db or f"sqlite:///{root}/district.sqlite3")
    server = ServerThread(store)
    proxy = FaultProxy(server.port)
    lost = duplicated = records = kills = 0
    started = time.perf_counter()
    try:
        for n in range(args.runs):
            outcome = one_run(root, store, proxy, n, args.seed * 1_000_003 + n, args.kill_rate)
            lost += outcome.lost
            duplicated += outcome.duplicated
            records += outcome.records
            kills += outcome.killed
            if (n + 1) % 50 == 0:
                print(f"  {n + 1} runs: lost {lost}, duplicated {duplicated}", flush=True)
    finally:
        proxy.stop()
        server.stop()
    print(f"runs {args.runs} (with kill -9: {kills}), records {records}: lost {lost}, "
          f"duplicated {duplicated}, {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
