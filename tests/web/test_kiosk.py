"""The citizen's rating page and the now-serving board on a real server on 127.0.0.1: only
the procedure's name and the numbers are shown, the one-time token is enforced, and bad or
oversized input is refused without writing anything."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import httpx
import pytest

from ccdesk.commands.serve import lan_host_error
from ccdesk.domain.lifecycle import Action
from ccdesk.services import Actor, Services
from ccdesk.web.kiosk import MAX_BODY, make_app
from tests.conftest import CITIZEN, run_ccdesk, submit_intake
from tests.web.helpers import KioskThread, token_in


@pytest.fixture
def kiosk(desk: Services) -> Iterator[KioskThread]:
    server = KioskThread(make_app(rating=desk.citizen_rating, queue=desk.queue))
    yield server
    server.stop()


@pytest.fixture
def client(kiosk: KioskThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=kiosk.url, timeout=10) as c:
        yield c


def returned(desk: Services, officer: Actor) -> str:
    code = submit_intake(desk, officer, "2.000884").dossier.code
    desk.dossiers.act(officer, code, Action.MARK_READY)
    desk.dossiers.act(officer, code, Action.RETURN_RESULT)
    return code


def ratings(desk: Services) -> list[tuple[str, str]]:
    with sqlite3.connect(desk.db.path) as db:
        return db.execute("SELECT level, source FROM rating").fetchall()


def personal_data(desk: Services) -> list[str]:
    with sqlite3.connect(desk.db.path) as db:
        rows = db.execute("SELECT applicant_name, applicant_id_number, applicant_phone, code "
                          "FROM dossier").fetchall()
    return [value for row in rows for value in row if value]


def test_waiting_page_has_no_form(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and token_in(page.text) is None
    assert 'http-equiv="refresh"' in page.text
    assert "script" not in page.headers["content-security-policy"].replace("'none'", "")
    assert page.headers["cache-control"] == "no-store"
    assert "server" not in page.headers


def test_rating_page_shows_only_the_procedure(desk: Services, officer: Actor,
                                              client: httpx.Client) -> None:
    code = returned(desk, officer)
    desk.citizen_rating.ask(officer, code, 60)
    page = client.get("/").text
    assert "Chứng thực chữ ký" in page
    for level in ("Rất hài lòng", "Hài lòng", "Không hài lòng", "Very satisfied"):
        assert level in page
    assert CITIZEN.full_name and CITIZEN.id_number
    for secret in personal_data(desk):  # name, ID number, phone, even the dossier code
        assert secret not in page
    assert "<script" not in page


def test_token_is_enforced_and_spent(desk: Services, officer: Actor,
                                     client: httpx.Client) -> None:
    first, second = returned(desk, officer), returned(desk, officer)
    desk.citizen_rating.ask(officer, first, 60)
    stale = token_in(client.get("/").text)
    desk.citizen_rating.ask(officer, second, 60)
    fresh = token_in(client.get("/").text)
    assert stale and fresh and stale != fresh
    assert client.post("/rate", data={"token": stale, "level": "satisfied"}).status_code == 409
    assert client.post("/rate", data={"token": "guess", "level": "satisfied"}).status_code == 409
    assert ratings(desk) == []
    assert client.post("/rate", data={"token": fresh, "level": "satisfied"}).status_code == 200
    assert client.post("/rate", data={"token": fresh, "level": "dissatisfied"}
                       ).status_code == 409
    assert ratings(desk) == [("satisfied", "citizen")]
    assert desk.dossiers.detail(first).rating is None


def test_bad_input_is_bounded(desk: Services, officer: Actor, client: httpx.Client) -> None:
    desk.citizen_rating.ask(officer, returned(desk, officer), 60)
    token = token_in(client.get("/").text)
    assert client.post("/rate", data={"token": token, "level": "rất"}).status_code == 400
    assert client.post("/rate", data={"token": "x" * 65, "level": "satisfied"}
                       ).status_code == 400
    assert client.post("/rate", data={"level": "satisfied"}).status_code == 400
    assert client.post("/rate", json={"token": token, "level": "satisfied"}).status_code == 415
    big = client.post("/rate", data={"token": token, "level": "satisfied",
                                     "pad": "x" * (MAX_BODY * 4)})
    assert big.status_code == 413
    assert client.get("/rate").status_code == 405
    assert client.get("/admin").status_code == 404
    assert ratings(desk) == []
    assert token_in(client.get("/").text) == token  # still open for the real answer


def test_board_shows_numbers_only(desk: Services, officer: Actor, client: httpx.Client) -> None:
    returned(desk, officer)
    empty = client.get("/board").text
    assert "Chưa có số thứ tự hôm nay" in empty
    group = desk.queue.groups()[0]
    for _ in range(3):
        desk.queue.issue(group)
    desk.queue.call_next(officer)
    page = client.get("/board")
    assert page.status_code == 200 and 'http-equiv="refresh"' in page.text
    assert "ĐANG PHỤC VỤ" in page.text and group in page.text
    assert '<td class="number">001</td>' in page.text and "2 người chờ" in page.text
    for secret in personal_data(desk):
        assert secret not in page.text
    assert client.post("/board", data={}).status_code == 405


@pytest.mark.parametrize(("host", "error"), [
    ("127.0.0.1", None), ("192.168.1.10", None), ("10.0.0.5", None), ("fe80::1", None),
    ("0.0.0.0", "rating.serve.host_wildcard"), ("::", "rating.serve.host_wildcard"),
    ("8.8.8.8", "rating.serve.host_public"), ("desk.local", "rating.serve.host_not_ip"),
])
def test_only_office_lan_addresses(host: str, error: str | None) -> None:
    assert lan_host_error(host) == error


def test_serve_refuses_every_interface(tmp_path) -> None:  # noqa: ANN001
    done = run_ccdesk("serve", "--rating", "--host", "0.0.0.0", home=tmp_path)
    assert done.returncode == 2
    assert "mọi giao diện mạng" in done.stderr


def test_the_command_serves_the_question(tmp_path) -> None:  # noqa: ANN001
    """``ccdesk serve --rating --board`` as IT starts it, on a desk the services set up."""
    import os
    import socket
    import subprocess
    import time

    from ccdesk.paths import Paths
    from tests.conftest import CCDESK, set_up_desk

    home = tmp_path / "home"
    where = Paths(data_dir=home / "data", config_dir=home / "config")
    desk = Services.open(where.default_db, where)
    set_up_desk(desk)
    officer = desk.officers.authenticate("lan", "1234")
    code = returned(desk, officer)
    desk.citizen_rating.ask(officer, code, 600)
    desk.close()
    where.config_file.parent.mkdir(parents=True, exist_ok=True)
    where.config_file.write_text("queue_tickets = true\n", encoding="utf-8")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCDESK_")}
    env |= {"CCDESK_HOME": str(home), "CCDESK_KEY_FILE": os.environ["CCDESK_KEY_FILE"]}
    server = subprocess.Popen([CCDESK, "serve", "--rating", "--board", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("the rating page never answered")
        assert token_in(page.text) and "Chứng thực chữ ký" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/board", timeout=5).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=20)
        assert server.stderr is not None
        assert f"http://127.0.0.1:{port}/board" in server.stderr.read()
