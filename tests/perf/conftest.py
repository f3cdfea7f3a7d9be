"""Fixtures for the speed work: the report folder's real-file desk fixtures."""

from __future__ import annotations

from tests.reports.conftest import (  # noqa: F401 - fixtures re-exported for this folder
    desk,
    lead,
    officer,
    services,
)
