"""What start-up checks, backups and restores cost on a database of a given size.

Usage: ``.venv/bin/python bench/backup_bench.py [DOSSIERS]`` (default 50,000). Builds a database
through the real services (a few intakes), multiplies the rows with bulk SQL, then prints the time
of ``Services.open``, ``quick_check`` (start-up), ``integrity_check`` (before a restore), a backup,
the start-up hook (check + first backup of the day) and a restore.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccdesk.services import Services  # noqa: E402
from ccdesk.services.intake import Decision  # noqa: E402
from ccdesk.services.startup import on_start  # noqa: E402
from ccdesk.storage import backup as bk  # noqa: E402
from ccdesk.storage import soundness  # noqa: E402
from tests.reliability.conftest import Clock, birth_request, make_paths, setup_desk  # noqa: E402


def timed(label: str, fn: Callable[[], object]) -> object:
    started = time.perf_counter()
    result = fn()
    print(f"{label:<42} {time.perf_counter() - started:8.3f} s")
    return result


def grow(db: Path, dossiers: int) -> None:
    """Copy the seed dossier (with its checklist, event, audit and outbox rows) ``dossiers``
    times under new codes, in one transaction."""
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN")
    con.execute("CREATE TEMP TABLE n(i INTEGER PRIMARY KEY)")
    con.execute("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?) "
                "INSERT INTO n SELECT i FROM c", (dossiers,))
    cols = [r[1] for r in con.execute("PRAGMA table_info(dossier)") if r[1] not in ("id", "code")]
    con.execute(f"INSERT INTO dossier (code, {', '.join(cols)}) SELECT 'B-' || n.i, "
                f"{', '.join('d.' + c for c in cols)} FROM n, dossier d WHERE d.id = 1")
    for table, skip in (("checklistitem", ("id", "dossier_id")),
                        ("dossierevent", ("id", "dossier_id"))):
        tcols = [r[1] for r in con.execute(f"PRAGMA table_info({table})") if r[1] not in skip]
        con.execute(f"INSERT INTO {table} (dossier_id, {', '.join(tcols)}) "
                    f"SELECT nd.id, {', '.join('t.' + c for c in tcols)} FROM dossier nd "
                    f"JOIN {table} t ON t.dossier_id = 1 WHERE nd.code LIKE 'B-%'")
    acols = [r[1] for r in con.execute("PRAGMA table_info(auditlog)")
             if r[1] not in ("id", "dossier_code")]
    con.execute(f"INSERT INTO auditlog (dossier_code, {', '.join(acols)}) SELECT 'B-' || n.i, "
                f"{', '.join('a.' + c for c in acols)} FROM n, auditlog a "
                "WHERE a.id = (SELECT min(id) FROM auditlog WHERE dossier_code IS NOT NULL)")
    ocols = [r[1] for r in con.execute("PRAGMA table_info(outbox)")
             if r[1] not in ("device_seq", "mutation_id", "entity_id")]
    con.execute(f"INSERT INTO outbox (mutation_id, entity_id, {', '.join(ocols)}) "
                f"SELECT 'm-' || n.i, 'B-' || n.i, {', '.join('o.' + c for c in ocols)} "
                "FROM n, outbox o WHERE o.device_seq = 1")
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def main() -> None:
    dossiers = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_paths(Path(tmp))
        services = setup_desk(paths, Clock(), officers=("off1",))
        actor = services.officers.authenticate("off1", "1357")
        services.intake.submit(actor, birth_request(), Decision.ACCEPT)
        services.close()
        timed(f"bulk-grow to {dossiers:,} dossiers", lambda: grow(paths.default_db, dossiers))
        size = paths.default_db.stat().st_size
        print(f"{'database size':<42} {size / 1e6:8.1f} MB")
        opened = timed("Services.open (cheap checks only)",
                       lambda: Services.open(paths.default_db, paths))
        timed("PRAGMA quick_check (start-up check)",
              lambda: soundness.integrity_problem(paths.default_db))
        timed("PRAGMA integrity_check (before restore)",
              lambda: soundness.integrity_problem(paths.default_db, full=True))
        timed("on_start: check + first backup of the day",
              lambda: on_start(opened, now=datetime(2026, 11, 23, 7)))
        timed("on_start again the same day (check only)",
              lambda: on_start(opened, now=datetime(2026, 11, 23, 9)))
        copy = timed("take_backup (online copy + verify)",
                     lambda: bk.take_backup(paths.default_db, paths.backups_dir))
        timed("restore (verify, keep aside, copy in)",
              lambda: bk.restore(copy, paths.default_db, paths.backups_dir))
        opened.close()


if __name__ == "__main__":
    main()
