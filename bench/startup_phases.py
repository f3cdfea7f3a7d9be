"""Where the login's start-up goes: the UI thread's CPU at each step, the desk beside a minimal
Textual app.

Usage::

    .venv/bin/python bench/startup_phases.py                      # empty desk, 12 rounds
    .venv/bin/python bench/startup_phases.py --size 1000000 --cache-dir /work/wt/boot-data

Each round starts the minimal Textual app of ``bench/startup.py`` and then the real desk
(``ccdesk.launch``, as the console script runs it) in a new interpreter in a pseudo-terminal of
80×24, on the desks ``bench/startup.py`` sets up (an office's ``config.toml`` included; each
start the first of the day). Hooks installed before the entry point record the UI thread's CPU
time (``time.thread_time``) at each step, and the child leaves as soon as its first full frame
is handed to Textual's output thread:

* ``textual``: Textual imported (the child's own imports come first, so Python's start and
  Textual's import are the same in both);
* ``imports``: the desk's own modules imported and its config read (``run_app`` called);
* ``run``: ``App.run`` called (logging, the open marker, the login's facts, the app built);
* ``mount``: the first screen mounted (the login's ``on_mount``; the minimal app's);
* ``frame``: its first full frame written.

The UI thread's CPU is what the other threads (the early look, Textual's output thread) and the
load of the machine change least; wall times are ``bench/startup.py``'s. Medians of the rounds,
the two children alternating. Prints figures with the load beside them; asserts nothing.

``--instructions`` runs each child once under Valgrind's callgrind instead and prints the
instructions each executes, all threads, from ``exec`` to its first frame, and their ratio. On
this shared virtual machine single starts scatter by a quarter and the wall ratio's medians of
three by about ±0.1; an instruction count is the same to 0.2 % from run to run whatever the
load, so it shows a change of about half a millisecond: the desk's work beside the minimal
app's, without the waits and the kernel's side. Each start takes 10–15 s under callgrind.
``--tree DIR`` (repeatable) counts the desk of another checkout too, beside this one, against
the same minimal-app count.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import startup  # noqa: E402 - bench/startup.py: the desks, the terminal, the baseline

STEPS = ("textual", "imports", "run", "mount", "frame")

CHILD = """
import json, os, sys, time

marks = {}
def mark(step):
    marks.setdefault(step, time.thread_time() * 1000)

import textual.app
import textual.drivers._writer_thread as writer
mark("textual")

write = writer.WriterThread.write
def first_frame(self, text):
    if len(text) > 1000:  # the escape sequences before the first frame are short
        mark("frame")
        with open(os.environ["PHASES_OUT"], "a") as out:
            out.write(json.dumps(marks) + "\\n")
        os._exit(0)
    return write(self, text)
writer.WriterThread.write = first_frame

run = textual.app.App.run
def marked_run(self, *args, **kwargs):
    mark("run")
    return run(self, *args, **kwargs)
textual.app.App.run = marked_run

if sys.argv[1] == "baseline":
    from textual.widgets import Static

    class Minimal(textual.app.App):
        def compose(self):
            yield Static("minimal textual app ready")

        def on_mount(self):
            mark("mount")

    mark("imports")
    Minimal().run()
else:
    import ccdesk.app
    import screens.login

    shown = screens.login.LoginScreen.on_mount
    def marked_mount(self):
        mark("mount")
        shown(self)
    screens.login.LoginScreen.on_mount = marked_mount

    run_app = ccdesk.app.run_app
    def marked_run_app(*args, **kwargs):
        mark("imports")
        return run_app(*args, **kwargs)
    ccdesk.app.run_app = marked_run_app

    sys.argv = ["ccdesk", "--db", sys.argv[1]]
    from ccdesk.launch import main
    main()
"""


def one_start(argv: list[str], env: dict[str, str], *, prefix: tuple[str, ...] = (),
              timeout: float = 5, tree: Path = startup.ROOT) -> None:
    """Run a child in a terminal until it leaves (after its first frame); ``prefix``: the
    command it runs under (Valgrind); ``tree``: the checkout whose desk it imports."""
    term = startup.Terminal([*prefix, sys.executable, "-c", CHILD, *argv], env, cwd=tree)
    try:
        while True:
            ready, _, _ = select.select([term.fd], [], [], timeout)
            if not ready:
                raise SystemExit(f"no frame from {argv[0]} in {timeout:.0f} s")
            try:
                if not os.read(term.fd, 1 << 16):
                    break
            except OSError:  # the child has left: its side of the terminal is closed
                break
    finally:
        os.waitpid(term.pid, 0)
        os.close(term.fd)


def read_marks(path: Path) -> list[dict[str, float]]:
    if not path.exists():
        raise SystemExit(f"no phases written to {path}: the child failed before its first frame")
    return [json.loads(line) for line in path.read_text().splitlines()]


def report(name: str, rounds: list[dict[str, float]]) -> dict[str, float]:
    medians = {step: statistics.median(r[step] for r in rounds) for step in STEPS}
    spans = [f"{step} {medians[step] - medians[before]:5.1f}"
             for before, step in zip(STEPS, STEPS[1:], strict=False)]
    print(f"  {name:8s} to first frame {medians['frame']:6.1f} ms of UI-thread CPU: "
          f"Textual imported {medians['textual']:5.1f}, then {'  '.join(spans)} ms")
    return medians


def instructions(argv: list[str], env: dict[str, str], scratch: Path,
                 tree: Path = startup.ROOT) -> int:
    """Instructions a child executes (all threads) from ``exec`` to its first frame."""
    log = scratch / "callgrind.log"
    one_start(argv, env, timeout=300, tree=tree, prefix=(
        shutil.which("valgrind") or "valgrind", "--tool=callgrind", f"--log-file={log}",
        f"--callgrind-out-file={scratch / 'callgrind.out'}"))
    found = re.search(r"Collected : (\d+)", log.read_text())
    if found is None:
        raise SystemExit(f"callgrind counted nothing; its log:\n{log.read_text()}")
    return int(found.group(1))


def count_instructions(db: Path, home: Path, trees: list[Path], scratch: Path) -> None:
    env = startup.child_env(home)
    print(f"bench/startup_phases.py --instructions, {db.stat().st_size >> 20} MiB desk  "
          f"[{startup.uptime()}]", flush=True)
    base = instructions(["baseline"], {**env, "PHASES_OUT": str(scratch / "b.jsonl")}, scratch)
    print(f"  minimal   {base / 1e6:8.1f} M instructions to its first frame", flush=True)
    for tree in trees:
        startup.first_start_of_the_day(db, home, full_check_due=False)
        desk = instructions([str(db)], {**env, "PYTHONPATH": str(tree),
                                        "PHASES_OUT": str(scratch / "d.jsonl")}, scratch, tree)
        print(f"  desk      {desk / 1e6:8.1f} M instructions = {desk / base:.3f}x the minimal "
              f"app ({tree})  [{startup.uptime()}]", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--size", type=int, default=0)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--cache-dir", type=Path, default=startup.ROOT / "bench" / ".cache")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions under callgrind instead (one start each)")
    parser.add_argument("--tree", type=Path, action="append", default=[],
                        help="with --instructions: another checkout's desk to count as well")
    args = parser.parse_args()

    if args.instructions and shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs Valgrind (Debian: apt-get install valgrind)")
    for tree in (startup.ROOT, *args.tree):
        startup.compile_desk(tree)
    with tempfile.TemporaryDirectory(prefix="ccdesk-phases-") as scratch:
        db = startup.desk_home(args.size, args.cache_dir, args.days, Path(scratch))
        home = db.parent.parent
        if args.instructions:
            count_instructions(db, home, [startup.ROOT, *args.tree], Path(scratch))
            return
        env = startup.child_env(home)
        out = {name: Path(scratch) / f"{name}.jsonl" for name in ("baseline", "desk")}
        print(f"bench/startup_phases.py, {args.rounds} rounds, {args.size:,} dossiers  "
              f"[{startup.uptime()}]", flush=True)
        for _ in range(args.rounds):
            one_start(["baseline"], {**env, "PHASES_OUT": str(out["baseline"])})
            startup.first_start_of_the_day(db, home, full_check_due=False)
            one_start([str(db)], {**env, "PHASES_OUT": str(out["desk"])})
        base = report("minimal", read_marks(out["baseline"]))
        desk = report("desk", read_marks(out["desk"]))
        extra = [f"{step} {desk[step] - desk[before] - (base[step] - base[before]):+5.1f}"
                 for before, step in zip(STEPS, STEPS[1:], strict=False)]
        print(f"  the desk over the minimal app from Textual imported to the first frame: "
              f"{desk['frame'] - desk['textual'] - (base['frame'] - base['textual']):+.1f} ms "
              f"({'  '.join(extra)} ms)  [{startup.uptime()}]")


if __name__ == "__main__":
    main()
