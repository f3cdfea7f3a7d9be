"""A small asyncio HTTP/1.1 fault proxy between the desk and the district server (127.0.0.1).

It understands just enough HTTP (Content-Length framing, keep-alive) to inject faults per
request: ``reset`` (connection reset before the server sees the request), ``drop_reply`` (the
server commits, the reply is lost), ``500_before`` / ``500_after`` (commit), ``delay`` (longer
than the client's timeout), ``hold`` (reply held until released: the test kills the client),
``duplicate`` (the request is delivered twice), ``captive`` (a portal's 200 HTML page),
``status`` (any status and headers, e.g. 503 with Retry-After), and ``blackout`` (connections
dropped). A :class:`Link` shapes all traffic: bandwidth, round-trip time and segment loss (each
lost 1460-byte segment costs a retransmission after one RTT, like TCP fast retransmit).
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Link:
    bandwidth_bps: float = 0.0      # 0 = unlimited
    rtt_s: float = 0.0
    loss: float = 0.0
    seed: int = 1
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def delay(self, nbytes: int) -> float:
        seconds = self.rtt_s / 2
        if self.bandwidth_bps:
            seconds += nbytes * 8 / self.bandwidth_bps
        segments = max(1, -(-nbytes // 1460))
        lost = sum(1 for _ in range(segments) if self.rng.random() < self.loss)
        return seconds + lost * max(self.rtt_s, 0.2)


@dataclass
class Fault:
    kind: str
    match: str = ""                 # substring of the request line; "" = any request
    seconds: float = 0.0
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)


async def _read_message(reader: asyncio.StreamReader) -> bytes | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return head + body


def _response(status: int, body: bytes, content_type: str = "text/html",
              headers: dict[str, str] | None = None) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return (f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body


class FaultProxy:
    """Run in a thread with its own event loop; ``url`` is what the desk enrols against."""

    def __init__(self, upstream_port: int, link: Link | None = None) -> None:
        self.upstream_port = upstream_port
        self.link = link
        self.faults: list[Fault] = []
        self.seen: Counter[str] = Counter()
        self.bytes_up = 0
        self.bytes_down = 0
        self.forwarded = threading.Event()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._release: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, kind: str, match: str = "", **kw: object) -> None:
        with self._lock:
            self.faults.append(Fault(kind, match, **kw))

    def release(self) -> None:
        self._loop.call_soon_threadsafe(self._release.set)

    def _take(self, request_line: str) -> Fault | None:
        with self._lock:
            self.seen[request_line.split(" ")[1].split("?")[0]] += 1
            for i, fault in enumerate(self.faults):
                if fault.match in request_line:
                    return self.faults.pop(i)
        return None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._release = asyncio.Event()
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._server = server
        self._ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        async def _shutdown() -> None:
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()

        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(_shutdown(), self._loop)
            self._thread.join(5)

    async def _shape(self, nbytes: int) -> None:
        if self.link is not None:
            await asyncio.sleep(self.link.delay(nbytes))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader = up_writer = None
        try:
            while True:
                request = await _read_message(reader)
                if request is None:
                    return
                line = request.split(b"\r\n", 1)[0].decode()
                fault = self._take(line)
                kind = fault.kind if fault else ""
                if kind in ("reset", "blackout"):
                    writer.transport.abort()
                    return
                if kind == "captive":
                    writer.write(_response(200, b"<html><body>Welcome! Accept the terms "
                                                b"to browse.</body></html>"))
                    await writer.drain()
                    continue
                if kind in ("500_before", "status"):
                    writer.write(_response(fault.status, b'{"detail":"boom"}',
                                           "application/json", fault.headers))
                    await writer.drain()
                    continue
                await self._shape(len(request))
                self.bytes_up += len(request)
                # A fresh upstream connection per request: the link delay may exceed the
                # server's keep-alive timeout, which a real link would not cause.
                if up_writer is not None:
                    up_writer.close()
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1",
                                                                     self.upstream_port)
                up_writer.write(request)
                await up_writer.drain()
                if kind == "duplicate":
                    await self._deliver_twin(request)
                reply = await _read_message(up_reader)
                if reply is None:
                    writer.transport.abort()
                    return
                self.forwarded.set()
                if kind == "drop_reply":
                    writer.transport.abort()
                    return
                if kind == "500_after":
                    reply = _response(500, b"Internal Server Error", "text/plain")
                if kind == "delay":
                    await asyncio.sleep(fault.seconds)
                if kind == "hold":
                    await self._release.wait()
                await self._shape(len(reply))
                self.bytes_down += len(reply)
                writer.write(reply)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            # The proxy is stopping: end quietly (asyncio would log a cancelled connection
            # task as an error on the way out, noise in every soak and bench run).
            return
        finally:
            for w in (writer, up_writer):
                if w is not None:
                    w.close()

    async def _deliver_twin(self, request: bytes) -> None:
        """The network delivers the same request a second time, on another connection."""
        r, w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        w.write(request)
        await w.drain()
        await _read_message(r)
        w.close()
