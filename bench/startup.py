"""Desk start-up as the officer sees it, at every size: login paint, home ready, peak memory.

Usage::

    .venv/bin/python bench/startup.py                          # empty, 100k and 1M dossiers
    .venv/bin/python bench/startup.py --sizes 0,100000 --runs 5
    .venv/bin/python bench/startup.py --cache-dir /work/wt/boot-data --sizes 1000000

Every sample is a new interpreter in a pseudo-terminal of 80×24 whose output is fed to a
terminal emulator (pyte); times count from just before the spawn, so interpreter start-up counts.

* **Baseline**: a minimal Textual app (one ``Static``), until its text is on screen.
* **Desk**: the real entry point (``ccdesk --db …``, as the console script runs it) on a set-up
  desk: *login* is the moment the login screen shows the officer and the PIN field; the PIN is
  then typed a digit every ``--pin-pace`` seconds (0.25: an 8-digit PIN in about 2 s), then
  Enter; *home* is the desk's own time to the home screen showing today's counts: the login
  time plus Enter to home (the officer's typing is left out; the services open behind it;
  ``--pin-pace 0`` types it at once, so nothing is hidden behind typing). Each desk
  sample is a **first start of the day**: the day's backup is due (the copies of today are
  removed before it), so it runs behind the desk exactly as at 07:30. The weekly whole-file
  check is recorded as done, as on six days out of seven (``--full-check-due`` makes it due).
* **Warm and cold**: "cold" drops the database and its WAL from the OS page cache first
  (``posix_fadvise(..., POSIX_FADV_DONTNEED)``, as ``bench/search.py`` does), as after a reboot;
  Python's own files stay cached.
* **The desk** has a ``config.toml`` as an office's does (the upstream it syncs with, its
  printer): reading it is part of every start.
* **Peak RSS**: the desk child's own ``VmHWM`` (``/proc/<pid>/status``) read after the register
  (F4) has shown its first page, beside its current ``VmRSS``: the process is new
  (``pty.fork`` + ``exec``), so the figure is its own high-water mark. (``ru_maxrss`` of a
  child started by ``subprocess`` inherits the parent's high-water mark through ``vfork`` +
  ``exec``: a bench that seeded 100k dossiers in its own process printed its own 140 MB, not
  the desk's.)

* **Bytecode**: the desk's own modules (``ccdesk``, ``screens``, ``sync``) are compiled to
  ``__pycache__`` first, as ``pip install`` does for an installed desk. Textual's are compiled
  already (pip); with ``PYTHONDONTWRITEBYTECODE`` set (as on the shared development machine), an
  editable checkout would otherwise compile every desk module at every start, which no desk PC
  does and the baseline never pays.
* **Start by start**: beside the ratio of the medians, each desk start over the minimal app's
  start just before it (median, min–max): the spread of single starts on this machine.
* **CPU**: beside each wall time, the child's CPU seconds (all its threads, from
  ``/proc/<pid>/stat``): what the same start costs on an idle machine; on a loaded machine the
  wall ratios move with the load, the CPU ratios much less.

Sizes other than 0 use the demo databases ``bench/search.py`` seeds into ``--cache-dir``
(``search-<n>-365d.sqlite3`` with ``config/desk.key`` beside them); each is copied once into
``<cache>/startup-<n>/`` and given an officer. Medians of ``--runs`` with min–max; baseline and
desk samples alternate so machine noise hits both, and after each desk sample the kernel's
writeback of the backup it took is waited for (``os.sync``), so no sample pays for the one
before it. Targets: login <= 1.3x the baseline, home
<= 2x, at 1M dossiers, warm and cold. Prints figures with the load beside them; asserts nothing.
"""

from __future__ import annotations

import argparse
import compileall
import fcntl
import json
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASELINE_CHILD = """
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("minimal textual app ready")

Minimal().run()
"""
BASELINE_TEXT = "minimal textual app ready"

# The real entry point, as the ``ccdesk`` console script runs it.
DESK_CHILD = """
import sys
sys.argv = ["ccdesk", "--db", sys.argv[1]]
from ccdesk.launch import main
main()
"""

TERMINAL = (80, 24)
OFFICER, USERNAME, PIN = "Nguyễn Thị Lan", "lan", "24681357"
LOGIN_TEXT = ("Mã PIN", OFFICER)
HOME_TEXT = "Tiếp nhận hôm nay"     # a count card: shown once today's counts are loaded
PIN_PACE = 0.25                     # seconds a digit: an 8-digit PIN in about 2 s
REGISTER_SECONDS = 2.0              # after F4, before reading the peak RSS
F4 = b"\x1bOS"


def uptime() -> str:
    try:
        return "load average " + ", ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "load n/a"


def child_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CCDESK_KEY_FILE"}
    return {**env, "CCDESK_HOME": str(home), "CCDESK_LANG": "vi", "PYTHONPATH": str(ROOT),
            "TERM": "xterm-256color"}


# ---- one sample in a terminal ---------------------------------------------------------------

class Terminal:
    """A child process in a new pseudo-terminal, its screen read through pyte."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> None:
        import pyte

        self.screen = pyte.Screen(*TERMINAL)
        self.stream = pyte.ByteStream(self.screen)
        self.started = time.time()
        columns, lines = TERMINAL
        pid, fd = pty.fork()
        if pid == 0:  # the child: size the terminal before the app asks for it
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
            os.chdir(cwd)  # ``python -c`` imports the desk from here first
            os.execve(argv[0], argv, env)
        self.pid, self.fd = pid, fd
        self.cpu = 0.0  # at the last ``wait_for``

    def wait_for(self, *texts: str, timeout: float = 120) -> float:
        """Seconds since the spawn when every one of ``texts`` is first on screen."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.002)
            if ready:
                try:
                    self.stream.feed(os.read(self.fd, 1 << 16))
                except OSError:
                    break
                shown = "\n".join(self.screen.display)
                if all(text in shown for text in texts):
                    self.cpu = self.cpu_seconds()
                    return time.time() - self.started
        shown = "\n".join(self.screen.display)
        raise SystemExit(f"never shown: {texts!r}; the screen was:\n{shown}")

    def cpu_seconds(self) -> float:
        """CPU time the child has used so far (all its threads): what the same start costs on
        an idle machine, whatever the load (disk waits are not in it)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def pump(self, seconds: float) -> None:
        deadline = time.time() + seconds
        while time.time() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.01)
            if ready:
                try:
                    self.stream.feed(os.read(self.fd, 1 << 16))
                except OSError:
                    return

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def memory_mb(self) -> tuple[float, float]:
        """The child's peak (``VmHWM``) and current (``VmRSS``) resident set, in MB."""
        found = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                found[name] = int(value.split()[0]) / 1024
        return found.get("VmHWM", float("nan")), found.get("VmRSS", float("nan"))

    def close(self, timeout: float = 300) -> None:
        """SIGTERM (the desk closes cleanly on it), then wait: a backup under way finishes."""
        os.kill(self.pid, signal.SIGTERM)
        deadline = time.time() + timeout
        while time.time() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    os.read(self.fd, 1 << 16)
                except OSError:
                    pass
            if os.waitpid(self.pid, os.WNOHANG)[0]:
                break
        else:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def baseline_sample(env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds until a minimal Textual app is on screen."""
    term = Terminal([sys.executable, "-c", BASELINE_CHILD], env)
    try:
        return term.wait_for(BASELINE_TEXT), term.cpu
    finally:
        term.close()


@dataclass
class DeskSample:
    login: float
    login_cpu: float
    home: float
    home_cpu: float
    enter_cpu: float  # at Enter: what opened behind the login while the PIN was typed
    peak_mb: float
    rss_mb: float


def crash_report(db: Path) -> str:
    """The desk's last logged crash (the log is redacted): what a failed sample shows."""
    log = db.parent / "logs" / "ccdesk.log"
    try:
        lines = log.read_text(encoding="utf-8").splitlines()
    except OSError:
        return f"(no log at {log})"
    crashes = [json.loads(line).get("msg", "") for line in lines if '"CRITICAL"' in line]
    return crashes[-1][-4000:] if crashes else "(no crash in the desk's log)"


def desk_sample(db: Path, env: dict[str, str], pace: float) -> DeskSample:
    """One start of the desk: login painted, the PIN typed a digit every ``pace`` seconds from
    then, home ready, the register. Home counts the desk's time only: the login, plus from
    Enter to the home screen (the officer's typing, while the services open, is left out)."""
    try:
        return _desk_sample(db, env, pace)
    except SystemExit as failed:
        raise SystemExit(f"{failed}\nthe desk's log:\n{crash_report(db)}") from None


def _desk_sample(db: Path, env: dict[str, str], pace: float) -> DeskSample:
    term = Terminal([sys.executable, "-c", DESK_CHILD, str(db)], env)
    try:
        login = term.wait_for(*LOGIN_TEXT)
        login_cpu = term.cpu
        for digit in PIN:
            term.pump(pace)
            term.type(digit.encode())
        term.pump(pace)
        enter_cpu = term.cpu_seconds()
        enter = time.time() - term.started
        term.type(b"\r")
        home = login + term.wait_for(HOME_TEXT) - enter
        home_cpu = term.cpu
        term.type(F4)
        term.pump(REGISTER_SECONDS)
        return DeskSample(login, login_cpu, home, home_cpu, enter_cpu, *term.memory_mb())
    finally:
        term.close()


# ---- the desks --------------------------------------------------------------------------------

def set_up(db: Path, home: Path) -> None:
    """Finish the office's setup and add the officer the samples log in as (idempotent)."""
    from ccdesk.paths import Paths
    from ccdesk.services import SYSTEM, Services
    from ccdesk.services.catalog import BUNDLED_CATALOG
    from ccdesk.services.office import OfficeSettings

    services = Services.open(db, Paths(data_dir=home / "data", config_dir=home / "config"))
    try:
        office = services.office.get()
        if not office.setup_done:
            services.office.update(SYSTEM, OfficeSettings(
                office.governing_body or "UBND XÃ AN PHÚ",
                office.unit_name or "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
                office.agency_code or "000.17.22.H56", office.place_name or "An Phú"),
                complete_setup=True)
        if not services.catalog.count():
            services.catalog.import_file(BUNDLED_CATALOG)
        if USERNAME not in {o.username for o in services.officers.list()}:
            services.officers.add(SYSTEM, USERNAME, OFFICER, "lead", PIN)
    finally:
        services.close()


def desk_home(size: int, cache: Path, days: int, scratch: Path) -> Path:
    """A home folder (``CCDESK_HOME``) with a set-up desk of ``size`` dossiers: its database."""
    if size == 0:
        home = scratch / "empty"
        db = home / "data" / "ccdesk.sqlite3"
        private_dir(db.parent)
    else:
        source = cache / f"search-{size}-{days}d.sqlite3"
        home = cache / f"startup-{size}"
        db = home / "data" / "ccdesk.sqlite3"
        if not db.exists():
            if not source.exists():
                raise SystemExit(f"{source} is missing: seed it with bench/search.py "
                                 f"--dossiers {size} --cache-dir {cache}")
            print(f"copying {source} to {db} ...", flush=True)
            private_dir(db.parent)
            shutil.copyfile(source, db)
            private_dir(home / "config")
            shutil.copyfile(cache / "config" / "desk.key", home / "config" / "desk.key")
            os.chmod(home / "config" / "desk.key", 0o600)
    for folder in (home / "data", home / "config"):  # homes made before the folders were private
        private_dir(folder)
    set_up(db, home)
    write_config(home / "config" / "config.toml")
    return db


def private_dir(folder: Path) -> None:
    """One of the bench's own desk folders, owner-only as ccdesk makes its own: in a folder others
    may read, the desk logs a warning at every start, which no installed desk does."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)


# A desk as an office runs it has a config.toml: the upstream it syncs with and its printer
# (reading it costs the start its own parse; a refused port, so nothing waits for it).
OFFICE_CONFIG = 'upstream_url = "http://127.0.0.1:9"\nprinter = "counter"\nidle_lock_minutes = 10\n'


def write_config(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(OFFICE_CONFIG, encoding="utf-8")


def first_start_of_the_day(db: Path, home: Path, full_check_due: bool) -> None:
    """Today's backups gone (the day's backup is due) and no leftover open marker; the weekly
    whole-file check recorded as done, unless it should be due."""
    from ccdesk.storage import integrity

    data = home / "data"
    for copy in (data / "backups").glob(f"{db.stem}-daily-*"):
        copy.unlink()
    integrity.marker_file(data, db).unlink(missing_ok=True)
    state = integrity.state_file(data, db)
    private_dir(state.parent)
    last = "2000-01-01T00:00:00" if full_check_due else datetime.now().isoformat()
    state.write_text(json.dumps({"last_full_check": last, "pending": [], "damaged": False}))


def compile_desk(tree: Path = ROOT) -> None:
    """The desk's modules compiled to bytecode, as an installed desk has them."""
    for package in ("ccdesk", "screens", "sync"):
        compileall.compile_dir(tree / package, quiet=1)


def drop_from_page_cache(db: Path) -> None:
    """Ask the kernel to forget the cached pages of the database and its WAL."""
    for suffix in ("", "-wal"):
        path = Path(f"{db}{suffix}")
        if path.exists():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


# ---- the figures ------------------------------------------------------------------------------

@dataclass
class Samples:
    baseline: list[float] = field(default_factory=list)
    baseline_cpu: list[float] = field(default_factory=list)
    desk: list[DeskSample] = field(default_factory=list)

    def of(self, name: str) -> list[float]:
        return [getattr(sample, name) for sample in self.desk]


def spread(values: list[float], fmt: str = ".3f") -> str:
    med = statistics.median(values)
    return f"{med:{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def measure(db: Path, home: Path, cold: bool, runs: int, full_check_due: bool,
            pace: float) -> Samples:
    env = child_env(home)
    got = Samples()
    for _ in range(runs):
        wall, cpu = baseline_sample(env)
        got.baseline.append(wall)
        got.baseline_cpu.append(cpu)
        first_start_of_the_day(db, home, full_check_due)
        if cold:
            drop_from_page_cache(db)
        got.desk.append(desk_sample(db, env, pace))
        # The day's backup it wrote (2.2 GB at 1M) is still being flushed to the disk by the
        # kernel: wait for that here, or the next samples (baseline and desk) pay for it.
        os.sync()
    return got


def report(size: int, cache: str, got: Samples, load: str) -> None:
    base, base_cpu = statistics.median(got.baseline), statistics.median(got.baseline_cpu)

    def ratio(name: str, over: float) -> str:
        return f"{statistics.median(got.of(name)) / over:.2f}x"

    after = [d.home - d.login for d in got.desk]
    behind = [d.enter_cpu - d.login_cpu for d in got.desk]
    enter_cpu = [d.home_cpu - d.enter_cpu for d in got.desk]
    # CPU at home includes what opened behind the login while the PIN was typed.
    print(f"{size:>9,} dossiers, {cache} cache, first start of the day (backup due)  [{load}]")
    print(f"  minimal Textual app painted  {spread(got.baseline)} s, "
          f"CPU {spread(got.baseline_cpu, '.2f')} s")
    print(f"  login painted                {spread(got.of('login'))} s = {ratio('login', base)}"
          f" (target <= 1.30x); CPU {spread(got.of('login_cpu'), '.2f')} s = "
          f"{ratio('login_cpu', base_cpu)}")
    # Each desk start over the minimal app's start just before it: what the machine's drift
    # between the two does not move, and how far single starts scatter (docs/tui.md).
    paired = [d.login / b for d, b in zip(got.desk, got.baseline, strict=True)]
    print(f"  login over the minimal app, start by start {spread(paired, '.2f')}x")
    print(f"  home ready (login + Enter to home) {spread(got.of('home'))} s = {ratio('home', base)}"
          f" (target <= 2.00x); CPU {spread(got.of('home_cpu'), '.2f')} s = "
          f"{ratio('home_cpu', base_cpu)}")
    print(f"    of which Enter to home      {spread(after)} s")
    print(f"  CPU: to login painted {spread(got.of('login_cpu'), '.2f')} s; behind the login "
          f"while the PIN is typed {spread(behind, '.2f')} s; Enter to home "
          f"{spread(enter_cpu, '.2f')} s")
    print(f"  peak RSS (VmHWM)             {spread(got.of('peak_mb'), '.1f')} MB "
          f"(the PIN's argon2id takes 128 MiB for a moment)")
    print(f"  RSS with the register shown  {spread(got.of('rss_mb'), '.1f')} MB "
          f"(target <= 150 MB)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="0,100000,1000000",
                        help="dossier counts, comma-separated (0: a new, empty desk)")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--caches", default="warm,cold")
    parser.add_argument("--full-check-due", action="store_true",
                        help="the weekly whole-file check is due too (it runs behind the desk)")
    parser.add_argument("--pin-pace", type=float, default=PIN_PACE,
                        help="seconds between PIN digits (0: typed at once, the services "
                             "then open after Enter)")
    args = parser.parse_args()
    print(f"bench/startup.py, {args.runs} runs, PIN typed a digit every {args.pin_pace} s, "
          f"{uptime()}", flush=True)
    compile_desk()
    with tempfile.TemporaryDirectory(prefix="ccdesk-bench-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            db = desk_home(size, args.cache_dir, args.days, Path(tmp))
            home = db.parent.parent
            for cache in args.caches.split(","):
                got = measure(db, home, cache == "cold", args.runs, args.full_check_due,
                              args.pin_pace)
                report(size, cache, got, uptime())


if __name__ == "__main__":
    main()
