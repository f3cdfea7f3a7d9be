"""Intake step 2's chip ID card: its QR code typed by a keyboard-mode scanner into any field
fills the applicant (docs/tui.md, "Scanner input")."""

from __future__ import annotations

from textual.widgets import Input, Label, Select

from ccdesk.domain.cccd_qr import MAX_SCAN, CardScan, parse_card_scan, scan_start
from ccdesk.domain.errors import ValidationError
from ccdesk.domain.vocabulary import Sex
from ccdesk.i18n import fmt_date, t

HISTORY = MAX_SCAN + 50  # a field's values kept: one per key of the longest scan, and some


class CardScanning:
    """Mixed into the applicant step, which keeps ``_history`` (each field's recent values),
    the ``draft`` and the citizen ``_lookup``."""

    def _card_scanned(self, field: Input) -> None:
        """Fill the applicant from the card, or say why not and change nothing."""
        text = field.value
        field.value = self._before_scan(str(field.id), text)
        try:
            card = parse_card_scan(text[scan_start(text):], today=self.host.now().date())
        except ValidationError as err:
            self._scan_status(err.message(), error=True)
            return
        self.query_one("#id_type", Select).value = "cccd"
        self.query_one("#sex", Select).value = card.sex
        for name, value in (("id_number", card.id_number), ("full_name", card.full_name),
                            ("date_of_birth", fmt_date(card.date_of_birth)),
                            ("address", card.address), ("old_id_number", card.old_id_number),
                            ("id_issued_on", fmt_date(card.issued_on))):
            self.query_one(f"#{name}", Input).value = value
        self.draft.card = card
        self._scan_status(card_filled(card), error=False)
        self.query_one("#phone", Input).focus()
        self._lookup(card.id_number)  # a returning citizen's phone and e-mail

    def _before_scan(self, name: str, text: str) -> str:
        """What field ``name`` held before the scan now ending ``text`` began: the scan was
        typed after it, or replaced it whole (a focused field's text is selected)."""
        start = scan_start(text)
        kept, scan = text[:start], text[start:]
        for earlier in reversed(self._history.get(name, ())):
            if not (earlier.startswith(kept) and scan.startswith(earlier[start:])):
                return earlier if not kept else kept
        return kept

    def _scan_status(self, message: str, *, error: bool) -> None:
        status = self.query_one("#scan-status", Label)
        status.update(message)
        status.set_class(error, "-error")
        status.display = True


def card_filled(card: CardScan) -> str:
    """What a scan filled in: all seven fields of the card."""
    return t("tui.scan.filled", id_number=card.id_number, name=card.full_name,
             born=fmt_date(card.date_of_birth), address=card.address,
             sex=Sex(card.sex).label(), old_id=card.old_id_number or "—",
             issued=fmt_date(card.issued_on))
