"""ccdesk: the offline-first one-stop desk (bộ phận một cửa) of a Vietnamese commune."""

from __future__ import annotations

__version__ = "0.1.0"
