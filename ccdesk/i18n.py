"""The vi/en message catalogue.

Messages live in ``ccdesk/locales/<lang>/<area>.toml``; a key is ``<area>.<table>.<name>``.
Vietnamese is the default; English must be complete (a test checks both have the same keys).
Formatting of dates, times and money is explicit (never ``locale``): ``dd/mm/yyyy``, 24-hour
clock and ``1.234.567 đ``.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date, datetime
from functools import cache
from pathlib import Path

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
_LOCALES = Path(__file__).parent / "locales"
_current = {"lang": os.environ.get("CCDESK_LANG", DEFAULT_LANGUAGE)}


def _flatten(prefix: str, table: dict, out: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict):
            _flatten(name, value, out)
        else:
            out[name] = str(value)


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every message of one language, keyed ``area.table.name``."""
    messages: dict[str, str] = {}
    for file in sorted((_LOCALES / lang).glob("*.toml")):
        messages.update(_area(lang, file.stem))
    return messages


@cache
def _area(lang: str, area: str) -> dict[str, str]:
    """The messages of one ``<lang>/<area>.toml`` (empty when there is none): ``t`` parses only
    the areas it is asked for, so the first screen does not pay for every file."""
    messages: dict[str, str] = {}
    file = _LOCALES / lang / f"{area}.toml"
    if area and "/" not in area and "\\" not in area and file.is_file():
        with file.open("rb") as fh:
            _flatten(area, tomllib.load(fh), messages)
    return messages


def set_language(lang: str) -> None:
    """Switch the process-wide language (the TUI does this at run time)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    _current["lang"] = lang


def get_language() -> str:
    lang = _current["lang"]
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, lang: str | None = None, **params: object) -> str:
    """Translate ``key``; a missing key shows itself so a gap is visible, never a crash."""
    lang = lang or get_language()
    area = key.partition(".")[0]  # keys of area X come only from X.toml (see catalogue)
    template = _area(lang, area).get(key) or _area(DEFAULT_LANGUAGE, area).get(key) or key
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


def fmt_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def fmt_time(value: datetime) -> str:
    return value.strftime("%H:%M")


def fmt_datetime(value: datetime) -> str:
    return f"{fmt_time(value)} {fmt_date(value)}"


def fmt_size(size: int) -> str:
    """A file's size: ``2097152`` -> ``2,0 MB``, ``5300`` -> ``5 kB`` (decimal comma)."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f}".replace(".", ",") + " MB"
    return f"{max(1, round(size / 1000))} kB"


def fmt_money(amount: int) -> str:
    """``1234567`` -> ``1.234.567 đ`` (Vietnamese thousands separator)."""
    return f"{amount:,}".replace(",", ".") + " đ"
