"""Latency of attaching one 2 MB scan at the desk: the file read, hashed, typed and written into
the content-addressed store (fsync, rename), then the stored_file + attachment + event + audit +
outbox rows committed (WAL, synchronous=FULL), through the real AttachmentService.

    python bench/attach.py [--n 120] [--mb 2]

Each sample is a different file (a real JPEG with distinct trailing bytes), so nothing is
deduplicated; every 10 attachments go to a new dossier. Target (issue 15): p95 of attaching a
2 MB scan at the desk; the figure goes in the README's benchmark table.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from ccdesk.paths import Paths
from ccdesk.services import SYSTEM, Services
from ccdesk.services.catalog import BUNDLED_CATALOG
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from ccdesk.services.office import OfficeSettings


def scan_jpeg(size: int, seed: int = 1) -> bytes:
    """A noisy greyscale JPEG of about ``size`` bytes (a 300 dpi A4 page is 0.3–2 MB)."""
    from PIL import Image

    rng = random.Random(seed)
    side = 1200
    while True:
        out = io.BytesIO()
        Image.frombytes("L", (side, side), rng.randbytes(side * side)).save(
            out, format="JPEG", quality=90)
        if out.tell() >= size * 0.95:
            return out.getvalue()
        side = int(side * (size / out.tell()) ** 0.5) + 40


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=120)
    parser.add_argument("--mb", type=float, default=2.0)
    args = parser.parse_args()
    base = scan_jpeg(int(args.mb * 1_000_000))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = Paths(root / "data", root / "config")
        svc = Services.open(paths.default_db, paths)
        svc.office.update(SYSTEM, OfficeSettings("UBND XÃ A", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
                                                 "000.17.22.H56", "A"), complete_setup=True)
        svc.catalog.import_file(BUNDLED_CATALOG)
        svc.officers.add(SYSTEM, "lan", "Nguyễn Thị Lan", "officer", "1234")
        actor = svc.officers.authenticate("lan", "1234")
        request = IntakeRequest("2.000815", Applicant("Phan Văn Khải", "001085012345"),
                                [ChecklistEntry(1, True), ChecklistEntry(2, True)], pages=3)
        scans = root / "scans"
        scans.mkdir()
        files = []
        for n in range(args.n + 10):  # the scanner's folder: each page different
            path = scans / f"scan{n:04}.jpg"
            path.write_bytes(base + os.urandom(16))
            files.append(path)
        code = ""
        samples = []
        for n, path in enumerate(files):
            if n % 10 == 0:
                code = svc.intake.submit(actor, request, Decision.ACCEPT).dossier.code
            start = time.perf_counter()
            svc.attachments.attach_path(actor, code, 1 + n % 2, path)
            elapsed = (time.perf_counter() - start) * 1000
            if n >= 10:  # the first ten warm imports and statement caches
                samples.append(elapsed)
        svc.close()
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"attachments: {len(samples)} of {len(base) / 1e6:.2f} MB each")
    print(f"p50 {p50:.1f} ms")
    print(f"p95 {p95:.1f} ms")
    print(f"max {samples[-1]:.1f} ms")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
