"""Fixtures for the speed work: the UI folder's desks (a set-up office from a template copy)."""

from __future__ import annotations

from tests.screens.conftest import (  # noqa: F401 - fixtures re-exported for this folder
    actor,
    paths,
    services,
    templates,
)
