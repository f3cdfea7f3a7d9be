"""Find the line of a key in a TOML file, so errors can say *where* (file, line, field).

``tomllib`` gives values without positions. This scans the text once and records the line of
every table header and key, addressed by the same path a parsed value has, e.g.
``("procedure", 3, "documents", 1, "form")``. A path not found falls back to its longest
recorded prefix (a key inside an inline table points at the line that holds it).
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\.\"' ]+?)\s*=")

Path = tuple[str | int, ...]


class TomlLocator:
    def __init__(self, text: str) -> None:
        self._lines: dict[Path, int] = {}
        counters: dict[Path, int] = {}
        current: Path = ()
        for lineno, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                parts = _split_key(header.group(2))
                is_array = header.group(1) == "[["
                current = self._resolve(parts, counters, is_array)
                self._lines.setdefault(current, lineno)
                continue
            key = _KEY.match(line)
            if key and not line.lstrip().startswith("#"):
                self._lines.setdefault(current + tuple(_split_key(key.group(1))), lineno)

    def _resolve(self, parts: list[str], counters: dict[Path, int], is_array: bool) -> Path:
        """Turn a header like ``procedure.documents`` into a path with array indexes."""
        path: Path = ()
        for depth, part in enumerate(parts):
            path = path + (part,)
            last = depth == len(parts) - 1
            if last and is_array:
                counters[path] = counters.get(path, -1) + 1
                path = path + (counters[path],)
            elif path in counters:  # a parent array: address its newest element
                path = path + (counters[path],)
        return path

    def line_of(self, path: Path) -> int | None:
        for end in range(len(path), -1, -1):
            line = self._lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


def _split_key(raw: str) -> list[str]:
    return [part.strip().strip("\"'") for part in raw.split(".")]
