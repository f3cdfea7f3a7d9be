"""Contrast of painted text: WCAG 2 ratios from the colours the compositor painted, and the same
after the colours are brought down to a 16-colour terminal's palette."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.color import Color, ColorSystem
from rich.color_triplet import ColorTriplet
from rich.terminal_theme import DEFAULT_TERMINAL_THEME
from textual.app import App
from textual.widget import Widget


def luminance(rgb: ColorTriplet) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def ratio(fg: ColorTriplet, bg: ColorTriplet) -> float:
    light, dark = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def sixteen(color: Color) -> ColorTriplet:
    """``color`` as a 16-colour terminal shows it (xterm's palette)."""
    return color.downgrade(ColorSystem.STANDARD).get_truecolor(DEFAULT_TERMINAL_THEME)


@dataclass(frozen=True)
class Patch:
    """A run of text painted in one style, the widget under it and its contrast ratio."""

    text: str
    ratio: float
    line: int
    widget: Widget

    def __str__(self) -> str:
        return f"{self.ratio:.2f} {type(self.widget).__name__}#{self.widget.id}: {self.text!r}"


def text_contrast(app: App, *, palette16: bool = False) -> list[Patch]:
    """Every run of visible text on the current screen with its contrast ratio."""
    patches = []
    compositor = app.screen._compositor
    for y, strip in enumerate(compositor.render_strips()):
        x = 0
        for segment in strip:
            style, start = segment.style, x
            x += cell_len(segment.text)
            if not segment.text.strip() or style is None or style.color is None \
                    or style.bgcolor is None:
                continue
            fg, bg = style.color, style.bgcolor
            if style.reverse:
                fg, bg = bg, fg
            pair = (sixteen(fg), sixteen(bg)) if palette16 else (
                fg.get_truecolor(), bg.get_truecolor())
            widget, _ = compositor.get_widget_at(start + len(segment.text) - len(
                segment.text.lstrip()), y)
            patches.append(Patch(segment.text.strip(), ratio(*pair), y, widget))
    return patches
