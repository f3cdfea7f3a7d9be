"""Waiting for the citizen's own rating: on the tablet page (``ccdesk serve --rating``) or on a
USB numeric keypad plugged into this terminal (1, 2, 3). Esc or o stops waiting; so does the
end of the wait (``citizen_rating_seconds``): the officer's own 1/2/3 is then the fallback
(docs/tui.md, "The citizen rates")."""

from __future__ import annotations

import asyncio
from time import monotonic
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from ccdesk.domain.errors import CcdeskError
from ccdesk.domain.vocabulary import RatingLevel
from ccdesk.i18n import t

if TYPE_CHECKING:
    from ccdesk.services import Actor, Services
    from ccdesk.services.citizen_rating import Asked

POLL_SECONDS = 0.5


class CitizenRatingWait(ModalScreen[str | None]):
    """Dismisses with the level the citizen gave, or ``None``: the officer records it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *[Binding(str(n), f"keypad('{level}')", f"vocab.rating.{level}", show=False)
          for n, level in enumerate(RatingLevel.values(), start=1)],
        Binding("escape,o", "officer", "rating.desk.officer_now", id="officer_now"),
    ]

    def __init__(self, services: Services, actor: Actor, code: str, seconds: int) -> None:
        super().__init__(classes="modal")
        self.services, self.actor, self.code, self.seconds = services, actor, code, seconds
        self.asked: Asked | None = None
        self._deadline = monotonic() + seconds
        self._done = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label(t("rating.desk.waiting"), classes="modal-title")
            yield Label(t("rating.desk.left", seconds=self.seconds), id="rating-left",
                        classes="modal-detail")
            yield Label(t("rating.desk.hint"), classes="modal-detail")

    async def on_mount(self) -> None:
        try:
            self.asked = await asyncio.to_thread(self.services.citizen_rating.ask, self.actor,
                                                 self.code, self.seconds)
        except CcdeskError as err:
            self.notify(err.message(), severity="error")
            self._finish(None)
            return
        self.set_interval(POLL_SECONDS, self._poll)

    def _poll(self) -> None:
        left = round(self._deadline - monotonic())
        if left <= 0:
            self.notify(t("rating.desk.timed_out"), severity="warning")
            self._stop()
            return
        self.query_one("#rating-left", Label).update(t("rating.desk.left", seconds=left))
        self._check()

    @work(exclusive=True, thread=True, group="citizen-rating")
    def _check(self) -> None:
        if self.asked is None or self._done:
            return
        rating = self.services.citizen_rating.answered(self.asked.request_id)
        if rating is not None:
            self.app.call_from_thread(self._finish, rating.level)

    @work(exclusive=True, group="citizen-rating-answer")
    async def action_keypad(self, level: str) -> None:
        """A key of the citizen's USB numeric keypad: their own answer, by the same token."""
        if self.asked is None or self._done:
            return
        try:
            await asyncio.to_thread(self.services.citizen_rating.answer, self.asked.token, level)
        except CcdeskError:
            pass  # the tablet answered first, or the question closed: the poll settles it
        rating = await asyncio.to_thread(self.services.citizen_rating.answered,
                                         self.asked.request_id)
        self._finish(rating.level if rating is not None else None)

    def action_officer(self) -> None:
        self._stop()

    @work(exclusive=True, group="citizen-rating-close")
    async def _stop(self) -> None:
        """Close the question; a rating that arrived meanwhile still counts as the citizen's."""
        if self._done:
            return
        rating = None
        if self.asked is not None:
            rating = await asyncio.to_thread(self.services.citizen_rating.close,
                                             self.asked.request_id)
        self._finish(rating.level if rating is not None else None)

    def _finish(self, level: str | None) -> None:
        if self._done:
            return
        self._done = True
        if level is not None:
            self.notify(t("rating.desk.citizen_done", level=RatingLevel(level).label()))
        self.dismiss(level)
