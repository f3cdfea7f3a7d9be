"""The reliability messages exist in Vietnamese and English with the same keys, and every key
the code uses is in the catalogue."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from ccdesk.i18n import catalogue

ROOT = Path(__file__).resolve().parents[2] / "ccdesk"
MINE = ["logs.py", "storage/backup.py", "storage/soundness.py", "services/audit.py",
        "commands/identity.py", "commands/officer.py", "commands/audit.py", "commands/backup.py"]


def _keys(lang: str) -> set[str]:
    with (ROOT / "locales" / lang / "reliability.toml").open("rb") as fh:
        data = tomllib.load(fh)
    return {f"reliability.{table}.{name}" for table, names in data.items() for name in names}


def test_vietnamese_and_english_have_the_same_keys() -> None:
    assert _keys("vi") == _keys("en")


def test_every_key_used_by_the_code_exists_in_both_languages() -> None:
    used = set()
    for name in MINE:
        used |= set(re.findall(r"\"((?:reliability|core)\.[a-z_]+\.[a-z_]+)\"",
                               (ROOT / name).read_text(encoding="utf-8")))
    assert used
    for lang in ("vi", "en"):
        missing = sorted(k for k in used if k not in catalogue(lang))
        assert missing == [], (lang, missing)


def test_vietnamese_messages_carry_diacritics() -> None:
    vi = {k: v for k, v in catalogue("vi").items() if k.startswith("reliability.")}
    plain = [k for k, v in vi.items() if re.search(r"[a-z]{3}", v) and v.isascii()]
    assert plain == []
