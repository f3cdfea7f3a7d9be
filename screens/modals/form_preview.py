"""Preview a printed form as text, then print it (or save the PDF, or download it in a browser).

The forms service renders and prints; this modal only shows and asks. Under ``ccdesk serve`` the
PDF goes to the browser through ``App.deliver_binary``.
"""

from __future__ import annotations

import io
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from ccdesk.domain.errors import CcdeskError
from ccdesk.i18n import t
from ccdesk.services import Actor, Services

if TYPE_CHECKING:
    from ccdesk.forms.service import FormService


class FormPreview(ModalScreen[None]):
    """The text rendering of form ``form_id`` of dossier ``code``; ``p`` prints it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "print", "tui.key.print", id="print"),
        Binding("escape", "close", "tui.key.back", id="back"),
    ]

    def __init__(self, services: Services, actor: Actor, code: str, form_id: str, *,
                 reprint: bool = False) -> None:
        super().__init__(classes="modal")
        self.services, self.actor = services, actor
        self.code, self.form_id, self.reprint = code, form_id, reprint
        self._printing = False

    @cached_property
    def forms(self) -> FormService:
        # Imported on first use: the desk's start-up does not pay for the forms.
        from ccdesk.forms.service import FormService

        return FormService(self.services)

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box preview-box"):
            yield Label(t("tui.forms.preview", form=self.form_id, code=self.code),
                        classes="modal-title")
            # The form's lines keep their layout: a narrow terminal scrolls them sideways
            # rather than wrapping them into noise.
            with ScrollableContainer(id="preview-scroll"):
                yield Static("", id="preview-text", markup=False)
            yield Label(t("tui.forms.preview_hint"), classes="modal-detail")

    def on_mount(self) -> None:
        self.query_one("#preview-scroll").loading = True
        self._fetch_text()

    @work(exclusive=True, thread=True, group="form-render")
    def _fetch_text(self) -> None:
        try:
            text = self.forms.render_text(self.code, self.form_id)
        except CcdeskError as err:
            self.app.call_from_thread(self._failed, err)
            return
        self.app.call_from_thread(self._show, text)

    def _show(self, text: str) -> None:
        scroll = self.query_one("#preview-scroll")
        scroll.loading = False
        self.query_one("#preview-text", Static).update(text.replace("\f", "\n" + "─" * 78 + "\n"))
        scroll.focus()

    def _failed(self, err: CcdeskError) -> None:
        self.app.notify(err.message(), severity="error", title=t("tui.app.error_title"))
        self.dismiss(None)

    def action_print(self) -> None:
        if self._printing:
            return
        # The first PDF of a session loads the PDF engine and its fonts (seconds on a slow
        # machine): say so at once, and show the box as busy until it is done.
        self._printing = True
        self.query_one(".preview-box").loading = True
        self.notify(t("tui.printing.busy"), timeout=20)
        self._deliver()

    @work(exclusive=True, thread=True, group="form-print")
    def _deliver(self) -> None:
        try:
            if self.app.is_web:
                data = self.forms.render_pdf(self.code, self.form_id)
                if self.reprint:
                    self.services.dossiers.record_reprint(self.actor, self.code, self.form_id)
                name = f"{self.code}_mau{self.form_id}.pdf"
                self.app.call_from_thread(self.app.deliver_binary, io.BytesIO(data),
                                          save_filename=name, mime_type="application/pdf")
                message = t("tui.forms.downloaded", name=name)
            else:
                outcome = self.forms.output(self.actor, self.code, self.form_id,
                                                     reprint=self.reprint)
                message = (t("tui.forms.printed", printer=outcome.printer) if outcome.printed
                           else t("tui.forms.saved", path=str(outcome.path)))
        except CcdeskError as err:
            self.app.call_from_thread(self._print_failed, err)
            return
        self.app.call_from_thread(self.app.notify, message, timeout=8)
        self.app.call_from_thread(self.dismiss, None)

    def _print_failed(self, err: CcdeskError) -> None:
        self._printing = False
        self.query_one(".preview-box").loading = False
        self.app.notify(err.message(), severity="error")

    def action_close(self) -> None:
        self.dismiss(None)


class FormPicker(ModalScreen[str | None]):
    """Choose which form of the dossier to reprint (its regime's numbering)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "tui.key.back", id="back"),
    ]

    def __init__(self, forms: list[tuple[str, str]]) -> None:
        super().__init__(classes="modal")
        self._forms = forms

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label(t("tui.forms.pick"), classes="modal-title")
            yield OptionList(*[Option(f"{form_id} · {kind}", id=form_id)
                               for form_id, kind in self._forms], id="forms")

    def on_mount(self) -> None:
        self.query_one("#forms").focus()

    @on(OptionList.OptionSelected, "#forms")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(str(event.option.id))

    def action_close(self) -> None:
        self.dismiss(None)
