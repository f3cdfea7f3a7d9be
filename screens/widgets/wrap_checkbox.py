"""A checkbox whose label wraps: a document's whole name and "(required)" stay readable at 80
columns, where Textual's checkbox (always one line) would end them in an ellipsis."""

from __future__ import annotations

from textual.geometry import Size
from textual.widgets import Checkbox


class WrapCheckbox(Checkbox):
    """``Checkbox`` as tall as its wrapped label (set ``text-wrap: wrap`` in CSS)."""

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, self.render().get_height(self.styles, width))
