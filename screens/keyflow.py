"""Keys typed at machine speed go where the officer meant.

Textual hands each key to the widget focused *when the key arrives*, and a focus move (Tab, Enter
in a form, F8 to the next step) happens only once the key before it has gone through the
widget's message queue. A barcode scanner, or a fast typist, sends the next characters before
that: they landed in the field being left ("001085012345Lê Văn Tám01/01/1985" in the ID field).

So the app gives every key to :class:`KeyFlow` first. The keys that move the focus or change the
screen are carried out there and then, before the next key is looked at; and while a new screen
is being put up, the keys that follow wait in order and are replayed once it has its focus.

It also notes, as each key arrives, whether it came in a burst (less than ``SCAN_GAP`` after the
key before it: a scanner, not a person). Arrival is the time Textual stamped on the key when the
terminal driver read it (``event.time``), not the time a screen gets round to it: on a busy
machine the screens lag behind the keys, so a scan would look typed by hand, or the reverse.
A key pressed on its own (``s`` on a dossier, ``v`` at home) runs its binding; the letters of a
scan do not (:func:`carrying_burst`), and a scan read where nothing is focused is collected by
its burst (:func:`in_burst`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from textual import events
from textual.widgets import Input, Select

from screens.base import FormKeys

if TYPE_CHECKING:
    from textual.app import App

SCAN_GAP = 0.3  # seconds between keys: slower is a person typing, not a scanner
MAX_HELD = 4096  # keys kept while a screen opens (a long scan is about 200)
FOCUS_KEYS = {"tab": True, "shift+tab": False}
SETTLE_REFRESHES = 3  # refreshes a new screen with nothing to focus gets before keys go on
STUCK_SECONDS = 2.0  # a key whose field vanished before it was carried out frees the others


class KeyFlow:
    """Carries out focus moves and screen changes in the order the keys came, holding the keys
    that follow until it is done. ``forward`` is the app's normal handling of one key."""

    def __init__(self, app: App, forward: Callable[[events.Key], Awaitable[None]]) -> None:
        self.app = app
        self.forward = forward
        self.held: deque[events.Key] = deque()
        self.holding = False
        self._turn = 0  # which hold a release belongs to (a stale release does nothing)
        self._started = 0  # the last turn whose key began to be carried out
        # Whether each key came in a burst, noted when it arrived (held keys keep theirs).
        self._bursts: WeakKeyDictionary[events.Key, bool] = WeakKeyDictionary()
        self._last_arrival: float | None = None
        self._carrying: events.Key | None = None  # the key whose bindings run now

    async def handle(self, event: events.Key) -> bool:
        """``True`` when the key was taken here (held, queued to be carried out in turn, or
        back from the screen and carried out to the app's bindings)."""
        if event.is_forwarded:  # back up at the app after the screen had it
            with self._carrying_out(event):
                await self.forward(event)
            return True
        self._note_arrival(event)
        if self.holding:
            if len(self.held) < MAX_HELD:
                self.held.append(event)
            return True
        if not self._moves(event):
                return False
        # The keys before this one may still be on their way to the focused field: carry it
        # out behind them, in that field's own queue, and hold what follows until it is done.
        self.holding = True
        self._turn += 1
        turn = self._turn
        target = self.app.focused or self.app.screen
        # Behind the keys in the field's queue, then from the app's own queue: what the key
        # opens (a y/n) answers to the app, which outlives any screen.
        target.call_later(self.app.call_later, self._carry_out, event, turn)
        self.app.set_timer(STUCK_SECONDS, partial(self._unstick, turn))
        return True

    def in_burst(self, event: events.Key) -> bool:
        """Whether ``event`` arrived less than ``SCAN_GAP`` after the key before it."""
        return self._bursts.get(event, False)

    @property
    def carrying_burst(self) -> bool:
        """Whether the key whose bindings are being carried out now came in a burst (no key:
        a click, or the command palette)."""
        return self._carrying is not None and self.in_burst(self._carrying)

    def _note_arrival(self, event: events.Key) -> None:
        """Once per key, the first time the app sees it (a held key is replayed later)."""
        if event in self._bursts:
            return
        last, self._last_arrival = self._last_arrival, event.time
        self._bursts[event] = last is not None and event.time - last < SCAN_GAP

    @contextmanager
    def _carrying_out(self, event: events.Key) -> Iterator[None]:
        before, self._carrying = self._carrying, event
        try:
            yield
        finally:
            self._carrying = before

    def _moves(self, event: events.Key) -> bool:
        """Whether ``event`` is carried out through a binding (which Textual looks up only
        when the key comes back up to the app, against the focus of *that* moment) or moves
        the focus; printable keys typed into a text field are text, and go straight there."""
        screen = self.app.screen
        if not isinstance(screen, FormKeys) or self._in_open_list():
            return False
        key, focused = event.key, self.app.focused
        if key in FOCUS_KEYS or (key == "enter" and isinstance(focused, Input)):
            return True
        if isinstance(focused, Input) and event.is_printable:
            return False
        active = screen.active_bindings.get(key)
        return active is not None and not active.binding.priority

    async def _unstick(self, turn: int) -> None:
        """The field the key was queued behind went away before its turn: let keys go on."""
        if self._started < turn:
            self._started = turn
            await self._release(turn, SETTLE_REFRESHES)

    async def _carry_out(self, event: events.Key, turn: int) -> None:
        if self._started >= turn:
            return  # given up on (see _unstick)
        self._started = turn
        before = self.app.screen
        with self._carrying_out(event):
            await self._carry_out_key(event)
        if self.app.screen is before:
            await self._release(turn, SETTLE_REFRESHES)
        else:  # a new screen: wait until it is up and has its first focus
            self.app.call_after_refresh(partial(self._release, turn, 0))

    async def _carry_out_key(self, event: events.Key) -> None:
        screen, focused, key = self.app.screen, self.app.focused, event.key
        if not isinstance(screen, FormKeys):
            await self.forward(event)
        elif key in FOCUS_KEYS:
            screen.move_focus(FOCUS_KEYS[key])
        elif key == "enter" and isinstance(focused, Input):
            await screen.enter_in(focused)
        elif self._disabled(key):
            pass  # greyed out here (accept with documents missing): not handed to the app's
        elif not await self.app._check_bindings(key):  # noqa: SLF001 - Textual's own lookup
            await self.forward(event)  # no binding took it: the widget's own key handling

    def _disabled(self, key: str) -> bool:
        active = self.app.screen.active_bindings.get(key)
        return active is not None and not active.enabled

    def _in_open_list(self) -> bool:
        """An open drop-down list keeps its own keys (Enter chooses, Esc closes)."""
        focused = self.app.focused
        return focused is not None and any(
            isinstance(node, Select) and node.expanded for node in focused.ancestors_with_self)

    async def _release(self, turn: int, waited: int) -> None:
        """Hand the held keys on once the screen is mounted and has its first focus (set
        through ``call_later``); a screen with nothing to focus gets a few refreshes."""
        if turn != self._turn or not self.holding:
            return
        screen = self.app.screen
        ready = screen.is_mounted and (screen.focused is not None or waited >= SETTLE_REFRESHES)
        if not ready:
            self.app.call_after_refresh(partial(self._release, turn, waited + 1))
            return
        self.holding = False
        while self.held and not self.holding:
            event = self.held.popleft()
            if not await self.handle(event):
                await self.forward(event)


def in_burst(app: App, event: events.Key) -> bool:
    """Whether ``event`` came in a burst (see :class:`KeyFlow`); never on an app without a key
    flow."""
    flow = getattr(app, "keyflow", None)
    return isinstance(flow, KeyFlow) and flow.in_burst(event)


def carrying_burst(app: App) -> bool:
    """Whether the key running a binding now is one of a burst: a scanner's letter, which must
    not open what the same key pressed on its own would."""
    flow = getattr(app, "keyflow", None)
    return isinstance(flow, KeyFlow) and flow.carrying_burst
