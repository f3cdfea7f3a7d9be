"""The vi/en message catalogue.

Messages live in ``ccdesk/locales/<lang>/<area>.toml``; a key is ``<area>.<table>.<name>``.
Vietnamese is the default; English must be complete (a test checks both have the same keys).

Each TOML file has a compiled twin, ``<area>.json`` (``python -m ccdesk.i18n`` writes them; a
test fails while one is out of date): its messages already flattened, with the SHA-256 of the
TOML text it was made from. A catalogue is read from its twin when that hash matches, else from
the TOML itself, so an edited file is never shown stale. Parsing TOML (and importing
``tomllib``) was about a tenth of the desk's own work before the login screen is painted
(docs/tui.md, "Start-up and memory").

Formatting of dates, times and money is explicit (never ``locale``): ``dd/mm/yyyy``, 24-hour
clock and ``1.234.567 đ``.
"""

from __future__ import annotations

import hashlib
import json
import os
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
    """The messages of one ``<lang>/<area>.toml`` (empty when there is none): ``t`` reads only
    the areas it is asked for, so the first screen does not pay for every file."""
    file = _LOCALES / lang / f"{area}.toml"
    if not area or "/" in area or "\\" in area or not file.is_file():
        return {}
    text = file.read_bytes()
    return _compiled(file, text) or _parsed(area, text)


def _parsed(area: str, text: bytes) -> dict[str, str]:
    import tomllib

    messages: dict[str, str] = {}
    _flatten(area, tomllib.loads(text.decode("utf-8")), messages)
    return messages


def _compiled(file: Path, text: bytes) -> dict[str, str] | None:
    """The messages of ``file``'s compiled twin when it was made from exactly ``text``."""
    try:
        twin = json.loads(file.with_suffix(".json").read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(twin, dict) or twin.get("source_sha256") != _digest(text):
        return None
    messages = twin.get("messages")
    if not isinstance(messages, dict) or not all(isinstance(v, str) for v in messages.values()):
        return None
    return messages


def _digest(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def compiled_twin(file: Path) -> str:
    """What ``python -m ccdesk.i18n`` writes beside the catalogue ``file``."""
    text = file.read_bytes()
    twin = {"source": file.name, "source_sha256": _digest(text),
            "messages": _parsed(file.stem, text)}
    return json.dumps(twin, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def compile_catalogues() -> list[Path]:
    """Write every catalogue's compiled twin that is missing or out of date; the ones written."""
    written = []
    for file in sorted(_LOCALES.glob("*/*.toml")):
        twin, body = file.with_suffix(".json"), compiled_twin(file)
        if not twin.is_file() or twin.read_text(encoding="utf-8") != body:
            twin.write_text(body, encoding="utf-8")
            written.append(twin)
    return written


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


if __name__ == "__main__":
    for written in compile_catalogues():
        print(written)
