"""The page ``ccdesk serve`` hands to browsers: its template and the desk's own font.

textual-serve's page loads "Roboto Mono" from the internet, which an offline office does not
have, and the fallback clips stacked Vietnamese tone marks ("Nguyễn" read as "Nguyên"). The
desk's page (``templates/app_index.html``) asks nothing of the internet: it declares JetBrains
Mono, whose cell is tall enough for the stacked marks, served by this server from the
``fontpkg-jetbrains-mono`` package (OFL-1.1, its licence installed with it), under the family
name textual.js asks for. The server that hands them out (textual-serve's, with the font's route
added) is wired in the composition root, ``ccdesk.app.serve_in_browser``.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
FONT_ROUTE = "/desk-static/fonts/desk-mono.ttf"


def font_file() -> Path:
    """The variable-weight JetBrains Mono installed with ``fontpkg-jetbrains-mono``."""
    import fontpkg_jetbrains_mono

    return fontpkg_jetbrains_mono.ROOT / "files" / "JetBrainsMono[wght].ttf"
