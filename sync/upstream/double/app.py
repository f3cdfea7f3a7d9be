"""The double's HTTP face (FastAPI): the DVCQG adapter profile (``POST /auth``, then every call
``POST /integration`` with the session in the body) or the province façade profile (a plain
JSON array to ``/hoso/tao``, ``/hoso/capnhat``, ``/hoso/tiendo``), and the inspection routes
``/_inspect/{MaHoSo}``, ``/_stats``, ``/_kpi``. docs/upstream-double.md is the contract."""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import socket
import struct
import time
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from sync.upstream.double.faults import FaultSpec
from sync.upstream.double.kpi import on_time_indicator
from sync.upstream.double.rules import Checker, Lookup, Violation
from sync.upstream.double.store import DoubleStore

if TYPE_CHECKING:
    from sync.upstream.double.igate import IgateDouble

log = logging.getLogger("ccdesk.double")

OK, AUTH_FAILED, REJECTED, EXISTS, SESSION, PARTIAL = "0", "1", "2", "3", "401", "99"
SNAPSHOTS, STEPS, LOOKUP = "DongBoHoSoMC", "CapNhatTienDoHoSoMC", "TraCuuHoSo"
# Online filings waiting for reception (status 1). No public source names the service a
# province uses to hand them down [?]: this name is the double's, configurable per profile.
FILINGS = "LayHoSoTrucTuyen"
PORTAL = "Portal"   # isUpdating recorded for a filing made on the portal (/_portal/filings)
# Known upstream services the double accepts without checking their content (counted in
# /_stats "calls"): the forwarder may send them, the double has no rules for them yet.
ACCEPTED_UNCHECKED = ("LayThuTuc", "LayDanhSachTTHC", "LayDanhMucLinhVuc")
STATUS_SYNC, RATING = "DongBoTrangThaiHoSo", "DongBoDanhGia"
MAX_SESSIONS = 10_000
TRANSPORT_KEY = "ccdesk.double.transport"


@dataclass
class DoubleConfig:
    unit_code: str
    username: str
    password: str
    profile: str = "dvcqg"
    session_lifetime_s: float = 1800.0
    verified_only: bool = False
    disabled_rules: frozenset[str] = frozenset()
    faults: FaultSpec = field(default_factory=FaultSpec)
    max_steps: int = 10
    max_body_bytes: int = 8 * 1024 * 1024
    auth_path: str = "/auth"
    integration_path: str = "/integration"
    facade_paths: dict[str, str] = field(default_factory=lambda: {
        "create": "/hoso/tao", "update": "/hoso/capnhat", "steps": "/hoso/tiendo"})
    # igate mode (sync/upstream/double/igate.py): its paths and the bound of one upload.
    igate_paths: dict[str, str] = field(default_factory=dict)
    max_file_bytes: int = 25 * 1024 * 1024


class BodyTooLarge(Exception):
    pass


class Double:
    """One double: its config, store, sessions and the handling of each service."""

    def __init__(self, config: DoubleConfig, store: DoubleStore) -> None:
        self.config, self.store = config, store
        self.faults = config.faults
        self.checker = Checker(config.unit_code, config.verified_only, config.max_steps,
                               config.disabled_rules)
        self.lookup = Lookup(store.status_of, store.last_step, store.stored_steps)
        self.sessions: dict[str, float] = {}

    # ---- sessions ----------------------------------------------------------------------------
    @property
    def lifetime(self) -> float:
        forced = self.faults.session_lifetime_s
        return self.config.session_lifetime_s if forced is None else forced

    def login(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            return {"error_code": AUTH_FAILED, "message": "Yêu cầu đăng nhập không hợp lệ"}
        user, password = body.get("username"), body.get("password")
        if not (isinstance(user, str) and isinstance(password, str)
                and hmac.compare_digest(user.encode(), self.config.username.encode())
                and hmac.compare_digest(password.encode(), self.config.password.encode())):
            return {"error_code": AUTH_FAILED, "message": "Sai tên đăng nhập hoặc mật khẩu"}
        now = time.monotonic()
        self.sessions = {k: v for k, v in self.sessions.items() if now - v < self.lifetime}
        while len(self.sessions) >= MAX_SESSIONS:
            self.sessions.pop(next(iter(self.sessions)))
        token = secrets.token_urlsafe(24)
        self.sessions[token] = now
        return {"error_code": OK, "message": "Đăng nhập thành công", "session": token}

    def session_ok(self, token: Any) -> bool:
        if not isinstance(token, str) or token not in self.sessions:
            return False
        if time.monotonic() - self.sessions[token] >= self.lifetime:
            del self.sessions[token]
            return False
        if self.faults.roll("session_expiry", self.faults.session_drop_p):
            self.store.count_fault("session_expiry")
            del self.sessions[token]
            return False
        return True

    # ---- one call (after the envelope) -------------------------------------------------------
    def call(self, service: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The reply to ``service`` and whether the whole call was stored: only then may
        reset_after_store fire, so that a reset always means "all of it is stored"."""
        self.store.count_call(service)
        if service in (SNAPSHOTS, STEPS) and self.faults.roll("reject"):
            # A business reject the sender cannot avoid: it must land in its dead-letter list.
            self.store.count_fault("reject")
            return self.reject(service, Violation("injected_reject", "data",
                                                  "fault injected by the double")), False
        try:
            if service == SNAPSHOTS:
                return self.snapshots(body)
            if service == STEPS:
                return self.steps(body)
            if service == STATUS_SYNC:
                self.checker.status_sync(body)
                return {"error_code": OK, "message": "Cập nhật trạng thái thành công"}, False
            if service == RATING:
                return self.rating(body)
        except Violation as exc:
            return self.reject(service, exc), False
        if service == LOOKUP:
            return self.look_up(body), False
        if service == FILINGS:
            return self.filings(body), False
        if service in ACCEPTED_UNCHECKED:
            return {"error_code": OK, "message": "Thành công (không kiểm tra)", "result": []}, False
        return self.reject(service, Violation("service", "service", "unknown service")), False

    def reject(self, service: str, exc: Violation) -> dict[str, Any]:
        self.store.count_reject(service, exc.rule)
        log.info("rejected %s: rule %s at %s", service, exc.rule, exc.where)
        return {"error_code": REJECTED, "message": f"Dữ liệu không hợp lệ {exc}",
                "rule": exc.rule, "where": exc.where}

    def snapshots(self, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        items = _data_list(body)
        self.checker.snapshots(body, items, self.lookup)
        updating = body.get("isUpdating") == "True"
        if self._partial(items):
            stored = items[:len(items) // 2]
            self.store.put_snapshots(stored, str(updating))
            return _partial_reply(items, len(stored)), False
        if not updating and self.faults.roll("exists"):
            self.store.count_fault("exists")
            self.store.put_snapshots(items, str(updating))
            return _exists_reply(items, {i["MaHoSo"] for i in items}), True
        existing = set() if updating else {i["MaHoSo"] for i in items
                                           if self.store.exists(i["MaHoSo"])}
        fresh = [i for i in items if i["MaHoSo"] not in existing]
        self.store.put_snapshots(fresh, str(updating))
        if existing:
            return _exists_reply(items, existing), False
        return {"error_code": OK, "message": "Đồng bộ hồ sơ thành công",
                "result": [_item(i["MaHoSo"], OK) for i in items]}, True

    def steps(self, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        items = _data_list(body)
        fingerprints = self.checker.steps(items, self.lookup)
        if self._partial(items):
            stored = items[:len(items) // 2]
            self.store.put_steps(stored, fingerprints)
            return _partial_reply(items, len(stored)), False
        duplicates = self.store.put_steps(items, fingerprints)
        if duplicates:
            log.warning("%d duplicate step(s) received: a client bug", duplicates)
        message = "Cập nhật tiến độ thành công"
        if duplicates:
            message += f"; {duplicates} bước trùng với bước đã nhận (lỗi phía gửi)"
        return {"error_code": OK, "message": message, "duplicates": str(duplicates),
                "result": [_item(i["MaHoSo"], OK) for i in items]}, True

    def rating(self, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """A unit's monthly aggregate: one per month; a second create of a month is "already
        exists" (send it as an update, ``isUpdating: "True"``)."""
        self.checker.rating(body)
        data = body["data"]
        items = data if isinstance(data, list) else [data]
        months = {str(i.get("NgayTongHop")) for i in items}
        if body.get("isUpdating") != "True" and months & self.store.rating_months():
            return {"error_code": EXISTS, "message": "Số liệu đánh giá của tháng đã tồn tại"}, \
                False
        self.store.put_rating(data)
        return {"error_code": OK, "message": "Đồng bộ đánh giá thành công"}, True

    def look_up(self, body: dict[str, Any]) -> dict[str, Any]:
        code = next((body[k] for k in ("MaHoSo", "maHoSo", "mahoso") if k in body), None)
        found = self.store.inspect(code) if isinstance(code, str) else None
        if found is None:
            return {"error_code": OK, "message": "Không tìm thấy hồ sơ", "result": None}
        return {"error_code": OK, "message": "Tìm thấy hồ sơ",
                "result": {**found["snapshot"],
                           "TienDo": [{k: v for k, v in s.items() if not k.startswith("_")}
                                      for s in found["steps"]]}}

    def filings(self, body: dict[str, Any]) -> dict[str, Any]:
        """Dossiers filed on the portal and not yet received (status 1), filed since
        ``TuNgay`` (yyyyMMddHHmmss, optional) by ``NgayNopHoSo``."""
        since = body.get("TuNgay", "")
        waiting = [s for s in self.store.latest_snapshots("1")
                   if not since or str(s.get("NgayNopHoSo", "")) >= str(since)]
        return {"error_code": OK, "message": f"{len(waiting)} hồ sơ", "result": waiting}

    def file_online(self, items: Any) -> dict[str, Any]:
        """A citizen files on the portal (rehearsal/test set-up): status 1, checked by the
        same rules as any snapshot, stored as version 1 of a new dossier."""
        try:
            if not isinstance(items, list) or not items:
                raise Violation("envelope", "body", "a non-empty list of snapshots expected")
            for i, item in enumerate(items):
                Checker.require_object(item, f"[{i}]")
                self.checker.snapshot(item, f"[{i}]")
                if item["TrangThaiHoSo"] != "1" or self.store.exists(item["MaHoSo"]):
                    raise Violation("portal_filing", f"[{i}]",
                                    "a new dossier with TrangThaiHoSo \"1\" expected")
        except Violation as exc:
            return self.reject("_portal/filings", exc)
        self.store.put_snapshots(items, PORTAL)
        return {"error_code": OK, "message": f"{len(items)} hồ sơ nộp trực tuyến",
                "result": [_item(i["MaHoSo"], OK) for i in items]}

    def withdraw_online(self, code: str) -> dict[str, Any]:
        """The citizen withdraws a filing still waiting (rehearsal/test set-up): status 7."""
        found = self.store.inspect(code)
        if found is None or found["snapshot"].get("TrangThaiHoSo") != "1":
            return self.reject("_portal/withdraw", Violation(
                "portal_withdraw", code, "a filing waiting for reception expected"))
        self.store.put_snapshots([{**found["snapshot"], "TrangThaiHoSo": "7"}], PORTAL)
        return {"error_code": OK, "message": "Đã rút hồ sơ", "result": [_item(code, OK)]}

    def _partial(self, items: list[Any]) -> bool:
        if len(items) >= 2 and self.faults.roll("partial"):
            self.store.count_fault("partial")
            return True
        return False


def _data_list(body: dict[str, Any]) -> list[Any]:
    data = body.get("data")
    if not isinstance(data, list) or not data:
        raise Violation("envelope", "data", "a non-empty list expected")
    return data


def _item(code: str, error_code: str, message: str = "") -> dict[str, str]:
    return {"MaHoSo": code, "error_code": error_code, "message": message}


def _exists_reply(items: list[dict[str, Any]], existing: set[str]) -> dict[str, Any]:
    return {"error_code": EXISTS,
            "message": f"Hồ sơ đã tồn tại trên hệ thống ({len(existing)} hồ sơ)",
            "result": [_item(i["MaHoSo"], EXISTS, "Hồ sơ đã tồn tại") if i["MaHoSo"] in existing
                       else _item(i["MaHoSo"], OK) for i in items]}


def _partial_reply(items: list[dict[str, Any]], stored: int) -> dict[str, Any]:
    return {"error_code": PARTIAL,
            "message": f"Lỗi hệ thống: chỉ xử lý được {stored}/{len(items)} phần tử",
            "result": [_item(i["MaHoSo"], OK) if n < stored
                       else _item(i["MaHoSo"], PARTIAL, "Lỗi hệ thống, chưa xử lý")
                       for n, i in enumerate(items)]}


# ---- HTTP ------------------------------------------------------------------------------------
async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _json(payload: dict[str, Any], status: int = 200,
          headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, headers=headers,
                    media_type="application/json")


def _reset(request: Request) -> Response:
    """Drop the connection with a TCP RST after the call was stored: the client cannot tell
    whether it was. In-process (no socket) the client sees a ConnectionResetError."""
    transport = request.scope.get(TRANSPORT_KEY)
    if transport is None:
        raise ConnectionResetError("fault reset_after_store")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()
    return Response(status_code=500)


class _ExposeTransport:
    """ASGI wrapper putting uvicorn's transport in the scope, for the reset fault."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            cycle = getattr(receive, "__self__", None)
            scope[TRANSPORT_KEY] = getattr(cycle, "transport", None)
        await self.app(scope, receive, send)


def create_app(config: DoubleConfig, store: DoubleStore) -> Any:
    """The ASGI app of one double (wrap with uvicorn, or call in-process with httpx)."""
    double = Double(config, store)
    faults = config.faults
    app = FastAPI(title="ccdesk upstream double", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.double = double

    async def before(request: Request, raw_body: bool = False) -> tuple[Any, Response | None]:
        """Read the bounded body and apply the faults that come before any processing
        (``raw_body``: the bytes, not parsed as JSON)."""
        try:
            raw = await _body(request, config.max_body_bytes)
        except BodyTooLarge:
            return None, _json({"error_code": REJECTED, "message": "Yêu cầu quá lớn"}, 413)
        delay = faults.latency()
        if delay:
            store.count_fault("latency")
            await asyncio.sleep(delay)
        if faults.roll("429"):
            store.count_fault("429")
            return None, _json({"error_code": "429", "message": "Quá nhiều yêu cầu"}, 429,
                               {"Retry-After": str(faults.retry_after_s)})
        if faults.roll("http500"):
            store.count_fault("http500")
            return None, _json({"error_code": "500", "message": "Lỗi máy chủ"}, 500)
        if raw_body:
            return raw, None
        try:
            return orjson.loads(raw), None
        except orjson.JSONDecodeError:
            store.count_reject("envelope", "envelope")
            return None, _json({"error_code": REJECTED, "message": "[envelope] body: not JSON",
                                "rule": "envelope", "where": "body"})

    def after(request: Request, reply: dict[str, Any], stored: bool) -> Response:
        if stored and faults.roll("reset_after_store"):
            store.count_fault("reset_after_store")
            return _reset(request)
        return _json(reply)

    igate: IgateDouble | None = None
    if config.profile == "dvcqg":
        @app.post(config.auth_path)
        async def auth(request: Request) -> Response:
            body, early = await before(request)
            return early or _json(double.login(body))

        @app.post(config.integration_path)
        async def integration(request: Request) -> Response:
            body, early = await before(request)
            if early:
                return early
            if not isinstance(body, dict):
                reply = double.reject("envelope", Violation("envelope", "body", "an object"))
                return _json(reply)
            if not double.session_ok(body.get("session")):
                return _json({"error_code": SESSION, "message": "Phiên làm việc hết hạn"})
            for key in ("madonvi", "service"):
                if not isinstance(body.get(key), str):
                    return _json(double.reject("envelope", Violation("envelope", key,
                                                                     "a string expected")))
            if body["madonvi"] != config.unit_code:
                return _json(double.reject(body["service"], Violation(
                    "madonvi", "madonvi", "not the unit this double serves")))
            reply, stored = double.call(body["service"], body)
            return after(request, reply, stored)
    elif config.profile == "igate":
        from sync.upstream.double.igate_routes import add_igate_routes

        igate = add_igate_routes(app, double, config, before, after, _json)
    else:
        routes = {"create": (SNAPSHOTS, "False"), "update": (SNAPSHOTS, "True"),
                  "steps": (STEPS, "")}
        for kind, path in config.facade_paths.items():
            service, updating = routes[kind]
            app.post(path)(_facade_route(double, before, after, service, updating))

    @app.get("/_inspect/{code}")
    async def inspect(code: str) -> Response:
        found = store.inspect(code) if igate is None else igate.inspect(code)
        if found is None:
            return _json({"error": "not_found", "MaHoSo": code}, 404)
        return _json(found)

    @app.post("/_portal/filings")
    async def file_online(request: Request) -> Response:
        try:
            raw = await _body(request, config.max_body_bytes)
            items = orjson.loads(raw)
        except BodyTooLarge:
            return _json({"error_code": REJECTED, "message": "Yêu cầu quá lớn"}, 413)
        except orjson.JSONDecodeError:
            items = None
        return _json(double.file_online(items))

    @app.post("/_portal/withdraw/{code}")
    async def withdraw_online(code: str) -> Response:
        return _json(double.withdraw_online(code))

    @app.get("/_ratings")
    async def ratings() -> Response:
        return _json({"ratings": store.ratings()})

    @app.post("/_reset")
    async def reset() -> Response:
        """Forget everything stored (rehearsals and benches start clean without a restart)."""
        store.clear()
        double.sessions.clear()
        if igate is not None:
            igate.store.clear()
            igate.tokens.clear()
        return _json({"reset": True})

    @app.get("/_stats")
    async def stats() -> Response:
        if igate is not None:
            return _json({**store.stats(), "igate": {**igate.store.stats(),
                                                     "tokens_issued": igate.issued}})
        return _json(store.stats())

    @app.get("/_kpi")
    async def kpi(request: Request) -> Response:
        try:
            start = date.fromisoformat(request.query_params.get("from", ""))
            end = date.fromisoformat(request.query_params.get("to", ""))
        except ValueError:
            return _json({"error": "from and to must be YYYY-MM-DD"}, 400)
        return _json(on_time_indicator(store.latest_snapshots(), start, end))

    return _ExposeTransport(app)


def _facade_route(double: Double, before: Any, after: Any, service: str, updating: str) -> Any:
    async def route(request: Request) -> Response:
        body, early = await before(request)
        if early:
            return early
        envelope: dict[str, Any] = {"data": body}
        if updating:
            envelope["isUpdating"] = updating
        reply, stored = double.call(service, envelope)
        return after(request, reply, stored)
    return route
