"""The Decision 766 indicators panel of the reports screen: the figures the service computed,
one per line (the formulas are in docs/reports.md)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ccdesk.domain.indicators import Indicators766, indicator_lines


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %".replace(".", ",")


class IndicatorsPanel(Static):
    """Label and value for each indicator; empty until :meth:`show` is called."""

    DEFAULT_CSS = """
    IndicatorsPanel { height: auto; }
    """

    def show(self, indicators: Indicators766) -> None:
        text = Text()
        for index, (label, value) in enumerate(indicator_lines(indicators, _percent)):
            text.append(("\n" if index else "") + label + ": ", style="bold")
            text.append(value)
        self.update(text)
