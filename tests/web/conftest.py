"""Fixtures for the citizen's pages: the core's real-file desk fixtures."""

from __future__ import annotations

from tests.services.conftest import (  # noqa: F401 - fixtures re-exported for this folder
    desk,
    officer,
    services,
)
