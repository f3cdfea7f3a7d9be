"""Milliseconds per PIN check at candidate argon2id costs, and what that means for an attacker
who has the database *and* the key file (a stolen desk PC) trying every PIN on one core.

    python bench/pin_hash.py [--runs 5]

Run it on the desk's slowest machine: the login waits this long once per PIN typed. The chosen
parameters are ``ccdesk.services.pins.ARGON2`` (docs/operations.md, "PIN policy"). Beside the
wall time, the CPU time of the check (all its threads): argon2's lanes run in parallel threads,
so with 2 lanes or more a check uses every core and its wall time falls below its CPU time, at
the same memory cost (an attacker's cost is the CPU and memory, not the wall time).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time

from argon2 import PasswordHasher

# (time_cost, memory_cost KiB, parallelism)
CANDIDATES = [(3, 65_536, 4), (3, 131_072, 4), (4, 131_072, 4), (3, 262_144, 4),
              (3, 131_072, 2), (3, 131_072, 1)]


def per_verify_ms(time_cost: int, memory_kib: int, parallelism: int,
                  runs: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of one check."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                            parallelism=parallelism)
    encoded = hasher.hash("12345678")
    walls, cpus = [], []
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        hasher.verify(encoded, "12345678")
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def _days(ms: float, pins: int) -> float:
    return ms * pins / 1000 / 86_400


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from ccdesk.services.pins import ARGON2

    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print(f"{'t':>2} {'MiB':>4} {'p':>2} {'ms/verify':>10} {'CPU ms':>8} {'4 digits':>10} "
          f"{'6 digits':>10} {'8 digits':>10}   (one core, every PIN, key file known)")
    for t, m, p in CANDIDATES:
        wall, ms = per_verify_ms(t, m, p, args.runs)
        mark = "  <- ccdesk" if (t, m, p) == (ARGON2["time_cost"], ARGON2["memory_cost"],
                                              ARGON2["parallelism"]) else ""
        print(f"{t:>2} {m // 1024:>4} {p:>2} {wall:>10.1f} {ms:>8.1f} "
              f"{ms * 1e4 / 1000 / 60:>8.1f} m "
              f"{_days(ms, 10**6):>8.2f} d {_days(ms, 10**8) / 365:>8.1f} y{mark}")


if __name__ == "__main__":
    main()
