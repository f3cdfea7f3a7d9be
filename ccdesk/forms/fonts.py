"""The serif the forms print in: Noto Serif from the ``fontpkg-noto-serif`` package.

The package ships variable fonts (weight and width axes). fpdf2 can instance them itself, but that
costs about two seconds per style on every document; so each style is cut down to the characters
Vietnamese forms use, instanced once (well under a second) and kept as a static TTF in a cache
folder. The cache file
name carries a digest of the source font, the axes, the character set and the fontTools version,
so an upgrade of any of them builds a new file instead of reusing a stale one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

FAMILY = "NotoSerif"

# Basic Latin, Latin-1, Latin Extended-A/B (Đ, ơ, ư), combining marks, Latin Extended Additional
# (the precomposed Vietnamese letters ạ…ỹ), general punctuation (– — “ ” …), ₫ and №.
_RANGES = ((0x20, 0x24F), (0x300, 0x36F), (0x1EA0, 0x1EFF), (0x2000, 0x206F),
           (0x20AB, 0x20AB), (0x2116, 0x2116), (0x2212, 0x2212))


@dataclass(frozen=True)
class FontFiles:
    """Static TTF files for the three styles the forms use."""

    regular: Path
    bold: Path
    italic: Path

    def styles(self) -> dict[str, Path]:
        """fpdf2 style letter -> file."""
        return {"": self.regular, "B": self.bold, "I": self.italic}


@dataclass(frozen=True)
class _Style:
    name: str
    source: str
    weight: int


_STYLES = (_Style("regular", "NotoSerif[wdth,wght].ttf", 400),
           _Style("bold", "NotoSerif[wdth,wght].ttf", 700),
           _Style("italic", "NotoSerif-Italic[wdth,wght].ttf", 400))

# Bump when _instance changes, so caches built by an older recipe are not reused.
_RECIPE = 3

_lock = threading.Lock()
_memo: dict[Path, FontFiles] = {}


def source_dir() -> Path:
    """Where the installed font package keeps its TTF files."""
    from importlib.resources import files

    return Path(str(files("fontpkg_noto_serif") / "files"))


def font_files(cache_dir: Path) -> FontFiles:
    """The static fonts, built into ``cache_dir`` the first time (a few seconds), then reused."""
    cache_dir = cache_dir.resolve()
    with _lock:
        found = _memo.get(cache_dir)
        if found is None:
            try:
                built = {style.name: _ensure(style, cache_dir) for style in _STYLES}
            except OSError:
                # A read-only or full data folder must not stop printing: build in the
                # user's temporary folder instead (rebuilt after a reboot at worst).
                fallback = Path(tempfile.gettempdir()) / f"ccdesk-fonts-{os.getuid()}"
                built = {style.name: _ensure(style, fallback) for style in _STYLES}
            found = _memo[cache_dir] = FontFiles(**built)
        return found


def _ensure(style: _Style, cache_dir: Path) -> Path:
    import fontTools

    source = source_dir() / style.source
    digest = hashlib.sha256()
    digest.update(source.read_bytes())
    digest.update(f"{_RECIPE}|{style.weight}|{_RANGES}|{fontTools.version}".encode())
    target = cache_dir / f"{FAMILY}-{style.name}-{digest.hexdigest()[:16]}.ttf"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    font = _instance(source, style.weight)
    # Write beside the target and rename: a second process building at the same time never
    # reads half a file.
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".part")
    os.close(fd)
    try:
        font.save(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _instance(source: Path, weight: int):  # noqa: ANN202 - fontTools TTFont
    from fontTools import subset, ttLib
    from fontTools.varLib import instancer

    font = ttLib.TTFont(source, recalcTimestamp=False)
    options = subset.Options()
    # fpdf2 drops the OpenType layout tables when it embeds a font (the forms need no shaping:
    # NFC Vietnamese uses precomposed letters), so they are not kept here either; smaller
    # fonts load faster on every document.
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "STAT"]
    options.layout_features = []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[c for low, high in _RANGES for c in range(low, high + 1)])
    # Cut the character set first: instancing a few hundred glyphs without layout tables
    # takes a tenth of a second instead of two.
    subsetter.subset(font)
    instancer.instantiateVariableFont(font, {"wght": weight, "wdth": 100}, inplace=True,
                                      static=True)
    return font
