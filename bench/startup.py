"""Desk start-up: cold start to the first screen, and peak memory with a million dossiers.

Usage::

    .venv/bin/python bench/startup.py                  # both figures (1,000,000 dossiers)
    .venv/bin/python bench/startup.py --runs 9         # more start-up samples
    .venv/bin/python bench/startup.py --dossiers 100000 --skip-startup

1. **Cold start ratio.** Each sample is a new interpreter. The baseline child runs
   ``import textual.app, sqlmodel`` and prints the wall-clock time when done. The desk child is
   the real entry point (``ccdesk.launch.main`` with ``--db``, as the ``ccdesk`` script runs
   it) in a pseudo-terminal of 80×24; its output is fed to a terminal emulator (pyte), and the
   figure is the moment the terminal first shows the complete first screen (the login screen
   with its officer list and PIN field), meaning the text the screen settles on (read 2 s in).
   Both figures count from just before the spawn, so interpreter start-up counts and teardown
   does not. Medians of ``--runs`` samples, alternating baseline and desk so machine noise hits
   both. Target: ratio <= 1.3.

   The desk paints its login screen from plain sqlite3 and opens the ORM services behind it,
   while the officer types the PIN. So the run also prints, for the record, when the desk is
   fully open: headless, from the spawn to the first moment the process is idle (Pilot's
   ``pause``) with the services opened and the day's backup done.
2. **Peak RSS** (``ru_maxrss``) of the app opened on the cached demo database of
   ``--dossiers`` dossiers (``bench/.cache/``, shared with ``bench/search.py``; seeding a
   million takes about 20 minutes here) with the register (F4) showing its first page.
   Target: <= 150 MB.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASELINE_CHILD = "import time, textual.app, sqlmodel; print(time.time(), flush=True)"

# The real entry point, as the ``ccdesk`` console script runs it.
DESK_CHILD = """
import sys
sys.argv = ["ccdesk", "--db", sys.argv[1]]
from ccdesk.launch import main
main()
"""

# The same, headless, stamped when the process is first idle with the services open.
OPEN_CHILD = """
import sys, time
import ccdesk.app as desk

original_run = desk.DeskApp.run

def run(self, **kwargs):
    async def fully_open(pilot):
        await pilot.pause()  # waits until the process is idle: the services have opened
        self.loader.get()
        print(time.time(), type(pilot.app.screen).__name__, flush=True)
        pilot.app.exit()
    return original_run(self, headless=True, auto_pilot=fully_open)

desk.DeskApp.run = run
sys.argv = ["ccdesk", "--db", sys.argv[1]]
from ccdesk.launch import main
main()
"""

TERMINAL = (80, 24)
OFFICER = "Nguyễn Thị Lan"
SETTLE_SECONDS = 2.0

# The register on a big database, then the peak resident set size of this process.
RSS_CHILD = """
import resource, sys
from pathlib import Path
from ccdesk.app import DeskApp
from ccdesk.paths import Paths
from ccdesk.services import Actor, Services

cache = Path(sys.argv[1])
services = Services.open(Path(sys.argv[2]), Paths(cache / "data", cache / "config"))
# The demo database has no officer account; the register only reads, so any desk role does.
actor = Actor(officer_id=None, username="bench", role="officer")

async def register(pilot):
    await pilot.press("f4")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    rows = pilot.app.screen.query_one("#register-table").row_count
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{peak_mb:.1f} {rows} {type(pilot.app.screen).__name__}", flush=True)
    pilot.app.exit()

DeskApp(services, actor=actor).run(headless=True, auto_pilot=register)
"""


def child_env(home: Path) -> dict[str, str]:
    return {**os.environ, "CCDESK_HOME": str(home), "CCDESK_LANG": "vi",
            "PYTHONPATH": str(ROOT)}


def sample(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Seconds from just before the spawn to the time the child printed, and its message."""
    started = time.time()
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    if out.returncode != 0 or not out.stdout.strip():
        raise SystemExit(f"child failed ({out.returncode}):\n{out.stderr[-2000:]}")
    stamp, *rest = out.stdout.split()
    return float(stamp) - started, " ".join(rest)


def in_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, int]:
    """Start ``argv`` in a new pseudo-terminal of ``TERMINAL`` size: (pid, terminal fd)."""
    columns, lines = TERMINAL
    pid, fd = pty.fork()
    if pid == 0:  # the child: size the terminal before the app asks for it
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        os.chdir(ROOT)
        os.execve(argv[0], argv, {**env, "TERM": "xterm-256color"})
    return pid, fd


def first_screen(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Seconds from just before the spawn until a terminal running ``argv`` first shows the
    complete screen it settles on, and that screen's first line."""
    import pyte

    started = time.time()
    pid, fd = in_terminal(argv, env)
    chunks: list[tuple[float, bytes]] = []
    try:
        while time.time() - started < SETTLE_SECONDS:
            ready, _, _ = select.select([fd], [], [], 0.01)
            if ready:
                chunks.append((time.time() - started, os.read(fd, 1 << 16)))
    finally:
        os.kill(pid, signal.SIGTERM)  # the desk closes cleanly on SIGTERM
        _drain(pid, fd)
    settled = _screen_text(chunks)
    screen = pyte.Screen(*TERMINAL)
    stream = pyte.ByteStream(screen)
    shown_at: float | None = None
    for at, chunk in chunks:
        stream.feed(chunk)
        if screen.display == settled:
            shown_at = at if shown_at is None else shown_at
        else:
            shown_at = None
    if shown_at is None or not "".join(settled).strip():
        raise SystemExit("the desk never showed a settled screen")
    return shown_at, settled[0].strip()


def keystroke_echo(argv: list[str], env: dict[str, str], ready_text: str) -> float:
    """Seconds from a PIN digit typed as soon as ``ready_text`` shows until its mask dot is
    on screen: the login screen answers while the services are still opening behind it."""
    import pyte

    pid, fd = in_terminal(argv, env)
    screen = pyte.Screen(*TERMINAL)
    stream = pyte.ByteStream(screen)
    typed_at = echoed = None
    deadline = time.time() + 20
    try:
        while echoed is None and time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.002)
            if ready:
                stream.feed(os.read(fd, 1 << 16))
            text = "\n".join(screen.display)
            if typed_at is None and ready_text in text:
                typed_at = time.time()
                os.write(fd, b"1")
            elif typed_at is not None and "•" in text:
                echoed = time.time()
    finally:
        os.kill(pid, signal.SIGTERM)
        _drain(pid, fd)
    if typed_at is None or echoed is None:
        raise SystemExit("the login screen did not echo a typed PIN digit")
    return echoed - typed_at


def _screen_text(chunks: list[tuple[float, bytes]]) -> list[str]:
    import pyte

    screen = pyte.Screen(*TERMINAL)
    stream = pyte.ByteStream(screen)
    for _, chunk in chunks:
        stream.feed(chunk)
    return list(screen.display)


def _drain(pid: int, fd: int) -> None:
    deadline = time.time() + 10
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                os.read(fd, 1 << 16)
            except OSError:
                pass
        if os.waitpid(pid, os.WNOHANG)[0]:
            break
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)


def prepared_database(home: Path) -> Path:
    """A set-up desk (office, catalogue, one officer) so the desk opens on its login screen."""
    from ccdesk.paths import Paths
    from ccdesk.services import SYSTEM, Services
    from ccdesk.services.catalog import BUNDLED_CATALOG
    from ccdesk.services.office import OfficeSettings

    paths = Paths(data_dir=home / "data", config_dir=home / "config")
    services = Services.open(paths.default_db, paths)
    services.office.update(SYSTEM, OfficeSettings(
        "UBND XÃ AN PHÚ", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG", "000.17.22.H56", "An Phú"),
        complete_setup=True)
    services.catalog.import_file(BUNDLED_CATALOG)
    services.officers.add(SYSTEM, "lan", OFFICER, "lead", "24681357")
    services.close()
    return paths.default_db


def startup(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ccdesk-bench-") as tmp:
        home = Path(tmp)
        db = prepared_database(home)
        env = child_env(home)
        baseline_argv = [sys.executable, "-c", BASELINE_CHILD]
        desk_argv = [sys.executable, "-c", DESK_CHILD, str(db)]
        open_argv = [sys.executable, "-c", OPEN_CHILD, str(db)]
        sample(baseline_argv, env)  # warm the OS file cache once
        first_screen(desk_argv, env)
        baseline, desk, fully_open, echo, screen = [], [], [], [], ""
        for _ in range(runs):
            baseline.append(sample(baseline_argv, env)[0])
            seconds, screen = first_screen(desk_argv, env)
            desk.append(seconds)
            fully_open.append(sample(open_argv, env)[0])
            echo.append(keystroke_echo(desk_argv, env, OFFICER))
    base, app, opened = (statistics.median(x) for x in (baseline, desk, fully_open))
    print(f"cold start, median of {runs} (min-max):")
    print(f"  python -c 'import textual.app, sqlmodel':    {base:.3f} s "
          f"({min(baseline):.3f}-{max(baseline):.3f})")
    print(f"  ccdesk to its complete first screen ({screen!r}, 80x24 pty): {app:.3f} s "
          f"({min(desk):.3f}-{max(desk):.3f})")
    print(f"  ratio: {app / base:.2f}x  (target <= 1.30x)")
    print(f"  for the record, desk fully open (services, backup; idle): {opened:.3f} s "
          f"({min(fully_open):.3f}-{max(fully_open):.3f}), {opened / base:.2f}x")
    print(f"  a PIN digit typed at the first screen shows its dot after "
          f"{statistics.median(echo) * 1000:.0f} ms (max {max(echo) * 1000:.0f} ms)")


def cached_database(cache: Path, dossiers: int, days: int) -> Path:
    """The demo database ``bench/search.py`` also uses (same file name), seeded when missing.
    An existing one is migrated forward by ``Services.open`` rather than seeded again."""
    from ccdesk.demo import seed_demo
    from ccdesk.paths import Paths
    from ccdesk.services import Services

    db = cache / f"search-{dossiers}-{days}d.sqlite3"
    fresh = not db.exists()
    services = Services.open(db, Paths(data_dir=cache / "data", config_dir=cache / "config"))
    if fresh:
        print(f"seeding {dossiers:,} dossiers over {days} days into {db} (minutes) ...",
              flush=True)
        seed_demo(services, dossiers, days=days, seed=2026, outbox=False)
    services.close()
    return db


def peak_rss(dossiers: int, days: int, cache: Path) -> None:
    db = cached_database(cache, dossiers, days)
    env = child_env(cache)
    out = subprocess.run([sys.executable, "-c", RSS_CHILD, str(cache), str(db)], env=env,
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    if out.returncode != 0 or not out.stdout.strip():
        raise SystemExit(f"child failed ({out.returncode}):\n{out.stderr[-2000:]}")
    peak, rows, screen = out.stdout.split()
    print(f"peak RSS with {dossiers:,} dossiers, {screen} showing {rows} rows: {peak} MB "
          f"(target <= 150 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--skip-startup", action="store_true")
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()
    if not args.skip_startup:
        startup(args.runs)
    if not args.skip_rss:
        peak_rss(args.dossiers, args.days, args.cache_dir)


if __name__ == "__main__":
    main()
