"""The desk fixtures (a real SQLite file per test, a set-up office, officers) of
tests/services/conftest.py, for the tests of this layer too."""

from __future__ import annotations

from tests.services.conftest import (  # noqa: F401 - fixtures re-exported for this folder
    desk,
    lead,
    officer,
    services,
)
