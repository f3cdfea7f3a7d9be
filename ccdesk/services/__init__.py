"""What screens and the CLI call. Services hold the rules' orchestration; screens hold none.

``Services`` (in :mod:`ccdesk.services.facade`) loads SQLAlchemy and the models, so it is imported
on first use: the desk paints its login screen from plain sqlite3 before the ORM is needed, and
``from ccdesk.services import Actor`` must stay cheap. ``SYSTEM`` and ``Actor`` are loaded on
first use too: the login's own modules (``services.startup``) live in this package and need
neither before the login is painted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ccdesk.services.context import SYSTEM, Actor
    from ccdesk.services.facade import Services

__all__ = ["SYSTEM", "Actor", "Services"]


def __getattr__(name: str) -> object:
    if name == "Services":
        from ccdesk.services.facade import Services

        return Services
    if name in ("SYSTEM", "Actor"):
        from ccdesk.services import context

        return getattr(context, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
