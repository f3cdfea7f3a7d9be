"""The desk app: the Textual ``App`` and the composition root that wires screens to services.

Screens receive the services they need through their constructors; the session (who is logged
in, whether this is a training sandbox, the clock) lives here and nowhere else. Textual's own
English strings (command palette, system commands, quit toast) are replaced by catalogue ones.
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from rich.console import Console
from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette, Provider
from textual.message import Message
from textual.screen import Screen

from ccdesk.domain.errors import CcdeskError
from ccdesk.i18n import get_language, set_language, t
from ccdesk.services.startup import (
    EarlyLook,
    LoginFacts,
    ServicesLoader,
    begin_opening,
    login_facts,
)
from ccdesk.storage.integrity import OpenMarker
from screens.base import DeskScreen
from screens.keyflow import KeyFlow
from screens.login import LoginScreen

if TYPE_CHECKING:
    from ccdesk.commands.common import CliState
    from ccdesk.config import Config
    from ccdesk.services import Actor, Services
    from ccdesk.services.pin_ahead import PinAhead
    from ccdesk.services.pins import PinVerdict
    from screens.home import HomeFacts, HomeScreen
    from screens.intake_draft import IntakeDraft
    from screens.modals.lock import LockModal
    from sync.engine import RunResult
    from sync.service import SyncStatus

STYLES = Path(__file__).resolve().parent.parent / "screens" / "styles"
# The login screen is painted from the frame sheet alone; every other screen's rules are read
# behind it (start-up time, docs/tui.md "Start-up and memory").
FRAME_SHEET = STYLES / "frame.tcss"
DESK_SHEETS = (STYLES / "app.tcss", STYLES / "forms.tcss", STYLES / "dossier.tcss",
               STYLES / "dialogs.tcss")
IDLE_CHECK_SECONDS = 15
PIN_AHEAD_FROM = 4  # no role allows a shorter PIN (pins.MIN_PIN): nothing to check before
SIGNED_OUT = "signed_out"  # the mode under the login screen after a log-out
# App actions that need a logged-in officer and an unlocked desk.
SESSION_ACTIONS = frozenset({"area", "lock_now", "log_out", "switch_officer"})
UPKEEP_ERROR_SECONDS = 24 * 3600  # damage found behind the desk stays until it is dismissed
# After the login screen's first refresh, before the services start opening behind it: the
# frame reaches the terminal without the opening's imports competing for the interpreter, and
# no officer has typed a PIN this soon (one submitted earlier starts the opening itself).
OPEN_AFTER_PAINT_SECONDS = 0.15


def _desk_commands() -> type[Provider]:
    """The palette's commands (Textual takes a provider or a function returning one)."""
    from screens.commands import DeskCommands

    return DeskCommands


class HomeBehind(Message):
    """The services are open behind the login: compose the home screen, unshown."""


class DeskSync:
    """The sync engine as the screens see it (``SyncPort``); ``sync`` loads on first use."""

    def __init__(self, loader: ServicesLoader) -> None:
        self.loader = loader

    @property
    def services(self) -> Services:
        return self.loader.get()

    def status(self) -> SyncStatus:
        from sync import service

        return service.status(self.services)

    def run(self, progress: Callable[[int, int], None]) -> RunResult:
        from sync import service

        return service.run_once(self.services, progress)

    def explain(self, code: str) -> tuple[str, str]:
        from sync import service

        return service.explain(code)

    def online(self) -> bool | None:
        from sync import service

        url = service.status(self.services).upstream or self.services.config.upstream_url
        return service.probe(url, timeout=2.0) if url else None


class DeskApp(App[int]):
    """The one-stop desk. Build it with the services; tests pass ``actor`` to skip the login.

    ``ccdesk`` itself passes a :class:`ServicesLoader` still opening, with the ``config`` and
    the ``login`` facts read without the ORM: the login screen paints first.
    """

    CSS_PATH: ClassVar = [FRAME_SHEET]
    TITLE = "ccdesk"
    COMMANDS: ClassVar = {_desk_commands}  # loaded when the palette first opens
    COMMAND_PALETTE_BINDING = "ctrl+p"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "tui.key.help", id="help"),
        Binding("f2", "area('intake')", "tui.key.intake", id="intake"),
        Binding("f3", "area('home')", "tui.key.home", id="home"),
        Binding("f4", "area('register')", "tui.key.register", id="register"),
        Binding("f5", "area('reports')", "tui.key.reports", id="reports", show=False),
        Binding("f6", "area('sync')", "tui.key.sync", id="sync", show=False),
        Binding("f9", "area('settings')", "tui.key.settings", id="settings", show=False),
        Binding("f10", "quit", "tui.key.quit", id="quit", show=False),
        Binding("ctrl+q", "quit", "tui.key.quit", id="quit_ctrl", show=False, priority=True),
        Binding("ctrl+l", "lock_now", "tui.session.lock", id="lock", show=False),
        Binding("ctrl+o", "log_out", "tui.session.log_out", id="log_out", show=False),
        Binding("ctrl+t", "switch_officer", "tui.session.switch", id="switch", show=False),
    ]

    def __init__(self, services: Services | ServicesLoader, *, training: bool = False,
                 actor: Actor | None = None, config_path: Path | None = None,
                 warnings: Iterable[str] = (), config: Config | None = None,
                 login: LoginFacts | None = None) -> None:
        super().__init__()
        self.startup_warnings = list(warnings)
        self.loader = services if isinstance(services, ServicesLoader) \
            else ServicesLoader.ready(services)
        self._start_config = config or self.services.config
        self._login = login
        self._home_first: HomeFacts | None = None  # read while the PIN was checked
        self._home_behind: HomeScreen | None = None  # composed behind the login, not shown
        self._pin_ahead: PinAhead | None = None  # the PIN checked while it is typed
        self._pin_ahead_made = threading.Lock()  # by the screen or the login's worker
        self.training = training
        self.actor: Actor | None = actor
        self._last_activity = time.monotonic()
        self._upkeep_started = False
        self._show_at_once = False  # switching to a screen mounted already (delay_update)
        self._desk_sheets_read = False  # DESK_SHEETS, read once the login is painted
        self.config_path = config_path or self.services.paths.config_file
        self.sync = DeskSync(self.loader)
        self.keyflow = KeyFlow(self, self._forward_key)
        theme = self._start_config.theme
        self.theme = theme if theme in self.available_themes else "textual-dark"
        for mode, factory in self._mode_factories().items():
            self.add_mode(mode, factory)
        self.add_mode(SIGNED_OUT, Screen)

    def _mode_factories(self) -> dict[str, Callable[[], Screen]]:
        """Each area's first screen, imported when the area is first opened (start-up time)."""

        def intake() -> Screen:
            from screens.intake_procedure import ProcedureStep

            return ProcedureStep(self.services)

        def register() -> Screen:
            from screens.register import RegisterScreen

            return RegisterScreen(self.services)

        def reports() -> Screen:
            from screens.reports import ReportsScreen

            return ReportsScreen(self.services)

        def sync() -> Screen:
            from screens.sync import SyncScreen

            return SyncScreen(self.services, self.sync)

        def settings() -> Screen:
            from screens.settings import SettingsScreen

            return SettingsScreen(self.services, self.config_path)

        factories = {"home": self._home, "intake": intake, "register": register,
                     "reports": reports, "sync": sync, "settings": settings}
        return {mode: self._styled_now(factory) for mode, factory in factories.items()}

    def _styled_now(self, factory: Callable[[], Screen]) -> Callable[[], Screen]:
        """``factory``, its screen marked as styled by the stylesheet as it is now. Textual marks
        a new screen out of date, so an area's first opening re-parsed the whole stylesheet and
        restyled every widget twice (about 50 ms of CPU before home showed, 130 ms at F4) though
        nothing had changed; the screen is styled from the current stylesheet as it mounts."""

        def build() -> Screen:
            screen = factory()
            screen._css_update_count = self._css_update_count  # noqa: SLF001 - Textual 8.2.8
            return screen

        return build

    def _home(self) -> Screen:
        from screens.home import HomeScreen

        first, self._home_first = self._home_first, None
        screen, self._home_behind = self._home_behind, None
        if screen is not None and self.actor is not None:
            screen.opened(first)  # composed while the PIN was typed: only the figures now
            return screen
        return HomeScreen(self.services, self.sync, first)

    def read_desk_sheets(self) -> None:
        """Every screen's stylesheets but the frame's, once: read, parsed and applied to the
        screens there are (as Textual does for a screen's own ``CSS_PATH``)."""
        if self._desk_sheets_read:
            return
        self._desk_sheets_read = True
        self.stylesheet.read_all(DESK_SHEETS)
        self.stylesheet.reparse()
        self.stylesheet.update(self)

    def _load_screen_css(self, screen: Screen) -> None:
        """Textual 8.2.8 calls this as it shows a screen: any screen but the login's needs the
        desk's sheets (a help or the command palette opened over the login, too)."""
        if not isinstance(screen, LoginScreen):
            self.read_desk_sheets()
        super()._load_screen_css(screen)  # noqa: SLF001 - Textual 8.2.8

    def _compose_home_behind(self) -> None:
        """While the PIN is typed: build the home screen and mount its widgets, unshown and
        with no figures read (``HomeScreen(behind=True)``), so a right PIN only fills them in
        and switches screens. It is laid out behind too; drawn only once it is shown."""
        from screens.home import HomeScreen

        if self.actor is not None or self._home_behind is not None or not self.is_running:
            return
        self.read_desk_sheets()  # home is styled as it mounts, not again when shown
        screen = HomeScreen(self.services, self.sync, behind=True)
        screen._css_update_count = self._css_update_count  # noqa: SLF001 - as _styled_now
        _, mounted = self._get_screen(screen)  # noqa: SLF001 - Textual 8.2.8: registers it
        self._home_behind = screen

        async def lay_out() -> None:
            await mounted
            if screen is self._home_behind and not screen.is_current:
                screen._refresh_layout(self.size)  # noqa: SLF001 - drawn only when current

        self.run_worker(lay_out(), group="home-behind", exit_on_error=False)

    def on_home_behind(self, _message: HomeBehind) -> None:
        self._compose_home_behind()

    def _drop_home_behind(self) -> None:
        """A home built behind a login that did not lead to it (log out, switch officer)."""
        screen, self._home_behind = self._home_behind, None
        if screen is not None and screen.is_attached:
            screen.remove()

    @property
    def services(self) -> Services:
        """The desk's services (waits while they are still opening behind the login screen)."""
        return self.loader.get()

    @property
    def config(self) -> Config:
        return self.services.config if self.loader.is_ready else self._start_config

    def now(self) -> datetime:
        """The desk's clock (the services' clock, so tests can pin it)."""
        return self.services.ctx.now()

    # ---- start ----------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.title = t("tui.app.title")
        self._last_activity = time.monotonic()
        self.set_interval(IDLE_CHECK_SECONDS, self._check_idle)
        for warning in self.startup_warnings:  # e.g. the day's backup could not be written
            self.notify(warning, severity="warning", timeout=30)
        if self.actor is not None:
            self.switch_mode("home")
            return
        facts = self._login or login_facts(self.services)
        if facts is None:
            from screens.setup import SetupScreen  # first run only

            self.push_screen(SetupScreen(self.services), self._after_setup)
            return
        # Shown once the app's own mount is over: Textual drops every frame drawn inside it,
        # and the login's first frame would then wait for the next full repaint.
        self.call_later(self._show_login, facts)

    def _show_login(self, facts: LoginFacts) -> None:
        self.push_screen(LoginScreen(facts, self), self._after_login)
        # The services finish opening while the officer types the PIN, and the home screen's
        # code and figures are readied behind them.
        self.loader.after_open.append(self._ready_home)
        self.call_after_refresh(self.set_timer, OPEN_AFTER_PAINT_SECONDS, self._open_behind)

    def _open_behind(self) -> None:
        """A moment after the login is painted (its frame still on the way to the terminal):
        the cycle collector back on (off since ``ccdesk.launch``: its first pass walks
        everything built so far), the services start opening, and the other screens'
        stylesheets are read."""
        gc.enable()
        self.loader.begin()
        self.read_desk_sheets()

    def _ready_home(self, services: Services) -> None:
        """Behind the login screen, once the services are open: load the home screen's code,
        the PIN check's, and read home's figures once (on a cold start that brings their pages
        from the disk), so Enter waits for neither. Nothing is shown."""
        from ccdesk.services.pins import load_hasher
        from screens.home import read_home

        load_hasher()
        read_home(services, self.sync)
        self.post_message(HomeBehind())  # thread-safe, and never waits for a stopped app

    def pin_typed(self, username: str, pin: str) -> None:
        """The login screen's PIN field changed: check the value ahead of Enter, behind the
        screen (``services/pin_ahead.py``; counted only at Enter)."""
        if len(pin) >= PIN_AHEAD_FROM:
            self._ahead().typed(username, pin)

    def _ahead(self) -> PinAhead:
        # Loaded at the first PIN typed, not before the login screen is painted (hashlib, the
        # key's module).
        with self._pin_ahead_made:
            if self._pin_ahead is None:
                from ccdesk.services.pin_ahead import PinAhead

                self._pin_ahead = PinAhead(self._pin_verdict)
            return self._pin_ahead

    def _pin_verdict(self, username: str, pin: str) -> PinVerdict | None:
        # In PinAhead's thread, straight from the file: the services may still be opening.
        from ccdesk.services.pin_ahead import verdict_from_file

        if self.loader.desk_files is None:
            return None  # Enter checks the PIN
        db_path, key_file = self.loader.desk_files
        return verdict_from_file(db_path, key_file, username, pin)

    def authenticate(self, username: str, pin: str) -> Actor:
        """The login screen's door, called in its worker thread: check the PIN (with its
        verdict computed while it was typed, when that was exactly this value) and meanwhile
        read what home shows first. Those facts reach the home screen only after a right PIN;
        a wrong one drops them. Nothing of the PIN typed is kept after it."""
        try:
            return self._authenticate(username, pin)
        finally:
            self._ahead().forget()

    def _authenticate(self, username: str, pin: str) -> Actor:
        services = self.loader.get()
        found: list[HomeFacts] = []

        def read() -> None:
            # A head start only: whatever goes wrong here, home reads them itself (and says
            # why), and the PIN's answer never depends on it.
            with contextlib.suppress(Exception):
                from screens.home import read_home

                found.append(read_home(services, self.sync))

        reader = threading.Thread(target=read, name="ccdesk-home-first", daemon=True)
        reader.start()
        verdict = self._ahead().verdict(username, pin)  # waits for one under way
        actor = services.officers.authenticate(username, pin, verdict)  # a wrong PIN raises
        reader.join()
        self._home_first = found[0] if found else None
        return actor

    def _after_setup(self, done: bool | None) -> None:
        facts = login_facts(self.services) if done else None
        if facts is not None:
            # Pushed from the app's own queue: the result goes back to the app, not to a
            # screen of the session just dropped (its callback would never run).
            self.call_later(self.push_screen, LoginScreen(facts, self), self._after_login)

    def _after_login(self, actor: Actor | None) -> None:
        if actor is not None:
            self.actor = actor
            behind = self._home_behind
            self._show_at_once = behind is not None and behind.is_mounted
            try:
                self.switch_mode("home")
            finally:
                self._show_at_once = False
            for warning in self.loader.warnings:  # found while opening behind the login
                self.notify(warning, severity="warning", timeout=30)
            self.loader.warnings.clear()
            self.call_after_refresh(self._behind_the_desk)

    def delay_update(self, delay: float = 0.05) -> None:
        """Textual's ``switch_mode`` holds every repaint for ``delay`` to hide a screen still
        mounting; home built behind the login is mounted and laid out already, and is shown
        at once (the officer waited for it from Enter)."""
        if not self._show_at_once:
            super().delay_update(delay)

    @work(exclusive=True, group="behind-the-desk", exit_on_error=False)
    async def _behind_the_desk(self) -> None:
        """Once the home screen has shown today's counts: warm the PDF engine, then (once per
        run) the day's backup and a due whole-file check. Started earlier, they would compete
        with the home screen's first queries for the disk and the interpreter."""
        for load in [worker for worker in self.workers if worker.group == "home"]:
            with contextlib.suppress(Exception):  # a failed load says so itself
                await load.wait()
        self._warm_printing()
        if self.loader.upkeep is not None and not self._upkeep_started:
            self._upkeep_started = True  # once per run, not at every login
            self._upkeep()

    @work(thread=True, exclusive=True, group="upkeep", exit_on_error=False)
    def _upkeep(self) -> None:
        """The day's backup and a due whole-file check, behind the working desk; what they
        found is shown when they finish (a damaged file: an error that stays on screen)."""
        upkeep = self.loader.upkeep
        if upkeep is None:
            return
        for severity, message in upkeep.run(self.services):
            timeout = UPKEEP_ERROR_SECONDS if severity == "error" else 30
            self.call_from_thread(self.notify, message, severity=severity,  # type: ignore[arg-type]
                                  timeout=timeout)

    @work(thread=True, exclusive=True, group="warm-printing", exit_on_error=False)
    def _warm_printing(self) -> None:
        """Load the PDF engine and build its fonts while the officer starts work, so the first
        print does not wait for them. The fonts are cut once (about 5 s of CPU) and cached on
        disk; a training sandbox's cache dies with it, so there only the engine is loaded
        (cutting them would hold the interface back for those seconds after every login)."""
        from ccdesk.forms.fonts import font_files
        from ccdesk.forms.pdf import PdfRenderer  # noqa: F401 - importing is the warm-up
        from ccdesk.forms.service import FormService

        if self.training:
            return
        try:
            font_files(FormService(self.services).font_dir)
        except (OSError, CcdeskError):  # the real print will say what is wrong
            return

    # ---- session --------------------------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        # Every key and click reaches the app first: the idle lock's clock restarts.
        if isinstance(event, (events.Key, events.MouseDown)):
            self._last_activity = time.monotonic()
        # Keys typed at scanner speed: focus moves happen before the next key is looked at.
        if isinstance(event, events.Key) and await self.keyflow.handle(event):
            return
        await super().on_event(event)

    async def _forward_key(self, event: events.Key) -> None:
        """Textual's own handling of a key the key flow held and did not carry out."""
        await super().on_event(event)

    def _check_idle(self) -> None:
        minutes = self.config.idle_lock_minutes
        if (minutes > 0 and self.actor is not None and not self.locked
                and time.monotonic() - self._last_activity >= minutes * 60):
            self.lock()

    @property
    def locked(self) -> bool:
        lock_modal = _lock_modal()
        return any(isinstance(screen, lock_modal) for screen in self.screen_stack)

    def lock(self) -> None:
        """Hide the desk until the logged-in officer types their PIN again."""
        if self.actor is not None and not self.locked:
            self.push_screen(_lock_modal()(self.services, self.actor))

    def change_language(self, lang: str) -> None:
        """Switch vi/en at run time: every screen recomposes in the new language."""
        set_language(lang)
        self.title = t("tui.app.title")
        for screen in self.screen_stack:
            if isinstance(screen, DeskScreen):
                screen.refresh_language()

    # ---- actions --------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Areas and the session's keys exist only after login; before that, help and quit.
        if action in SESSION_ACTIONS and (self.actor is None or self.locked):
            return False
        return True

    # ---- leaving safely -------------------------------------------------------------------
    def intake_draft(self) -> IntakeDraft | None:
        """The intake being typed and not yet saved (a procedure chosen), if any."""
        try:
            stack = self.get_screen_stack("intake")
        except KeyError:  # the intake area was not opened since login
            return None
        for screen in reversed(stack):
            draft = getattr(screen, "draft", None)
            if draft is not None:
                return cast("IntakeDraft", draft)
        return None

    def _ask_to_leave_draft(self, then: Callable[[], object], question: str) -> None:
        """y: drop the half-typed intake and go on; n: back to it, as it was left."""
        draft = self.intake_draft()
        if draft is None:
            then()
            return
        from screens.modals.confirm import ConfirmModal

        name = draft.request.applicant.full_name or draft.typed_name or "—"
        detail = t("tui.leave.draft", procedure=f"{draft.procedure.code} · "
                   f"{draft.procedure.name}", name=name)

        def answered(leave: bool | None) -> None:
            if leave:
                then()
            elif self.current_mode != "intake":
                self.switch_mode("intake")

        self.push_screen(ConfirmModal(t(question), detail), answered)

    async def action_quit(self) -> None:
        """F10 / Ctrl+Q: quit, asking first when an intake is half typed."""
        self._ask_to_leave_draft(self.exit, "tui.leave.quit")

    def action_lock_now(self) -> None:
        """Ctrl+L: hide the desk behind the PIN now (everything typed stays)."""
        self.lock()

    def action_log_out(self) -> None:
        """Ctrl+O: back to the login screen; nothing of this officer's session stays."""
        self._ask_to_leave_draft(self._log_out, "tui.leave.log_out")

    def action_switch_officer(self) -> None:
        """Ctrl+T: another officer takes the desk (log out, then their login)."""
        self._ask_to_leave_draft(self._log_out, "tui.leave.switch")

    def _log_out(self) -> None:
        facts = login_facts(self.services)
        self.actor = None
        self._drop_home_behind()
        self.switch_mode(SIGNED_OUT)
        for mode, factory in self._mode_factories().items():  # every area starts afresh
            self.remove_mode(mode)
            self.add_mode(mode, factory)
        if facts is not None:
            # Pushed from the app's own queue: the result goes back to the app, not to a
            # screen of the session just dropped (its callback would never run).
            self.call_later(self.push_screen, LoginScreen(facts, self), self._after_login)

    def action_area(self, mode: str) -> None:
        """Open a top-level area at its first screen (the register, not the last dossier
        opened from it). Only the intake keeps its place: a half-typed intake is still there;
        F2 again starts a new one, asking first when one is half typed."""
        if self.current_mode == mode == "intake" and self.intake_draft() is not None:
            self._ask_to_leave_draft(lambda: self._area_from_start("intake"),
                                     "tui.leave.new_intake")
            return
        if mode == "intake" and self.current_mode != mode:
            self.switch_mode(mode)  # back to the intake where it was left
            return
        self._area_from_start(mode)

    def _area_from_start(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)
        while len(self.screen_stack) > 1:
            self.pop_screen()
        reset = getattr(self.screen, "reset", None)
        if mode == "intake" and reset is not None:
            reset()  # ready for the next citizen

    def action_help(self) -> None:
        from screens.modals.help import HelpModal  # not needed to paint the first screen

        if isinstance(self.screen, HelpModal) or self.locked:
            return
        self.push_screen(HelpModal(self.screen))

    def action_command_palette(self) -> None:
        from screens.commands import DeskCommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(DeskCommandPalette(id="--command-palette",
                                                placeholder=t("tui.palette.placeholder")))

    def _pick_theme(self) -> None:
        """Textual's theme picker with a translated placeholder."""
        from textual.theme import ThemeProvider

        from screens.commands import DeskCommandPalette

        self.push_screen(DeskCommandPalette(providers=[ThemeProvider],
                                            placeholder=t("tui.palette.theme_placeholder")))

    def action_help_quit(self) -> None:
        """Ctrl+C: say how to quit, in the user's language (replaces Textual's English toast)."""
        self.notify(t("tui.app.quit_hint"), title=t("tui.app.quit_title"))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette's system commands, translated (Textual's own are English only)."""
        yield SystemCommand(t("tui.palette.theme"), t("tui.palette.theme_help"),
                            self._pick_theme)
        yield SystemCommand(t("tui.palette.keys"), t("tui.palette.keys_help"), self.action_help)
        yield SystemCommand(t("tui.palette.screenshot"), t("tui.palette.screenshot_help"),
                            lambda: self.set_timer(0.1, self.deliver_screenshot))
        yield SystemCommand(t("tui.palette.quit"), t("tui.palette.quit_help"), self.action_quit)



def _lock_modal() -> type[LockModal]:
    """The lock modal's class, imported on first use (not needed to paint the first screen)."""
    from screens.modals.lock import LockModal

    return LockModal


def serve_in_browser(command: str, *, host: str, port: int, title: str) -> None:
    """Serve the desk to browsers through textual-serve, with the desk's page and its local
    font (``ccdesk.web``); each tab runs ``command``. The server is defined here, on first use:
    textual-serve and aiohttp load only for ``ccdesk serve``, never at the desk's start."""
    from aiohttp import web
    from textual_serve.server import Server

    from ccdesk.web import FONT_ROUTE, TEMPLATES, font_file

    class DeskServer(Server):
        async def _make_app(self) -> web.Application:  # Textual-serve's: one route more
            app = await super()._make_app()
            app.router.add_get(FONT_ROUTE, self.handle_font)
            return app

        async def handle_font(self, _request: web.Request) -> web.FileResponse:
            return web.FileResponse(font_file(), headers={"Content-Type": "font/ttf",
                                                          "Cache-Control": "max-age=86400"})

    DeskServer(command, host=host, port=port, title=title, templates_path=TEMPLATES).serve()


def run_app(state: CliState, early: EarlyLook | None = None,
            config: Config | None = None) -> int:
    """Open the desk on ``state``'s database (or a fresh training sandbox) and run it;
    ``early``: the login facts and the cheap look, under way already, and ``config``: the
    config file as read already (``ccdesk.launch``)."""
    from ccdesk.logs import setup_logging

    log_file = setup_logging(state.paths)  # redacted; a sandbox logs to the desk's log too
    # Held while the desk runs: left behind by a session that did not end cleanly, it makes
    # the next start check the whole file behind the desk (docs/operations.md).
    marker = None if state.training else OpenMarker(state.paths.data_dir, state.db_path)
    if marker is not None:
        marker.open()
    try:
        loader, login, config = _open(state, early, config)
    except CcdeskError as err:
        if marker is not None:
            marker.close()
        sys.stderr.write(err.message() + "\n")
        return 2
    set_language(state.lang or get_language())
    app = DeskApp(loader, training=state.training, warnings=state.startup_warnings,
                  config=config, login=login, config_path=state.paths.config_file)
    # A closed SSH session (SIGHUP) or a stop request (SIGTERM) ends the app normally, so the
    # database is closed and a training sandbox is deleted rather than left in /tmp.
    for sig in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, lambda _sig, _frame: app.exit(return_code=0))
    # An unexpected error: Textual would print its traceback on the officer's screen. It goes
    # to the (redacted) log instead, and the officer reads one sentence saying where.
    errors = io.StringIO()
    app.error_console = Console(file=errors, width=120, markup=False, highlight=False)
    try:
        app.run()
    finally:
        loader.close()
    if marker is not None and not errors.getvalue():
        marker.close()  # a clean exit
    if errors.getvalue():
        report_crash(errors.getvalue(), log_file)
        # A worker thread can be left waiting forever on the stopped event loop (inside
        # call_from_thread) and would hold the interpreter's exit; everything saved is already
        # committed, so leave now.
        logging.shutdown()
        sys.stderr.flush()
        os._exit(app.return_code or 1)
    return app.return_code or 0


def _open(state: CliState, early: EarlyLook | None = None, config: Config | None = None,
          ) -> tuple[ServicesLoader, LoginFacts | None, Config]:
    """The desk's services (or a loader still opening them), the login facts, the config."""
    if state.training:
        from ccdesk.training import open_sandbox

        gc.enable()  # seeding a sandbox is no first paint to hurry (launch.py)
        sandbox = open_sandbox(state.paths)
        return ServicesLoader.ready(sandbox.services, sandbox.close), None, \
            sandbox.services.config
    config = config or state.config()
    opening = begin_opening(state.db_path, state.paths, config, early)
    if opening is not None:
        return *opening, config
    gc.enable()  # a one-step opening may migrate a large file: collect as usual (launch.py)
    services = state.services()  # in one step: migrations, integrity check, the day's backup
    return ServicesLoader.ready(services), None, services.config


def report_crash(details: str, log_file: Path | None) -> None:
    """Log what Textual would have printed and tell the user where it is, without it."""
    if log_file is not None:  # without a log file, logging would print it on the screen
        logging.getLogger("ccdesk.crash").critical("unexpected error in the desk app\n%s",
                                                   details)
    sys.stderr.write(t("reliability.log.crash", kind="DeskApp",
                       file=str(log_file or "—")) + "\n")
