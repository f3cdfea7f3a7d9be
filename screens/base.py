"""What every desk screen shares: title bar, training banner, key bar, language refresh.

Screens reach the session (the logged-in officer, training flag, clock) through the app, typed as
:class:`DeskHost`, so they never import the app module (the composition root imports them).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Protocol, cast

from textual import events
from textual.app import ComposeResult
from textual.screen import ModalScreen, Screen, ScreenResultType
from textual.widgets import Input

from ccdesk.domain.errors import CcdeskError, InvalidInput
from ccdesk.i18n import get_language, t
from screens.widgets.chrome import KeyBar, TitleBar, TrainingBanner
from screens.widgets.field import FormField

if TYPE_CHECKING:
    from ccdesk.config import Config
    from ccdesk.services import Actor, Services


class DeskHost(Protocol):
    """What screens may ask of the app."""

    services: Services
    training: bool
    actor: Actor | None

    @property
    def config(self) -> Config: ...

    def now(self) -> datetime: ...

    def change_language(self, lang: str) -> None: ...


class FormKeys:
    """How a desk screen moves on Tab and Enter. The app calls these as each key arrives
    (``screens.keyflow``), before the next key is handled, so keys typed at scanner speed land
    in the field the officer meant."""

    # Enter in a text field goes to the next field (forms); otherwise it only submits.
    ENTER_MOVES_FOCUS: ClassVar[bool] = False

    def move_focus(self, forward: bool) -> None:
        """Tab / Shift+Tab."""
        screen = cast(Screen, self)
        screen.focus_next() if forward else screen.focus_previous()

    async def enter_in(self, field: Input) -> None:
        """Enter in ``field``: its ``Submitted`` message, and on forms the next field at once."""
        await field.action_submit()
        if self.ENTER_MOVES_FOCUS:
            self.move_focus(True)


class DeskScreen(FormKeys, Screen):
    """A full screen of the desk. Subclasses implement ``compose_body`` and set ``TITLE_KEY``."""

    TITLE_KEY = "tui.app.title"
    HELP_KEY = "tui.help.generic"

    def __init__(self, services: Services | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._services = services
        self._composed_lang = get_language()
        self._shown_once = False  # a first ScreenResume: its widgets were just styled

    @property
    def services(self) -> Services:
        """The services given to the screen, else the app's (the login screen is built before
        they have finished opening, and does not touch them)."""
        return self._services if self._services is not None else self.host.services

    @property
    def host(self) -> DeskHost:
        return cast(DeskHost, self.app)

    @property
    def actor(self) -> Actor:
        actor = self.host.actor
        if actor is None:  # only the setup and login screens run without one
            raise RuntimeError("no officer logged in")
        return actor

    def compose(self) -> ComposeResult:
        yield TitleBar(t(self.TITLE_KEY), self._officer_label())
        if self.host.training:
            yield TrainingBanner()
        yield from self.compose_body()
        yield KeyBar()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets, between the title bar and the key bar."""
        return ()

    def _officer_label(self) -> str:
        actor = self.host.actor
        return actor.username if actor else ""

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        if not self._shown_once:
            # Styled as it mounted, from the stylesheet as it is: Textual would restyle every
            # widget once more as it first shows (about 9 ms for the login, more for home).
            self._shown_once = True
            event.refresh_styles = False
        if self._composed_lang != get_language():
            self.refresh_language()  # recomposes, then fills in again through on_mount
        else:
            self.on_resumed()

    def on_resumed(self) -> None:
        """The screen is shown again (another screen closed over it): refresh what may have
        changed meanwhile. Nothing by default."""

    def refresh_language(self) -> None:
        """Rebuild the screen's text in the current language (its data is read again)."""
        self._composed_lang = get_language()
        self.call_later(self._compose_again)

    async def _compose_again(self) -> None:
        await self.recompose()
        self.refresh_bindings()
        # Recomposed widgets are empty: fill them the way the first mount did.
        on_mount = getattr(self, "on_mount", None)
        if on_mount is not None:
            on_mount()

    def show_error(self, err: CcdeskError) -> None:
        """Show a user error: at its field when the screen has one, else as a notification."""
        errors = err.errors if isinstance(err, InvalidInput) else [err]
        unplaced = [e for e in errors if not self.place_error(e)]
        if unplaced:
            self.notify("\n".join(e.message() for e in unplaced), severity="error",
                        title=t("tui.app.error_title"))

    def place_error(self, err: CcdeskError) -> bool:
        """Put ``err`` under its ``FormField`` (``#field-<name>``) when the screen has one."""
        if not err.field:
            return False
        fields = self.query(f"#field-{err.field}").filter(".form-field")
        if not fields:
            return False
        field = fields.first(FormField)
        field.set_error(field_message(err))
        return True

    def clear_errors(self) -> None:
        for field in self.query(FormField):
            field.set_error(None)


def field_label(name: str) -> str:
    """A field's label: the vocabulary's name for it, else the screens' own (``tui.field``)."""
    key = f"vocab.field.{name}"
    text = t(key)
    return text if text != key else t(f"tui.field.{name}")


def field_message(err: CcdeskError) -> str:
    """The message without its "Field: " prefix (the label is right beside it)."""
    field, err.field = err.field, None
    try:
        return err.message()
    finally:
        err.field = field


class DeskModal(FormKeys, ModalScreen[ScreenResultType]):
    """A modal of the desk; ``esc`` cancels (dismisses with ``None``)."""

    def action_cancel(self) -> None:
        self.dismiss(None)
