from __future__ import annotations

import unicodedata

import pytest

from ccdesk.i18n import LANGUAGES, catalogue, fmt_money, fmt_size, t
from ccdesk.text import fold, nfc


@pytest.mark.parametrize(("raw", "folded"), [
    ("Đặng Thị Hoà", "dang thi hoa"),
    ("ĐỖ ĐỨC", "do duc"),
    ("Nguyễn   Văn\tA", "nguyen van a"),
    ("Hòa", "hoa"),
])
def test_fold_drops_marks_maps_d_and_casefolds(raw: str, folded: str) -> None:
    assert fold(raw) == folded
    assert fold(unicodedata.normalize("NFD", raw)) == folded


def test_nfc_recomposes_decomposed_input_and_trims() -> None:
    decomposed = unicodedata.normalize("NFD", "  Nguyễn  Thị ")
    assert decomposed != "Nguyễn Thị"
    assert nfc(decomposed) == "Nguyễn Thị"


def test_both_languages_have_the_same_keys() -> None:
    vi, en = catalogue("vi"), catalogue("en")
    assert set(vi) == set(en), sorted(set(vi) ^ set(en))
    assert all(value.strip() for value in vi.values())


def test_translation_formats_and_falls_back_visibly() -> None:
    assert t("core.err.too_long", lang="en", limit=5, length=9).startswith("is 9 characters")
    assert "5" in t("core.err.too_long", lang="vi", limit=5, length=9)
    assert t("no.such.key") == "no.such.key"
    assert set(LANGUAGES) == {"vi", "en"}


def test_money_uses_vietnamese_separators() -> None:
    assert fmt_money(1234567) == "1.234.567 đ"
    assert fmt_money(0) == "0 đ"


def test_file_sizes_read_as_at_the_desk() -> None:
    assert fmt_size(2_097_152) == "2,1 MB"
    assert fmt_size(1_000_000) == "1,0 MB"
    assert fmt_size(5300) == "5 kB"
    assert fmt_size(12) == "1 kB"  # never "0 kB" for a file that has bytes
