"""The relay as IT runs it: the real ``ccdesk district serve`` whose log must hold no citizen's
data whatever it is sent, an owner-only database file, and secrets kept out of ``ps``
(docs/relay-security.md)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest

from sync import protocol, service
from sync.server.store import DistrictStore, private_sqlite_file
from tests.sync.server.relay_kit import (
    ID_NUMBER,
    NAME,
    PHONE,
    Device,
    create,
    enrol,
    install_poison,
    raw_request,
)
from tests.sync.test_cli import free_port, run

PHONE_DIGITS = PHONE.replace(" ", "")


def _serve(tmp_path: Path, url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    db_file = tmp_path / "db-url"
    db_file.write_text(url + "\n")
    env = dict(os.environ, CCDESK_HOME=str(tmp_path / "home"), CCDESK_LOG_LEVEL="DEBUG",
               CCDESK_LANG="en")
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ccdesk.cli", "district", "serve",
                                 "--port", str(port), "--db-file", str(db_file),
                                 "--body-timeout", "1"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}{protocol.API_PREFIX}/hello", timeout=1)
            return proc
        except httpx.TransportError:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(log.read_text())


def _send_everything_bad(device: Device, port: int) -> None:
    people = {"applicant_name": NAME, "applicant_id_number": ID_NUMBER,
              "applicant_phone": PHONE}
    # Malformed batches: wrong shapes, invalid JSON, a bad gzip stream, each full of people.
    assert device.post("/batches", orjson.dumps({"batch_id": "m1", "records": people})
                       ).status_code == 400
    assert device.post("/batches", b'{"batch_id": "' + NAME.encode() + b'", ').status_code \
        == 400
    assert device.post("/batches", b"\x1f\x8b\x08\x00" + ID_NUMBER.encode(),
                       encoding="gzip").status_code == 400
    # Records refused one by one: a code made of a name, and one the database itself refuses.
    bad_code = create(1, f"{NAME} {ID_NUMBER}")
    poisoned = create(2, "POISON-1")
    answer = device.batch([bad_code, poisoned, dict(create(3, "OK-1"), seq=2**63)])
    assert [r["result"] for r in answer.json()["results"]] == ["rejected"] * 3
    assert answer.json()["results"][1]["code"] == "unstorable"
    # Oversized: 3 MiB of people, beyond the default 2 MiB.
    big = orjson.dumps({"batch_id": "big", "records": [people] * 40_000})
    assert len(big) > protocol.DEFAULT_MAX_BATCH_BYTES
    assert device.post("/batches", big).status_code == 413
    # Timed out: a body that stops half-way, then one whose client goes away.
    body = orjson.dumps({"batch_id": "slow", "records": [people]})
    signing = device.headers("POST", "/batches", body)
    head = (f"POST {protocol.API_PREFIX}/batches HTTP/1.1\r\nHost: relay\r\n"
            f"Content-Length: {len(body)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in signing.items()) + "\r\n").encode()
    assert b" 408 " in raw_request(port, head, body[: len(body) // 2], wait=10)[:20]
    signing = device.headers("POST", "/batches", body)
    head = head.split(b"\r\n" + protocol.H_DEVICE.encode())[0] + b"\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in signing.items()).encode() + b"\r\n"
    raw_request(port, head, body[: len(body) // 3], wait=0.2)   # hangs up mid-body


@pytest.mark.slow
def test_the_relays_log_holds_no_personal_data(district_url: str, tmp_path: Path) -> None:
    store = DistrictStore.open(district_url)
    port = free_port()
    device = enrol(store, f"http://127.0.0.1:{port}")
    install_poison(store)
    store.engine.dispose()
    log = tmp_path / "relay.log"
    proc = _serve(tmp_path, district_url, port, log)
    try:
        _send_everything_bad(device, port)
        time.sleep(1.5)   # the hung-up request's timeout, logged if at all
    finally:
        proc.terminate()
        proc.wait(20)
    text = log.read_text("utf-8", errors="replace")
    # The bad paths ran and were logged (the log is not simply empty)…
    assert "refused by the database" in text and "district_mutation" in text, text[-3000:]
    # …and nobody's name, ID number or phone is in it.
    for secret in (NAME, "Bích Ngọc", ID_NUMBER, PHONE, PHONE_DIGITS):
        assert secret not in text, secret
    assert "Traceback" not in text and "internal error" not in text


# ---- the district database file -----------------------------------------------------------------

def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_district_database_is_owner_only_and_only_new_folders_are_0700(
        tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    old = os.umask(0)
    try:
        store = DistrictStore.open(f"sqlite:///{shared}/new/deeper/district.sqlite3")
        enrol(store, "http://unused")
    finally:
        os.umask(old)
    db = shared / "new" / "deeper" / "district.sqlite3"
    files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
    assert {f.name: _mode(f) for f in files if f.exists()} == {
        f.name: 0o600 for f in files if f.exists()}
    assert Path(f"{db}-wal").exists()
    assert _mode(shared / "new") == 0o700 and _mode(shared / "new" / "deeper") == 0o700
    assert _mode(shared) == 0o755                      # a folder ccdesk did not create
    store.engine.dispose()


def test_an_existing_loose_district_file_is_tightened_but_nothing_else(tmp_path: Path) -> None:
    db = tmp_path / "district.sqlite3"
    DistrictStore.open(f"sqlite:///{db}").engine.dispose()
    db.chmod(0o644)
    tmp_path.chmod(0o755)
    DistrictStore.open(f"sqlite:///{db}").engine.dispose()
    assert _mode(db) == 0o600 and _mode(tmp_path) == 0o755
    fifo = tmp_path / "not-a-file"
    os.mkfifo(fifo, 0o644)
    os.chmod(fifo, 0o644)
    private_sqlite_file(fifo)
    assert _mode(fifo) == 0o644                         # never chmod what is not our file


# ---- secrets out of ps ----------------------------------------------------------------------

@pytest.mark.parametrize("district_url", ["sqlite"], indirect=True)
def test_enrolment_code_from_a_file_or_the_environment(server, desk, tmp_path: Path,  # noqa: ANN001
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    home = desk.root
    warned = run(home, "sync", "enroll", "--url", server.url, "--code", "WRONG-CODE")
    assert warned.returncode == 30 and "visible" in warned.stderr and "ps" in warned.stderr
    monkeypatch.setenv("CCDESK_ENROLL_CODE", "WRONG-CODE")
    quiet = run(home, "sync", "enroll", "--url", server.url)
    assert quiet.returncode == 30 and "visible" not in quiet.stderr
    monkeypatch.delenv("CCDESK_ENROLL_CODE")
    code_file = tmp_path / "code"
    code_file.write_text(server.store.issue_enroll_code("26734") + "\n")
    done = run(home, "sync", "enroll", "--url", server.url, "--code-file", str(code_file))
    assert done.returncode == 0, done.stderr
    assert "visible" not in done.stderr
    missing = run(home, "sync", "enroll", "--url", server.url,
                  "--code-file", str(tmp_path / "nope"))
    assert missing.returncode == 2 and str(tmp_path / "nope") in missing.stderr
    assert run(home, "sync", "enroll", "--url", server.url).returncode == 2


def test_a_database_password_belongs_in_a_file(tmp_path: Path) -> None:
    home = tmp_path / "district"
    url_file = tmp_path / "db-url"
    url_file.write_text(f"sqlite:///{tmp_path}/d.sqlite3\n")
    issued = run(home, "district", "enroll-code", "--commune", "26734",
                 "--db-file", str(url_file))
    assert issued.returncode == 0 and "visible" not in issued.stderr
    secret = "s3cret-Pa55"
    refused = run(home, "district", "stats", "--db",
                  f"postgresql+psycopg://relay:{secret}@127.0.0.1:1/none")
    assert refused.returncode == 2 and "visible" in refused.stderr
    assert secret not in refused.stderr + refused.stdout


# ---- district health ----------------------------------------------------------------------------

def test_district_health_shows_each_device_of_each_commune(server, tmp_path: Path) -> None:  # noqa: ANN001
    import csv
    import io
    from datetime import datetime, timedelta

    from sync.client import SyncClient
    from tests.sync.server.relay_kit import event

    store = server.store
    talking = enrol(store, server.url)
    silent = enrol(store, server.url, commune="26735")
    talking.batch([create(1, "HEALTH-1")])
    store.record_change("HEALTH-1", "status", "stopped")
    talking.batch([event(2, "HEALTH-1", "received", "in_progress")])    # a conflict
    ahead = timedelta(hours=1)   # then the desk, whose clock runs an hour fast, says hello
    client = SyncClient(server.url, talking.device_id, talking.pem,
                        clock=lambda: datetime.now() + ahead)
    try:
        client.hello({"pending": 7, "oldest_pending_s": 3600, "quarantined": 1, "conflicts": 2})
    finally:
        client.close()
    url = str(store.engine.url.render_as_string(hide_password=False))
    rows = orjson.loads(run(tmp_path, "district", "health", "--json", "--db", url).stdout)
    by_device = {r["device_id"]: r for r in rows}
    mine, theirs = by_device[talking.device_id], by_device[silent.device_id]
    assert (mine["commune"], theirs["commune"]) == ("26734", "26735")
    assert (mine["records_waiting"], mine["oldest_waiting_s"], mine["quarantined"],
            mine["conflicts"], mine["relay_conflicts"]) == (7, 3600, 1, 2, 1)
    assert abs(mine["clock_offset_s"] + 3600) < 30
    assert mine["app_version"].startswith("ccdesk-sync/1") and mine["received_through_seq"] == 2
    assert mine["last_contact_at"] and 0 <= mine["silent_s"] < 60
    assert theirs["last_contact_at"] is None and theirs["records_waiting"] is None
    table = list(csv.DictReader(io.StringIO(run(tmp_path, "district", "health", "--csv",
                                                "--db", url).stdout)))
    assert {r["device_id"] for r in table} == {talking.device_id, silent.device_id}
    text = run(tmp_path, "district", "health", "--db", url).stdout
    assert "never" in text and "26735" in text and "2 / 1" in text


@pytest.mark.parametrize("district_url", ["sqlite"], indirect=True)
def test_a_desk_reports_its_queue_to_the_relay_on_each_run(server, desk) -> None:  # noqa: ANN001
    from sync.engine import EngineOptions, SyncEngine

    desk.intake(3)
    service.enroll(desk.services, server.url, server.store.issue_enroll_code("26734"))
    assert SyncEngine(desk.services.ctx, options=EngineOptions(lock_wait=5)).push().exit_code == 0
    (row,) = server.store.health()
    # Counted at the hello, before this run sent them.
    assert (row["records_waiting"], row["quarantined"], row["conflicts"]) == (3, 0, 0)
    assert row["oldest_waiting_s"] is not None and row["received_through_seq"] == 3
    assert row["app_version"].endswith("ccdesk/" + __import__("ccdesk").__version__)


@pytest.mark.parametrize("district_url", ["sqlite"], indirect=True)
def test_district_issues_a_rekey_code_only_for_a_known_device_of_that_commune(
        server, tmp_path: Path) -> None:  # noqa: ANN001
    device = enrol(server.store, server.url)
    url = str(server.store.engine.url)
    home = tmp_path / "district"
    issued = run(home, "district", "enroll-code", "--commune", "26734", "--device",
                 device.device_id, "--db", url)
    assert issued.returncode == 0 and device.device_id in issued.stdout
    code = issued.stdout.split()[-1]
    assert len(code) == 14 and code.count("-") == 2
    unknown = run(home, "district", "enroll-code", "--commune", "26734", "--device", "nobody",
                  "--db", url)
    assert unknown.returncode == 2 and "nobody" in unknown.stderr
    other = run(home, "district", "enroll-code", "--commune", "26735", "--device",
                device.device_id, "--db", url, lang="vi")
    assert other.returncode == 2 and "xã khác" in other.stderr
