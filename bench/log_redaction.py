"""Cost of logging with personal-data redaction (JSON lines to a file).

Usage: ``.venv/bin/python bench/log_redaction.py [RECORDS]`` (default 20,000). Prints records per
second and µs per record for a plain message, one carrying a name/ID/phone, and a logged
SQLAlchemy error with its parameters.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccdesk.logs import setup_logging, shutdown_logging  # noqa: E402
from ccdesk.paths import Paths  # noqa: E402

CASES = {
    "plain": ("batch sent", {"batch_id": "01HZX", "records": 50}),
    "personal data": ("intake by Đặng Văn Đức id 001085012345 tel 0912 345 678", {}),
    "sql error": ("(sqlite3.IntegrityError) UNIQUE constraint failed: dossier.code\n"
                  "[SQL: INSERT INTO dossier (code, applicant_name) VALUES (?, ?)]\n"
                  "[parameters: ('X-1', 'Trương Quốc Bảo')]", {}),
}


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with tempfile.TemporaryDirectory() as tmp:
        paths = Paths(Path(tmp) / "data", Path(tmp) / "config")
        setup_logging(paths, "INFO")
        log = logging.getLogger("bench")
        for label, (message, extra) in CASES.items():
            started = time.perf_counter()
            for _ in range(count):
                log.info(message, extra=extra)
            elapsed = time.perf_counter() - started
            print(f"{label:<14} {count / elapsed:10,.0f} records/s  "
                  f"{elapsed / count * 1e6:7.1f} µs/record")
        shutdown_logging()


if __name__ == "__main__":
    main()
