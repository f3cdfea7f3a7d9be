"""Register search as the officer types it, first page and II.06a report on a large demo db.

Usage::

    .venv/bin/python bench/search.py                      # 1,000,000 dossiers over 365 days
    .venv/bin/python bench/search.py --dossiers 100000    # a smaller run
    .venv/bin/python bench/search.py --rebuild            # seed again instead of reusing
    .venv/bin/python bench/search.py --typing-only        # only the keystroke figures

Typing: every prefix of real queries drawn from the data is one register query (a page of 100,
as the register asks), in each order: names typed without accents letter by letter ("n", "ng",
"ngu", ... "nguyen v", ...), ID-number and phone prefixes from "0", and the date-number part of
codes. It prints p50/p95 per order and per query length, for each of ``--rounds`` rounds (the
order of keystrokes shuffled per round) and the median of the rounds with their min–max, and
the p95 of the CPU time (what the same query takes on an idle machine: the development machine
is shared, and the wall time moves with its load).

The seeded database is cached (``bench/.cache/`` by default, or ``--cache-dir``) and reused
by later runs at the same size, because seeding a million dossiers takes minutes. Seeding
writes no outbox rows (``outbox=False``): this benchmark measures reading, and a desk's outbox
is emptied by sync anyway. Prints figures; asserts nothing (targets: search p95 <= 30 ms, first
register page <= 50 ms, year report <= 1 s warm and <= 3 s cold).

"Cold" reports drop the database and WAL files from the OS page cache first
(``posix_fadvise(..., POSIX_FADV_DONTNEED)``) and open a fresh connection, as after a reboot.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ccdesk.demo import seed_demo  # noqa: E402
from ccdesk.paths import Paths  # noqa: E402
from ccdesk.services import Services  # noqa: E402
from ccdesk.text import fold  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn) -> tuple[float, object]:  # noqa: ANN001
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def timed_cpu(fn) -> tuple[float, float, object]:  # noqa: ANN001
    """Wall and CPU milliseconds: on a shared, loaded machine the CPU time is what the same
    work takes on an idle one (SQLite runs in this process's thread)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return ((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, result)


def uptime() -> str:
    """The load beside the figures (the development machine is shared)."""
    try:
        load = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        return "load n/a"
    return "load average " + ", ".join(load)


def drop_from_page_cache(db: Path) -> None:
    """Ask the kernel to forget the cached pages of the database and its WAL."""
    for suffix in ("", "-wal"):
        path = Path(f"{db}{suffix}")
        if path.exists():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def open_cached(cache: Path, dossiers: int, days: int, rebuild: bool) -> Services:
    """The cached demo database of this size, seeded first if missing or outdated."""
    db = cache / f"search-{dossiers}-{days}d.sqlite3"
    paths = Paths(data_dir=cache / "data", config_dir=cache / "config")
    # An older schema is migrated by Services.open like any desk database; only --rebuild
    # seeds again.
    if rebuild:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    fresh = not db.exists()
    services = Services.open(db, paths)
    if fresh:
        print(f"seeding {dossiers:,} dossiers over {days} days into {db} ...", flush=True)
        report = seed_demo(services, dossiers, days=days, seed=2026, outbox=False)
        print(f"  seeded in {report.seconds:.1f} s "
              f"({report.seconds / dossiers * 1e6:.0f} µs/dossier): {report.events:,} events, "
              f"{report.checklist_items:,} checklist rows, {report.ratings:,} ratings")
        with services.db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.exec_driver_sql("ANALYZE")
    else:
        print(f"reusing {db}")
    return services


def sample_queries(services: Services, count: int, rng: random.Random) -> dict[str, list[str]]:
    """Realistic queries drawn from the data: names (typed without accents, as often),
    ID-number prefixes, phone prefixes, full codes and code prefixes."""
    with services.db.engine.connect() as conn:
        top = conn.execute(text("SELECT MAX(id) FROM dossier")).scalar_one()
        rows = []
        for _ in range(count):
            row = conn.execute(text(
                "SELECT applicant_name, applicant_id_number, applicant_phone, code "
                "FROM dossier WHERE id >= :id ORDER BY id LIMIT 1"),
                {"id": rng.randint(1, top)}).one()
            rows.append(row)
    names, ids, phones, codes = [], [], [], []
    for name, id_number, phone, code in rows:
        words = name.split()
        pick = rng.choice(([words[0], words[-1]], words, [words[-2], words[-1]]))
        names.append(fold(" ".join(pick)) if rng.random() < 0.7 else " ".join(pick))
        ids.append(id_number[:rng.randint(6, 12)])
        if phone:
            phones.append(phone[:rng.randint(6, 10)])
        # the full code, or its date and number ("251124-0005"), as read off a slip
        codes.append(code if rng.random() < 0.5 else "-".join(code.split("-")[-2:]))
    return {"name": names, "id prefix": ids, "phone prefix": phones, "code": codes}


PAGE = 100  # the register's page size (screens/register.py PAGE_SIZE)
LENGTHS = ((1, 1, "1"), (2, 2, "2"), (3, 3, "3"), (4, 6, "4-6"), (7, 99, "7+"))


def typing_sequences(services: Services, count: int, rng: random.Random) -> list[str]:
    """Every prefix of ``count`` queries of each kind, as typed key by key."""
    picked = sample_queries(services, count, rng)
    full = ([fold(q) for q in picked["name"]] + picked["id prefix"] + picked["phone prefix"]
            + ["-".join(c.split("-")[-2:]) for c in picked["code"]])
    return [q[:n] for q in full for n in range(1, len(q) + 1) if q[:n].strip()]


def length_label(query: str) -> str:
    return next(label for low, high, label in LENGTHS if low <= len(query) <= high)


def typing_round(services: Services, keystrokes: list[str], rng: random.Random,
                 ) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """Wall and CPU milliseconds per keystroke query, by (order, length label) and
    (order, "all")."""
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    plan = [(sort, q) for sort in ("newest", "due", "overdue") for q in keystrokes]
    rng.shuffle(plan)
    for sort, q in plan:
        wall, cpu, _ = timed_cpu(
            lambda s=sort, q=q: services.search.register_page(q, sort=s, limit=PAGE))
        times.setdefault((sort, length_label(q)), []).append((wall, cpu))
        times.setdefault((sort, "all"), []).append((wall, cpu))
    return times


def short_prefixes(services: Services, count: int, rng: random.Random) -> list[str]:
    """Every letter and digit, and ``count`` 2- and 3-letter starts of words drawn from the
    data (names, ID numbers, phones, code parts), common and rare alike: the first keystrokes
    of any search, in every order."""
    picked = sample_queries(services, count * 2, rng)
    words = sorted({w for q in (picked["name"] + picked["id prefix"] + picked["phone prefix"]
                                + picked["code"]) for w in fold(q).replace(".", " ")
                    .replace("-", " ").split()})
    out = list("abcdefghijklmnopqrstuvwxyz0123456789")
    for length in (2, 3):
        starts = sorted({w[:length] for w in words if len(w) >= length})
        out += rng.sample(starts, min(count, len(starts)))
    return out


def loads_of(marks: list[str]) -> str:
    return "load " + " / ".join(marks)


def report_typing(services: Services, queries: int, rounds: int) -> None:
    rng = random.Random(17)
    keystrokes = typing_sequences(services, queries, rng)
    print(f"\nsearch as you type: {len(keystrokes)} keystroke queries x 3 orders, "
          f"page of {PAGE}, {rounds} rounds   {uptime()}")
    report_rounds(services, keystrokes, rounds, rng, [lab for _, _, lab in LENGTHS])
    prefixes = short_prefixes(services, 30, random.Random(23))
    print(f"\nshort prefixes: {len(prefixes)} queries (every letter and digit, 30 starts of 2 "
          f"and of 3 letters) x 3 orders, page of {PAGE}, {rounds} rounds   {uptime()}")
    report_rounds(services, prefixes, rounds, rng, ["1", "2", "3"])


def report_rounds(services: Services, keystrokes: list[str], rounds: int,
                  rng: random.Random, labels: list[str]) -> None:
    """Time ``rounds`` shuffled rounds of every query in every order; print the median of the
    rounds' p50, p95 and CPU p95 (with their min-max) and each round's load."""
    results, loads = [], []
    for n in range(rounds):
        results.append(typing_round(services, keystrokes, rng))
        loads.append(Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg")
                     .exists() else "n/a")
        print(f"  round {n + 1} done   {uptime()}", flush=True)
    print(f"  {'order':<8} {'length':<6} {'n':>5}   p50 median (min-max) ms     "
          "p95 median (min-max) ms     p95 CPU median (min-max) ms   1-min load per round")
    for sort in ("newest", "due", "overdue"):
        for label in ["all", *labels]:
            runs = [r.get((sort, label), []) for r in results]
            if not runs[0]:
                continue
            p50s = [statistics.median(w for w, _ in r) for r in runs]
            p95s = [percentile([w for w, _ in r], 0.95) for r in runs]
            cpus = [percentile([c for _, c in r], 0.95) for r in runs]
            print(f"  {sort:<8} {label:<6} {len(runs[0]):>5}   "
                  f"{statistics.median(p50s):5.1f} ({min(p50s):5.1f}-{max(p50s):5.1f})"
                  f"          {statistics.median(p95s):5.1f} ({min(p95s):5.1f}-{max(p95s):5.1f})"
                  f"          {statistics.median(cpus):5.1f} ({min(cpus):5.1f}-{max(cpus):5.1f})"
                  f"        {loads_of(loads)}")
    print(f"  {uptime()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--typing-queries", type=int, default=20,
                        help="queries of each kind whose every prefix is typed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--typing-only", action="store_true")
    parser.add_argument("--reports-only", action="store_true",
                        help="only the II.06a report figures (warm and cold)")
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    services = open_cached(args.cache_dir, args.dossiers, args.days, args.rebuild)
    rng = random.Random(7)
    db = services.db.path
    size = sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal")
               if Path(f"{db}{s}").exists())
    with services.db.engine.connect() as conn:
        total = conn.execute(text("SELECT COUNT(*) FROM dossier")).scalar_one()
        fts_pages = conn.execute(text(
            "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'dossier_fts%'")).scalar() or 0
    print(f"\ndatabase: {total:,} dossiers, {size / 2**20:,.0f} MiB "
          f"(FTS index {fts_pages / 2**20:,.0f} MiB)")
    if not args.reports_only:
        report_typing(services, args.typing_queries, args.rounds)
    if args.typing_only:
        services.close()
        return
    if not args.reports_only:
        services = report_pages(services, args, db, rng)
    report_ii06a(services, args, db)


def report_pages(services: Services, args: argparse.Namespace, db: Path,
                 rng: random.Random) -> Services:
    """First register page (cold and warm) and first search pages per kind of query."""

    # First register page, cold (first query on a fresh connection) and warm.
    services.close()
    services = Services.open(db, Paths(args.cache_dir / "data", args.cache_dir / "config"))
    print("\nfirst register page (100 rows):")
    for sort in ("newest", "due", "overdue"):
        cold, _ = timed(lambda s=sort: services.search.register_page(sort=s, limit=100))
        warm = [timed(lambda s=sort: services.search.register_page(sort=s, limit=100))[0]
                for _ in range(20)]
        page = services.search.register_page(sort=sort, limit=100)
        nxt = [timed(lambda s=sort, p=page: services.search.register_page(
            sort=s, limit=100, after=p.next_after))[0] for _ in range(10)]
        print(f"  {sort:<8} cold {cold:6.1f} ms   warm p50 {statistics.median(warm):5.1f} ms  "
              f"p95 {percentile(warm, 0.95):5.1f} ms   next page p50 "
              f"{statistics.median(nxt):5.1f} ms")

    print(f"\nregister search, first page of 50 ({args.queries} queries per kind):")
    queries = sample_queries(services, args.queries, rng)
    for kind, items in queries.items():
        times = []
        hits = 0
        for q in items:
            ms, rows = timed(lambda q=q: services.search.search(q, limit=50))
            times.append(ms)
            hits += bool(rows)
        print(f"  {kind:<13} p50 {statistics.median(times):5.1f} ms   "
              f"p95 {percentile(times, 0.95):5.1f} ms   max {max(times):6.1f} ms   "
              f"found {hits}/{len(items)}  e.g. {items[0]!r}")

    return services


def report_ii06a(services: Services, args: argparse.Namespace, db: Path) -> None:
    """The II.06a report over a year, a quarter, a month and the past month, warm and cold."""
    today = services.ctx.now().date()
    print(f"\nII.06a report ({uptime()}):")
    first = today.replace(day=1)
    last_month = (first - timedelta(days=1)).replace(day=1), first - timedelta(days=1)
    for label, start, end in (("year", today - timedelta(days=364), today),
                              ("quarter", today - timedelta(days=90), today),
                              ("month", first, today),
                              ("past month", *last_month)):
        runs = [timed_cpu(lambda s=start, e=end: services.reports.period_report(s, e))
                for _ in range(3)]
        report = runs[-1][2]
        print(f"  {label:<10} {min(r[0] for r in runs) / 1000:5.2f} s (best of 3; "
              f"first {runs[0][0] / 1000:5.2f} s; CPU {min(r[1] for r in runs) / 1000:5.2f} s)"
              f"   received {report.total.received:,}, "
              f"on-time rate {report.total.on_time_rate:.1%}")
    for label, start, end in (("year", today - timedelta(days=364), today),
                              ("past month", *last_month)):
        services.close()
        drop_from_page_cache(db)
        services = Services.open(db, Paths(args.cache_dir / "data", args.cache_dir / "config"))
        cold, cpu, _ = timed_cpu(lambda s=start, e=end, svc=services:
                                 svc.reports.period_report(s, e))
        print(f"  {label:<10} {cold / 1000:5.2f} s cold (page cache dropped, new connection; "
              f"CPU {cpu / 1000:5.2f} s)   {uptime()}")
    indicators = [timed_cpu(lambda: services.reports.indicators_766(
        today - timedelta(days=364), today)) for _ in range(3)]
    print(f"  Decision 766 indicators, year: {min(r[0] for r in indicators) / 1000:5.2f} s "
          f"(best of 3; CPU {min(r[1] for r in indicators) / 1000:5.2f} s)")
    ms = [timed(services.reports.today_counts)[0] for _ in range(10)]
    print(f"\ntoday counts: p50 {statistics.median(ms):.1f} ms")
    services.close()


if __name__ == "__main__":
    main()
