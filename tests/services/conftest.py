"""Fixtures for the core: a real SQLite file per test (a copy of a session template, see
tests/conftest.py), the kit's clock, a set-up office."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ccdesk.paths import Paths
from ccdesk.services import Actor, Services
from tests.conftest import (  # noqa: F401 - the kit's names, kept importable from here
    AGENCY,
    DatabaseTemplates,
    FakeClock,
    open_copy,
    set_up_office,
)


@pytest.fixture
def services(request: pytest.FixtureRequest, paths: Paths, clock: FakeClock,
             db_templates: DatabaseTemplates) -> Iterator[Services]:
    """A migrated database file of the test's own. A test that also asks for ``desk`` (or
    ``officer``/``lead``) gets a copy of the set-up desk instead: ``desk`` is this object."""
    wants_desk = "desk" in request.fixturenames
    template = db_templates.desk if wants_desk else db_templates.migrated
    svc = open_copy(template, paths, clock)
    yield svc
    svc.close()


@pytest.fixture
def desk(services: Services) -> Services:
    """An office that is set up, with the bundled catalogue and two officers: ``lan``
    (officer, PIN 1234) and ``hung`` (lead, PIN 56781234)."""
    return services


@pytest.fixture
def officer(desk: Services) -> Actor:
    return desk.officers.authenticate("lan", "1234")


@pytest.fixture
def lead(desk: Services) -> Actor:
    return desk.officers.authenticate("hung", "56781234")
