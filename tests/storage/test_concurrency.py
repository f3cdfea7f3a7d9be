"""Two desks on one database file, as two processes (two officers over SSH to one machine)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from ccdesk.services import Services

INTAKES_PER_DESK = 1000
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # 2 x 1,000 intakes in child processes: about 25 s
def test_two_processes_get_unique_codes_and_no_errors(desk: Services, paths, tmp_path) -> None:
    db = str(desk.db.path)
    desk.close()
    procs = [subprocess.Popen([sys.executable, "-m", "tests.storage.hammer", db, str(tmp_path),
                               str(INTAKES_PER_DESK)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
        assert b"locked" not in err
    codes = [code for out, _ in outputs for code in orjson.loads(out)]
    assert len(codes) == 2 * INTAKES_PER_DESK
    assert len(set(codes)) == len(codes)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(DISTINCT code) FROM dossier").fetchone()[0] == len(codes)
        assert con.execute("SELECT count(*) FROM outbox").fetchone()[0] == len(codes)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    by_day: dict[str, list[int]] = {}
    for code in codes:  # grouped by day in case the run crosses midnight
        prefix, seq = code.rsplit("-", 1)
        by_day.setdefault(prefix, []).append(int(seq))
    for seqs in by_day.values():
        assert sorted(seqs) == list(range(1, len(seqs) + 1))  # no gap, no reuse
