"""A deliberately small stand-in of the DVCQG adapter for the forwarder's unit tests: a real
HTTP server on 127.0.0.1 that stores what it is sent and answers as scripted. The conformance
double (``ccdesk district double``, sync/upstream/double/) is what the end-to-end tests use."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Script:
    """What the fake answers: reject these codes, fail the next calls with 500, and so on."""

    password: str = "secret"
    reject_codes: set[str] = field(default_factory=set)        # snapshot rejected
    reject_step_codes: set[str] = field(default_factory=set)   # steps rejected
    fail_next: int = 0                                         # next N calls answer 500
    expire_next: int = 0                                       # next N calls: session expired
    forget_known: bool = False                                 # never answer "đã tồn tại"


class FakeUpstream:
    def __init__(self) -> None:
        self.script = Script()
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.creates: Counter[str] = Counter()
        self.updates: Counter[str] = Counter()
        self.steps: list[dict[str, Any]] = []
        self.logins = 0
        self.lock = threading.Lock()
        self.sessions: set[str] = set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                status, reply = fake.handle(self.path, body)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # serve_forever checks for shutdown() every poll_interval (0.5 s by default): each stop
        # would wait that long.
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       kwargs={"poll_interval": 0.02})
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def step_keys(self, code: str) -> list[tuple[str, str, str]]:
        return [(s["ThoiDiemXuLy"], s["TrangThai"], s["NoiDungXuLy"]) for s in self.steps
                if s["MaHoSo"] == code]

    def handle(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if path == "/auth":
                if body.get("password") != self.script.password:
                    return 200, {"error_code": "1", "message": "Sai mật khẩu"}
                self.logins += 1
                session = f"s{self.logins}"
                self.sessions.add(session)
                return 200, {"error_code": "0", "session": session}
            if self.script.fail_next:
                self.script.fail_next -= 1
                return 500, {"error_code": "500", "message": "lỗi máy chủ"}
            if self.script.expire_next or body.get("session") not in self.sessions:
                self.script.expire_next = max(0, self.script.expire_next - 1)
                self.sessions.discard(body.get("session"))
                return 200, {"error_code": "401", "message": "Phiên hết hạn"}
            service = body.get("service")
            if service == "DongBoHoSoMC":
                return 200, self._snapshots(body)
            if service == "CapNhatTienDoHoSoMC":
                data = body["data"]
                if any(s["MaHoSo"] in self.script.reject_step_codes for s in data):
                    return 200, {"error_code": "2", "message": "Tiến độ không hợp lệ"}
                self.steps.extend(data)
                return 200, {"error_code": "0", "message": "Cập nhật thành công"}
            if service == "TraCuuHoSo":
                return 200, {"error_code": "0", "result": self.snapshots.get(body["MaHoSo"])}
            return 200, {"error_code": "9", "message": "Dịch vụ không tồn tại"}

    def _snapshots(self, body: dict[str, Any]) -> dict[str, Any]:
        updating = body["isUpdating"] == "True"
        for item in body["data"]:
            code = item["MaHoSo"]
            if code in self.script.reject_codes:
                return {"error_code": "2", "message": f"Hồ sơ {code}: MaTTHC không hợp lệ"}
            if not updating and code in self.snapshots and not self.script.forget_known:
                return {"error_code": "-3", "message": f"Mã hồ sơ {code} đã tồn tại"}
            (self.updates if updating else self.creates)[code] += 1
            self.snapshots[code] = item
        return {"error_code": "0", "message": "Đồng bộ thành công"}
