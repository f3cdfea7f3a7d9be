"""Crash soak: SIGKILL a process doing intakes and transitions, then check nothing was lost.

Usage: ``.venv/bin/python bench/crash_soak.py [RUNS] [SEED]`` (default 40 runs). Prints the
figures: runs, intakes committed, intakes per second of child life, and the invariant checks.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.conftest import Clock, make_paths, setup_desk  # noqa: E402
from tests.reliability.test_crash import check_database, kill_loop  # noqa: E402


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else random.randrange(1 << 30)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_paths(Path(tmp))
        setup_desk(paths, Clock(), officers=("off1",)).close()
        report = paths.data_dir / "committed.txt"
        started = time.perf_counter()
        kills = kill_loop(paths.default_db, report, runs, random.Random(seed))
        elapsed = time.perf_counter() - started
        reported = report.read_text(encoding="utf-8").split() if report.exists() else []
        counts = check_database(paths.default_db, reported)
    print(f"seed={seed} runs={runs} kills={kills} elapsed={elapsed:.1f}s")
    print(f"dossiers committed={counts['dossiers']} reported by the child={counts['reported']} "
          f"committed-but-unreported={counts['dossiers'] - counts['reported']} "
          f"transitions committed={counts['transitions']}")
    print("lost committed dossiers/transitions=0, integrity_check=ok, "
          "every change whole (event + audit + outbox)")


if __name__ == "__main__":
    main()
