"""Drive a real headless Chromium through the DevTools protocol: open a page, type, screenshot,
and list every URL the page asked for (``ccdesk serve`` must ask nothing of the internet)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--hide-scrollbars", "--window-size=1400,900"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    """One browser tab, spoken to over its DevTools websocket."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.ids = itertools.count(1)
        self.requested: list[str] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        await self.socket.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        async for message in self.socket:
            data = json.loads(message.data)
            if data.get("method") == "Network.requestWillBeSent":
                self.requested.append(data["params"]["request"]["url"])
            if data.get("id") == ident:
                return data.get("result", {})
        raise ConnectionError("the browser closed the page")

    async def wait(self, seconds: float) -> None:
        """Let the page run, still recording its requests."""
        deadline = time.monotonic() + seconds
        with contextlib.suppress(TimeoutError):
            while (left := deadline - time.monotonic()) > 0:
                message = await self.socket.receive(timeout=left)
                data = json.loads(message.data)
                if data.get("method") == "Network.requestWillBeSent":
                    self.requested.append(data["params"]["request"]["url"])

    async def type(self, text: str) -> None:
        await self.call("Input.insertText", text=text)

    async def key(self, key: str, code: int) -> None:
        for kind in ("rawKeyDown", "keyUp"):
            await self.call("Input.dispatchKeyEvent", type=kind, key=key, code=key,
                            windowsVirtualKeyCode=code)

    async def screenshot(self, path: Path) -> None:
        shot = await self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))

    async def evaluate(self, expression: str) -> Any:
        reply = await self.call("Runtime.evaluate", expression=expression, awaitPromise=True,
                                returnByValue=True)
        return reply.get("result", {}).get("value")


@contextlib.asynccontextmanager
async def open_page(url: str) -> AsyncIterator[Page]:
    """A fresh headless Chromium showing ``url`` (network requests recorded from the start)."""
    binary = chromium()
    assert binary, "chromium is not installed"
    profile = tempfile.mkdtemp(prefix="ccdesk-chromium-")
    process = subprocess.Popen([binary, *FLAGS, "--remote-debugging-port=0",
                                f"--user-data-dir={profile}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        for _ in range(200):
            if port_file.exists() and port_file.read_text().strip():
                break
            await asyncio.sleep(0.05)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as reply:
            target = next(t for t in json.load(reply) if t["type"] == "page")
        async with aiohttp.ClientSession() as session, session.ws_connect(
                target["webSocketDebuggerUrl"], max_msg_size=0) as socket:
            page = Page(socket)
            await page.call("Network.enable")
            await page.call("Page.enable")
            await page.call("Page.navigate", url=url)
            yield page
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)
