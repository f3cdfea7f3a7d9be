"""igate's field names are settings: the national names as the upstream spells them
(``field_names``) on every create, update and step, and back to ours on a look-up, so steps
left in doubt are still matched (docs/upstream.md, "igate")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine

from sync.server.migrate import upgrade
from sync.upstream.igate import IgateTransport
from sync.upstream.profiles import load_profile
from sync.upstream.transport import OK, Credentials
from tests.sync.upstream.double_fixtures import CODE, snapshot, step

MINTED = "000.17.22.H56-260105-000042"


class Upstream:
    """An iGate that answers from a script and keeps what it was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        body = orjson.loads(request.content)
        self.sent.append((path, body))
        if path == "/api/CreateDossier":
            return httpx.Response(200, json={"code": "0", "data": {"MaHoSo": MINTED}})
        if path == "/api/TraCuuHoSo":
            return httpx.Response(200, json={"code": "0", "data": {
                "MaHoSo": MINTED, "trichYeu": "x",
                "TienDo": [{"MaHoSo": MINTED, "thoiDiem": "20260105080000",
                            "TrangThai": "2", "NoiDungXuLy": "Tiếp nhận hồ sơ"}]}})
        return httpx.Response(200, json={"code": "0", "data": None})


def test_national_names_are_renamed_out_and_back(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/relay.sqlite3")
    upgrade(engine)
    upstream = Upstream()
    profile = load_profile("igate", "2023", {"field_names": {
        "TrichYeuHoSo": "trichYeu", "ThoiDiemXuLy": "thoiDiem"}})
    transport = IgateTransport(profile, Credentials("http://igate", "000.17.22.H56", "c", "s"),
                               httpx.Client(transport=httpx.MockTransport(upstream)),
                               engine=engine)
    assert transport.snapshots([snapshot()], False).kind == OK
    assert transport.steps([step()]).kind == OK
    (_, created), (_, steps) = upstream.sent
    assert "trichYeu" in created and "TrichYeuHoSo" not in created and "MaHoSo" not in created
    assert created["MaThamChieu"] == CODE
    (sent_step,) = steps["data"]
    assert sent_step["thoiDiem"] == "20260105080000" and "ThoiDiemXuLy" not in sent_step
    assert sent_step["MaHoSo"] == MINTED
    # A look-up's record comes back in our names: in-doubt steps are matched by them.
    (listed,) = transport.upstream_steps(CODE) or []
    assert listed["ThoiDiemXuLy"] == "20260105080000" and "thoiDiem" not in listed
    engine.dispose()
