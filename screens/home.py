"""Home / today: today's figures, the sync indicator and a quick key to every area."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical
from textual.widgets import Label, Static

from ccdesk.i18n import fmt_datetime, t
from screens.base import DeskScreen
from screens.filings import OPEN_KEY, FilingsLines, FilingsScreen, any_waiting
from screens.keyflow import carrying_burst, in_burst
from screens.sync import SyncPort
from screens.verification import OPEN_KEY as VERIFY_KEY
from screens.verification import VerificationLines, VerificationScreen
from screens.widgets.chrome import TitleBar

if TYPE_CHECKING:
    from ccdesk.services import Services
    from ccdesk.services.reports import TodayCounts

MAX_SCAN = 1024  # a paper's QR line (ccdesk.domain.paper_qr.MAX_SCAN_LENGTH)
COUNTS = ("received_today", "due_today", "overdue", "waiting_supplement", "ready_to_return",
          "not_synced")
# Counts named by the vocabulary (the others are the home screen's own words).
COUNT_LABELS = {"overdue": "vocab.timeliness.overdue",
                "waiting_supplement": "vocab.status.waiting_supplement"}
# (key, catalogue key of the area, app action); the app binds the keys, a click works too.
QUICK_KEYS: tuple[tuple[str, str, str], ...] = (
    ("F2", "tui.key.intake", "area('intake')"), ("F4", "tui.key.register", "area('register')"),
    ("F5", "tui.key.reports", "area('reports')"), ("F6", "tui.key.sync", "area('sync')"),
    ("F9", "tui.key.settings", "area('settings')"), ("F1", "tui.key.help", "help"),
)

# Shown beside them when the office uses queue tickets (screens/queue.py).
QUEUE_KEYS = (("F7", "queue.desk.key_ticket", "queue_ticket"),
              ("F8", "queue.desk.key_call", "queue_call"))


@dataclass(frozen=True)
class HomeFacts:
    """What the home screen shows first: today's counts and the sync status."""

    counts: TodayCounts
    status: Any


def read_home(services: Services, port: SyncPort) -> HomeFacts:
    """Today's counts and the sync status, read off the UI thread. The desk also reads them
    while the PIN is checked, so home opens with its figures (shown only once it is right)."""
    return HomeFacts(services.reports.today_counts(services.ctx.now()), port.status())


class HomeScreen(DeskScreen):
    """The officer's start page. ``first``: the facts read while the PIN was checked, shown at
    once; the screen then reads them again as it always does.

    ``behind``: built while the login screen is shown (its widgets composed, nothing read and
    nothing shown); the desk calls :meth:`opened` once the PIN is right, just as it shows it.
    """

    TITLE_KEY = "tui.home.title"
    HELP_KEY = "tui.help.home"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "tui.key.refresh", id="refresh"),
        # queue tickets, when the office uses them (screens/queue.py)
        Binding("f7", "queue_ticket", "queue.desk.key_ticket", id="queue_ticket"),
        Binding("f8", "queue_call", "queue.desk.key_call", id="queue_call"),
        Binding(OPEN_KEY, "online_filings", "tui.key.online_filings", id="online_filings"),
        # the items waiting for the national database (screens/verification.py)
        Binding(VERIFY_KEY, "verifications", "vocab.verification.pending", id="verifications",
                show=False),
    ]

    def __init__(self, services: Services, port: SyncPort, first: HomeFacts | None = None,
                 *, behind: bool = False) -> None:
        super().__init__(services)
        self.port = port
        self._first = first
        self._waiting = behind  # composed behind the login: no figures until ``opened``
        self._away = False  # another screen or area covered home since it was last shown
        self._scanned = ""  # characters a scanner is typing (a slip's QR code)
        self._queue_keys = services.config.queue_tickets  # the keys composed last

    def on_key(self, event: events.Key) -> None:
        """A slip's QR code read at home (nothing is focused here): open its dossier."""
        if not in_burst(self.app, event):  # a key on its own starts afresh
            self._scanned = ""
        if event.key == "enter" and self._scanned:
            from screens.dossier import open_scanned_code

            code, self._scanned = self._scanned, ""
            open_scanned_code(self, code)
            event.stop()
        elif event.is_printable and event.character and len(self._scanned) < MAX_SCAN:
            self._scanned += event.character

    def compose_body(self) -> ComposeResult:
        office = self.services.office.get()
        with Vertical(id="home"):
            yield Label(f"{office.governing_body} · {office.unit_name}", id="home-office")
            yield Label("", id="home-clock")
            with Grid(id="home-counts"):
                for name in COUNTS:
                    yield Static("", id=f"count-{name}", classes="count")
            yield Static("", id="home-sync")
            yield VerificationLines(self.services, load_on_mount=False, id="home-verify")
            yield Static("", id="home-queue", classes="-empty")
            with Grid(id="home-keys"):
                for key, label, action in QUICK_KEYS:
                    yield Static(f"[@click=app.{action}][b]{key}[/b] {t(label)}[/]",
                                 classes="quick-key", id=f"quick-{key.lower()}")
                self._queue_keys = self.services.config.queue_tickets
                if self._queue_keys:
                    for key, label, action in QUEUE_KEYS:
                        yield Static(f"[@click=screen.{action}][b]{key}[/b] {t(label)}[/]",
                                     classes="quick-key", id=f"quick-{key.lower()}")

            # Below the keys: at 80×24 they stay in view, the filings take what is left.
            yield FilingsLines(self.services, self.port, always=True, load_on_mount=False,
                               id="home-filings")  # loaded with home's own figures


    @work(exclusive=True, group="queue-ticket")
    async def action_queue_ticket(self) -> None:
        from screens.queue import issue_ticket

        await issue_ticket(self)

    @work(exclusive=True, group="queue-call")
    async def action_queue_call(self) -> None:
        from screens.queue import call_next

        line = await call_next(self)
        if line:
            shown = self.query_one("#home-queue", Static)
            shown.update(line)
            shown.remove_class("-empty")

    def opened(self, first: HomeFacts | None) -> None:
        """The PIN was right: the officer's name in the title bar, then the figures (``first``,
        read while the PIN was checked, or read now)."""
        self._waiting, self._first = False, first
        for bar in self.query(TitleBar).results(TitleBar):
            bar.show_officer(self._officer_label())
        if self.is_mounted:  # else its mount, still to come, shows them
            self.on_mount()

    def on_mount(self) -> None:
        if self._waiting:
            return  # behind the login: nothing is read before the PIN is right
        self.set_interval(60, self.action_refresh)
        first, self._first = self._first, None
        if first is None:
            self.action_refresh()
            return
        self._show_clock()
        self._show(first.counts, first.status)
        # Read again once these are on screen (the figures may have moved since), with the
        # filings and the upstream's probe, which the first read left out.
        self.call_after_refresh(self.action_refresh)

    def on_screen_suspend(self) -> None:
        self._away = True

    def on_resumed(self) -> None:
        if self._queue_keys != self.services.config.queue_tickets:
            # turned on or off in the settings (F9) meanwhile: show or hide F7/F8 now
            self._away = False
            self.refresh_language()
            return
        # Only a return to home reads again (showing it the first time, on_mount has).
        if self._away:
            self._away = False
            self.action_refresh()

    def action_refresh(self) -> None:
        self._show_clock()
        self._load()
        if self.query("#home-filings"):
            self.query_one("#home-filings", FilingsLines).load()
        if self.query("#home-verify"):
            self.query_one("#home-verify", VerificationLines).load()

    def _show_clock(self) -> None:
        self.query_one("#home-clock", Label).update(
            t("tui.home.now", now=fmt_datetime(self.host.now())))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "online_filings":
            return any_waiting(self)
        if action in ("queue_ticket", "queue_call"):
            return self.services.config.queue_tickets
        if action in ("refresh", "verifications") and carrying_burst(self.app):
            return False  # a scanner typing a QR code types r and v too: text (on_key)
        return super().check_action(action, parameters)

    def action_verifications(self) -> None:
        self.app.push_screen(VerificationScreen(self.services))

    def action_online_filings(self) -> None:
        self.app.push_screen(FilingsScreen(self.services, self.port))

    @work(exclusive=True, thread=True, group="home")
    def _load(self) -> None:
        """Counts scan indexes of a table that can hold millions of rows: off the UI thread."""
        facts = read_home(self.services, self.port)
        self.app.call_from_thread(self._show, facts.counts, facts.status)
        online = self.port.online()
        self.app.call_from_thread(self._show_online, facts.status, online)

    def _show(self, counts: Any, status: Any) -> None:
        if not self.query("#home-counts"):
            return  # being recomposed (language switch): on_mount loads again
        for name in COUNTS:
            value = getattr(counts, name)
            card = self.query_one(f"#count-{name}", Static)
            card.update(f"[b]{value}[/b]\n{t(COUNT_LABELS.get(name, f'tui.home.{name}'))}")
            card.set_class(name == "overdue" and value > 0, "-alert")
        self._show_online(status, None)

    def _show_online(self, status: Any, online: bool | None) -> None:
        if not self.query("#home-sync"):
            return
        if status.training:
            text = t("tui.home.sync_training")
        else:
            link = {True: "tui.home.online", False: "tui.home.offline",
                    None: "tui.home.no_upstream" if not status.upstream else "tui.home.checking"
                    }[online]
            text = t("tui.home.sync_line", link=t(link), pending=status.pending,
                     last=status.last_success_at[:16].replace("T", " ")
                     if status.last_success_at else t("sync.status.never"))
        self.query_one("#home-sync", Static).update(text)
