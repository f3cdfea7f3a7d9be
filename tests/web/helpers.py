"""The citizen's pages (ccdesk.web.kiosk) served by aiohttp in a thread, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
import socket
import threading

from aiohttp import web

TOKEN = re.compile(r'name="token" value="([^"]+)"')


class KioskThread:
    """``app`` served on a socket bound here on 127.0.0.1, in its own event loop."""

    def __init__(self, app: web.Application) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app, access_log=None)
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.runner.setup())
            self.loop.run_until_complete(web.SockSite(self.runner, self.sock).start())
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        if not started.wait(10):
            raise RuntimeError("kiosk did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.sock.close()


def token_in(html: str) -> str | None:
    found = TOKEN.search(html)
    return found.group(1) if found else None
