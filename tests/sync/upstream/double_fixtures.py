"""The upstream double for tests: in-process (httpx over ASGI) or a real uvicorn on 127.0.0.1,
plus valid DVCQG elements to start from. The forwarder's tests may import these too."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from sync.server.store import DistrictStore
from sync.upstream.config import save_config
from sync.upstream.double.app import DoubleConfig, create_app
from sync.upstream.double.faults import parse_faults
from sync.upstream.double.store import DoubleStore
from tests.sync.helpers import AppThread, Desk, ServerThread
from tests.sync.upstream.conftest import enrolled_desk

UNIT = "000.17.22.H56"
USER, PASSWORD = "xa-test", "mat-khau-thu"
CODE = f"{UNIT}-260105-0001"


def config(faults: str | None = None, **options: Any) -> DoubleConfig:
    return DoubleConfig(unit_code=UNIT, username=USER, password=PASSWORD,
                        faults=parse_faults(faults), **options)


class DoubleServer(AppThread):
    """The double over its own store, served by :class:`AppThread` on 127.0.0.1."""

    def __init__(self, db: Path, cfg: DoubleConfig | None = None) -> None:
        self.store = DoubleStore(db)
        super().__init__(create_app(cfg or config(), self.store))

    def stop(self) -> None:
        super().stop()
        self.store.close()


@contextmanager
def running_chain(tmp_path: Path, relay_url: str, cfg: DoubleConfig, *, profile: str,
                  **store_options: Any,
                  ) -> Iterator[tuple[Desk, ServerThread, DoubleServer, DistrictStore]]:
    """A desk enrolled at a relay whose forwarder is set up for the double in ``profile``
    (the igate client id goes where the other profiles keep the user name, the secret as the
    password), all running on 127.0.0.1; stopped afterwards."""
    store = DistrictStore.open(relay_url, **store_options)
    relay = ServerThread(store)
    double = DoubleServer(tmp_path / "double.sqlite3", cfg)
    desk = enrolled_desk(tmp_path / "desk", relay)
    save_config(store.engine, profile=profile, url=double.url, unit_code=UNIT, username=USER,
                password=PASSWORD, accept_demo=False)
    try:
        yield desk, relay, double, store
    finally:
        desk.close()
        double.stop()
        relay.stop()
        store.engine.dispose()


class Client:
    """A synchronous client of an in-process double (no sockets)."""

    def __init__(self, db: Path, cfg: DoubleConfig | None = None) -> None:
        self.store = DoubleStore(db)
        self.app = create_app(cfg or config(), self.store)
        self.http = _asgi_client(self.app)
        self.session = ""

    def login(self, attempts: int = 1) -> str:
        """Log in; with ``attempts`` > 1, through injected 5xx/429 faults."""
        for _ in range(attempts - 1):
            response = self.http.post("/auth", json={"username": USER, "password": PASSWORD})
            if response.status_code == 200:
                break
        else:
            response = self.http.post("/auth", json={"username": USER, "password": PASSWORD})
        reply = response.json()
        assert reply["error_code"] == "0", reply
        self.session = reply["session"]
        return self.session

    def call(self, service: str, **body: Any) -> dict[str, Any]:
        envelope = {"session": self.session, "madonvi": UNIT, "service": service, **body}
        response = self.http.post("/integration", json=envelope)
        assert response.status_code == 200, response.text
        return response.json()

    def create(self, *items: dict[str, Any]) -> dict[str, Any]:
        return self.call("DongBoHoSoMC", isUpdating="False", data=list(items))

    def update(self, *items: dict[str, Any]) -> dict[str, Any]:
        return self.call("DongBoHoSoMC", isUpdating="True", data=list(items))

    def steps(self, *items: dict[str, Any]) -> dict[str, Any]:
        return self.call("CapNhatTienDoHoSoMC", data=list(items))

    def stats(self) -> dict[str, Any]:
        return self.http.get("/_stats").json()


def _asgi_client(app: Any) -> Any:
    """httpx has no synchronous ASGI transport: run the async one on a private loop."""
    import asyncio

    class SyncASGI(httpx.BaseTransport):
        def __init__(self) -> None:
            self.loop = asyncio.new_event_loop()
            self.inner = httpx.ASGITransport(app=app)

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            async def go() -> httpx.Response:
                response = await self.inner.handle_async_request(request)
                body = await response.aread()
                return httpx.Response(response.status_code, headers=response.headers,
                                      content=body)
            request.read()
            return self.loop.run_until_complete(go())

    return httpx.Client(transport=SyncASGI(), base_url="http://double")


def snapshot(code: str = CODE, **fields: str) -> dict[str, Any]:
    """A valid DongBoHoSoMC element (every scalar a string)."""
    return {"MaHoSo": code, "MaTTHC": "1.001193", "TenTTHC": "Đăng ký khai sinh",
            "MaLinhVuc": "HT", "TenLinhVuc": "Hộ tịch", "ChuHoSo": "Trần Thị Bích Ngọc",
            "LoaiDoiTuong": "1", "TrichYeuHoSo": "Đăng ký khai sinh cho con",
            "NgayTiepNhan": "20260105080000", "NgayHenTra": "20260107170000",
            "TrangThaiHoSo": "2", "DonViXuLy": "UBND xã", "HinhThuc": "0",
            "KenhThucHien": "1", **fields}


def step(code: str = CODE, **fields: str) -> dict[str, Any]:
    """A valid CapNhatTienDoHoSoMC element."""
    return {"MaHoSo": code, "NguoiXuLy": "Cán bộ một cửa", "ChucDanh": "Công chức",
            "ThoiDiemXuLy": "20260105080000", "PhongBanXuLy": "Bộ phận một cửa",
            "NoiDungXuLy": "Tiếp nhận hồ sơ", "TrangThai": "2", **fields}
