"""The page ``ccdesk serve`` hands to browsers: textual-serve with the desk's own font.

textual-serve's page loads "Roboto Mono" from the internet, which an offline office does not
have, and the fallback clips stacked Vietnamese tone marks ("Nguyễn" read as "Nguyên"). The
desk's page (``templates/app_index.html``) asks nothing of the internet: it declares JetBrains
Mono, whose cell is tall enough for the stacked marks, served by this server from the
``fontpkg-jetbrains-mono`` package (OFL-1.1, its licence installed with it), under the family
name textual.js asks for.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from textual_serve.server import Server

TEMPLATES = Path(__file__).resolve().parent / "templates"
FONT_ROUTE = "/desk-static/fonts/desk-mono.ttf"


def font_file() -> Path:
    """The variable-weight JetBrains Mono installed with ``fontpkg-jetbrains-mono``."""
    import fontpkg_jetbrains_mono

    return fontpkg_jetbrains_mono.ROOT / "files" / "JetBrainsMono[wght].ttf"


class DeskServer(Server):
    """textual-serve's server with the desk's page template and its local font."""

    def __init__(self, command: str, *, host: str, port: int, title: str) -> None:
        super().__init__(command, host=host, port=port, title=title, templates_path=TEMPLATES)

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.router.add_get(FONT_ROUTE, self.handle_font)
        return app

    async def handle_font(self, _request: web.Request) -> web.FileResponse:
        return web.FileResponse(font_file(), headers={"Content-Type": "font/ttf",
                                                      "Cache-Control": "max-age=86400"})
