"""``ccdesk serve`` asks nothing of the internet and draws Vietnamese with its own font.

A real server on 127.0.0.1: its page may only point at itself (an office is often offline), and
the font it declares is served from the installed ``fontpkg-jetbrains-mono``. The browser test
opens the desk in a real headless Chromium, logs in, and records every request the page makes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccdesk.web import FONT_ROUTE, font_file
from tests.screens.browser import chromium, open_page
from tests.screens.test_serve import free_port, wait_for_port

# XML namespaces name a vocabulary; a browser never fetches them.
NAMESPACES = {"http://www.w3.org/2000/svg"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "CCDESK_HOME": str(tmp_path), "CCDESK_LANG": "vi"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ccdesk.cli", "serve", "--training", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def fetch(url: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.read(), reply.headers.get("Content-Type", "")


def test_the_page_points_only_at_its_own_server(served: str) -> None:
    page = fetch(served + "/")[0].decode()
    absolute = set(re.findall(r"""(?:https?|wss?)://[^\s"')<>]+""", page)) - NAMESPACES
    foreign = {url for url in absolute if not re.match(r"(?:https?|wss?)://127\.0\.0\.1:", url)}
    assert not foreign, f"the served page reaches outside: {sorted(foreign)}"
    assert "fonts.googleapis" not in page
    assert FONT_ROUTE in page  # the font it declares is this server's


def test_the_declared_font_is_served_from_the_package(served: str) -> None:
    data, kind = fetch(served + FONT_ROUTE)
    assert kind == "font/ttf"
    assert data == font_file().read_bytes()
    assert data[:4] == b"\x00\x01\x00\x00"  # a TrueType font, not an error page
    licence = font_file().parent.parent / "LICENSE"
    assert "SIL OPEN FONT LICENSE" in licence.read_text().upper()  # installed beside it


@pytest.mark.slow
@pytest.mark.skipif(chromium() is None, reason="needs chromium (apt-get install chromium)")
async def test_a_real_browser_draws_the_desk_with_the_local_font(served: str,
                                                                 tmp_path: Path) -> None:
    """Headless Chromium opens the desk, logs in as the trainee and shows the register: every
    request stays on 127.0.0.1 and the page's monospace family is the local font, loaded."""
    async with open_page(served + "/?fontsize=20") as page:
        await page.wait(10)
        await page.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
        await page.type("0000")
        await page.key("Enter", 13)
        await page.wait(5)
        await page.key("F4", 115)
        await page.wait(3)
        await page.screenshot(tmp_path / "register.png")
        loaded = await page.evaluate(
            "Array.from(document.fonts).filter(f => f.family.includes('Roboto Mono'))"
            ".map(f => f.status).join(',')")
        requested = list(page.requested)
    host = served.split("//", 1)[1]
    foreign = [url for url in requested
               if not url.split("//", 1)[-1].startswith(host) and not url.startswith("data:")
               and url != "about:blank"]
    assert not foreign, f"the browser fetched from outside: {foreign}"
    assert any(url.endswith(FONT_ROUTE) for url in requested)
    assert loaded == "loaded", loaded
    assert (tmp_path / "register.png").stat().st_size > 10_000
