"""Training sandboxes: a fresh, throw-away desk database per session (``ccdesk --training``).

A sandbox is a temporary folder with its own database, created with ``is_training=True`` so no
outbox row is ever written and the data can never be synced. It gets office headers that say so,
the bundled catalogue, one trainee account and, when the demo generator is installed, realistic
sample dossiers. Trainers demo over SSH this way, each trainee in their own sandbox.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ccdesk.i18n import t
from ccdesk.paths import Paths
from ccdesk.services import SYSTEM, Services
from ccdesk.services.catalog import BUNDLED_CATALOG
from ccdesk.services.office import OfficeSettings

TRAINEE_USERNAME = "hocvien"
TRAINEE_PIN = "0000"
SAMPLE_DOSSIERS = 300
SAMPLE_DAYS = 60


@dataclass
class Sandbox:
    """An open training sandbox; ``close()`` disposes the database and deletes the folder."""

    services: Services
    root: Path

    def close(self) -> None:
        self.services.close()
        shutil.rmtree(self.root, ignore_errors=True)


def open_sandbox(paths: Paths, *, clock: Callable[[], datetime] | None = None,
                 seed: int | None = None) -> Sandbox:
    """Create and fill a new sandbox; the office's config (language, calendar) is kept."""
    root = Path(tempfile.mkdtemp(prefix="ccdesk-training-"))
    sandbox_paths = Paths(data_dir=root / "data", config_dir=paths.config_dir)
    try:
        services = Services.open(sandbox_paths.default_db, sandbox_paths, clock=clock,
                                 training=True)
        services.office.update(SYSTEM, OfficeSettings(
            governing_body=t("tui.training.governing_body"),
            unit_name=t("tui.training.unit_name"),
            agency_code="000.00.00.H00",
            place_name=t("tui.training.place_name")), complete_setup=True)
        services.catalog.import_file(BUNDLED_CATALOG)
        services.officers.add(SYSTEM, TRAINEE_USERNAME, t("tui.training.trainee_name"),
                              "trainer", TRAINEE_PIN)
        _seed(services, seed)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return Sandbox(services=services, root=root)


def _seed(services: Services, seed: int | None) -> None:
    """Sample dossiers from the demo generator (no outbox rows: the office is a sandbox)."""
    from ccdesk.demo import seed_demo

    seed_demo(services, SAMPLE_DOSSIERS, SAMPLE_DAYS, seed, False)
