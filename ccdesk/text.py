"""Text normalisation shared by every entry point.

Vietnamese arrives both precomposed (NFC) and decomposed (NFD, e.g. from macOS or some IMEs);
decomposed text breaks cursor movement and equality, so everything is stored as NFC. Search uses a
*folded* key: NFD, combining marks dropped, đ→d (đ has no Unicode decomposition), casefolded.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_D_MAP = str.maketrans({"đ": "d", "Đ": "D"})


def nfc(value: str) -> str:
    """NFC-normalise, trim and collapse inner whitespace."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip()


def fold(value: str) -> str:
    """The accent-insensitive search key: "Đặng Thị Hoà" -> "dang thi hoa"."""
    decomposed = unicodedata.normalize("NFD", value.translate(_D_MAP))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()
