"""The forwarder's light HTTP client (sync/upstream/http_client.py) against a real HTTP/1.1
server on 127.0.0.1: one kept-alive connection, a connection the server closed is replaced
before a request goes out on it, failures sorted as the transport expects (nothing sent:
connect errors; maybe sent: the others), the reply bounded, Basic auth."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from sync.upstream.http_client import LightClient, make_client
from sync.upstream.transport import MAX_REPLY_BYTES


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def do_POST(self) -> None:   # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append((self.path, self.headers.get("Authorization"), body))
        mode = self.path.strip("/")
        if mode == "slow":
            time.sleep(1.0)
        if mode == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            return
        reply = b"x" * 5000 if mode == "big" else b'{"error_code": "0"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        if mode == "bye":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *_args: object) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[tuple[str, str | None, bytes]] = []
        self.connections = 0

    def process_request(self, request: socket.socket, client_address: object) -> None:
        self.connections += 1
        super().process_request(request, client_address)   # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def url(srv: Server, path: str) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}/{path}"


def test_calls_share_one_connection_and_count_their_bytes(server: Server) -> None:
    client = LightClient(5.0, MAX_REPLY_BYTES)
    for n in range(3):
        reply = client.post(url(server, "ok"), content=b'{"n": %d}' % n,
                            headers={"Content-Type": "application/json"}, auth=("u", "p:w"))
        assert (reply.status_code, reply.content) == (200, b'{"error_code": "0"}')
        assert reply.headers.get("content-type") == "application/json"
    client.close()
    assert server.connections == 1
    assert [s[2] for s in server.seen] == [b'{"n": 0}', b'{"n": 1}', b'{"n": 2}']
    assert server.seen[0][1] == "Basic dTpwOnc="          # base64 of "u:p:w"
    assert (client.sent, client.received) == (24, 3 * 19)


def test_a_connection_the_server_closed_is_replaced_before_sending(server: Server) -> None:
    client = LightClient(5.0, MAX_REPLY_BYTES)
    assert client.post(url(server, "bye"), content=b"{}").status_code == 200
    time.sleep(0.2)   # the server has closed its end
    assert client.post(url(server, "ok"), content=b"{}").status_code == 200
    assert server.connections == 2
    client.close()


def test_nothing_listening_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(httpx.ConnectError):
        LightClient(2.0, MAX_REPLY_BYTES).post(f"http://127.0.0.1:{port}/x", content=b"{}")


def test_a_reset_after_the_request_left_is_in_doubt(server: Server) -> None:
    client = LightClient(5.0, MAX_REPLY_BYTES)
    with pytest.raises(httpx.HTTPError) as caught:
        client.post(url(server, "reset"), content=b"{}")
    # Not one of the "never left" kinds the transport turns into Down.
    assert not isinstance(caught.value, httpx.ConnectError | httpx.ConnectTimeout)
    assert server.seen[-1][0] == "/reset"
    assert client.post(url(server, "ok"), content=b"{}").status_code == 200   # a new one


def test_a_slow_reply_is_a_read_timeout(server: Server) -> None:
    with pytest.raises(httpx.ReadTimeout):
        LightClient(0.2, MAX_REPLY_BYTES).post(url(server, "slow"), content=b"{}")


def test_a_reply_is_read_no_further_than_its_bound(server: Server) -> None:
    client = LightClient(5.0, 1000)
    reply = client.post(url(server, "big"), content=b"{}")
    assert len(reply.content) == 1001                 # the bound + 1: "too long" to the caller
    assert client.post(url(server, "ok"), content=b"{}").status_code == 200
    assert server.connections == 2                    # the cut one was not reused


def test_a_proxy_in_the_environment_keeps_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                 "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(make_client("https://upstream.example", 5.0, 10), httpx.Client)
    assert isinstance(make_client("http://127.0.0.1:9", 5.0, 10), LightClient)
