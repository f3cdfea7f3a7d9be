"""The relay against a hostile or careless world (docs/relay-security.md): enrolment that cannot
take over a device, district changes that never vanish under a racing desk event, codes and
numbers checked before SQL, one bad record never failing its batch, replayed requests refused."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta

import httpx
import orjson
import pytest
from sqlalchemy import select, text

from sync import keys, protocol, service
from sync.server.models import DistrictDevice, DistrictDossier
from sync.server.store import DistrictStore
from tests.sync.helpers import COMMUNE, ServerThread, make_desk
from tests.sync.server.relay_kit import Device, create, enrol, event, install_poison, results

OTHER_COMMUNE = "26735"


def _enroll(url: str, code: str, device_id: str, pem: str, commune: str = "") -> httpx.Response:
    body = {"code": code, "device_id": device_id, "public_key": keys.public_of(pem),
            "demo": False} | ({"commune": commune} if commune else {})
    return httpx.post(url + protocol.API_PREFIX + "/devices/enroll", content=orjson.dumps(body),
                      timeout=30)


def _device_row(store: DistrictStore, device_id: str) -> tuple[str, str]:
    table = DistrictDevice.__table__
    with store.engine.connect() as conn:
        return tuple(conn.execute(select(table.c.commune_code, table.c.public_key)
                                  .where(table.c.device_id == device_id)).one())


# ---- enrolment: no takeover, codes bound to their commune ------------------------------------

def test_an_unused_code_cannot_take_over_an_enrolled_device(server: ServerThread) -> None:
    store = server.store
    victim = enrol(store, server.url)
    before = _device_row(store, victim.device_id)
    thief = keys.new_private_key()
    for commune in (OTHER_COMMUNE, COMMUNE):   # a code of another commune, then of the same one
        code = store.issue_enroll_code(commune)
        refused = _enroll(server.url, code, victim.device_id, thief)
        assert refused.status_code == 403 and refused.json()["error"] == "device_exists"
        # The code was not spent: a new device may still use it.
        assert _enroll(server.url, code, str(uuid.uuid4()), keys.new_private_key()
                       ).status_code == 200
    assert _device_row(store, victim.device_id) == before
    assert victim.get("/hello").status_code == 200           # the real desk still signs in
    impostor = Device(server.url, victim.device_id, thief)
    assert impostor.get("/hello").json()["error"] == "bad_signature"


def test_a_code_is_refused_for_a_desk_of_another_commune_before_it_is_spent(
        server: ServerThread) -> None:
    code = server.store.issue_enroll_code(COMMUNE)
    pem, device_id = keys.new_private_key(), str(uuid.uuid4())
    wrong = _enroll(server.url, code, device_id, pem, commune=OTHER_COMMUNE)
    assert wrong.status_code == 403 and wrong.json()["error"] == "wrong_commune"
    right = _enroll(server.url, code, device_id, pem, commune=COMMUNE)
    assert right.status_code == 200 and right.json()["commune"] == COMMUNE


@pytest.mark.parametrize("district_url", ["sqlite"], indirect=True)
def test_a_desk_set_up_for_one_commune_refuses_a_code_for_another(tmp_path,  # noqa: ANN001
                                                                  server: ServerThread) -> None:
    desk = make_desk(tmp_path / "desk", commune=OTHER_COMMUNE)
    try:
        with pytest.raises(service.EnrollError) as err:
            service.enroll(desk.services, server.url, server.store.issue_enroll_code(COMMUNE))
        assert (err.value.code, err.value.exit_code) == ("wrong_commune", 30)
        assert not service.status(desk.services).enrolled
        assert server.store.stats() == []                  # no device, nothing on the server
        message, hint = service.explain("wrong_commune", "vi")
        assert "xã khác" in message and hint
    finally:
        desk.close()


def test_a_rekey_code_rebinds_only_its_own_device(server: ServerThread) -> None:
    store = server.store
    desk = enrol(store, server.url)
    other = enrol(store, server.url)
    code = store.issue_enroll_code(COMMUNE, rebind_device=desk.device_id)
    refused = _enroll(server.url, code, other.device_id, keys.new_private_key())
    assert refused.status_code == 403 and refused.json()["error"] == "device_exists"
    fresh = _enroll(server.url, code, str(uuid.uuid4()), keys.new_private_key())
    assert fresh.status_code == 403 and fresh.json()["error"] == "bad_code"
    new_pem = keys.new_private_key()
    assert _enroll(server.url, code, desk.device_id, new_pem).status_code == 200
    assert Device(server.url, desk.device_id, new_pem).get("/hello").status_code == 200
    assert desk.get("/hello").json()["error"] == "bad_signature"      # the old key is gone
    from sync.server.store import DistrictError

    with pytest.raises(DistrictError) as err:      # a re-key code never moves a device
        store.issue_enroll_code(OTHER_COMMUNE, rebind_device=desk.device_id)
    assert err.value.code == "wrong_commune"


# ---- lost updates: row locks make the optimistic check mean the same on both databases --------

def _admin(server: ServerThread) -> dict[str, str]:
    return {"Authorization": "Bearer " + server.store.new_admin_token()}


def _together(*jobs: object) -> list[object]:
    barrier = threading.Barrier(len(jobs))
    out: list[object] = [None] * len(jobs)

    def run(i: int, job: object) -> None:
        barrier.wait()
        out[i] = job()   # type: ignore[operator]

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return out


@pytest.mark.slow
def test_a_district_change_racing_a_desk_event_is_never_overwritten(
        server: ServerThread) -> None:
    desk = enrol(server.store, server.url)
    admin = _admin(server)
    races = 30   # on the old code, PostgreSQL lost more than half of them
    codes = [f"RACE-{i:04}" for i in range(races)]
    assert all(r["result"] == "applied"
               for r in results(desk.batch([create(i + 1, c) for i, c in enumerate(codes)])))
    outcomes = []
    for i, code in enumerate(codes):
        url = f"{server.url}/api/district/v1/dossiers/{code}/changes"
        reply, change = _together(
            lambda c=code, s=races + 1 + i: desk.batch([event(s, c, "received", "in_progress")]),
            lambda u=url: httpx.post(u, json={"kind": "status", "status": "stopped"},
                                     headers=admin, timeout=30))
        assert change.status_code == 200, change.text
        outcomes.append(results(reply)[0]["result"])
    table = DistrictDossier.__table__
    with server.store.engine.connect() as conn:
        final = dict(conn.execute(select(table.c.code, table.c.status)).all())
    # Either order is fine: event then change (applied, then stopped), or change then event
    # (a conflict). An event applied over the change would leave the dossier in progress.
    assert {final[c] for c in codes} == {"stopped"}, outcomes
    assert set(outcomes) <= {"applied", "conflict"}


@pytest.mark.slow
def test_events_racing_on_one_dossier_are_all_counted(server: ServerThread) -> None:
    first = enrol(server.store, server.url)
    second = enrol(server.store, server.url)
    assert results(first.batch([create(1, "COUNT-1")]))[0]["result"] == "applied"
    rounds = 20
    for n in range(rounds):
        _together(lambda s=2 + n: first.batch([event(s, "COUNT-1", "received", "received")]),
                  lambda s=2 + n: second.batch([event(s, "COUNT-1", "received", "received")]))
    with server.store.engine.connect() as conn:
        events = conn.execute(text("SELECT events FROM district_dossier WHERE code = 'COUNT-1'")
                              ).scalar_one()
    assert events == 1 + 2 * rounds


# ---- codes and numbers checked before SQL; per-record results; 4xx for malformed bodies -------

BAD_CODES = ["../../etc/passwd", "A" * 100_000, "<script>alert(1)</script>", "AB\x00CD",
             "", " 26734-1", "X/Y", "ĐÀ-1"]


def test_bad_dossier_codes_are_rejected_per_record(server: ServerThread) -> None:
    desk = enrol(server.store, server.url)
    records = [create(i + 1, code) for i, code in enumerate(BAD_CODES)]
    records.append(create(len(BAD_CODES) + 1, "000.17.22.H56-250101-0001"))
    out = results(desk.batch(records))
    assert [r["result"] for r in out] == ["rejected"] * len(BAD_CODES) + ["applied"]
    assert {r["code"] for r in out[:-1]} <= {"bad_code", "malformed"}
    assert [r["code"] for r in out[:3]] == ["bad_code"] * 3
    assert len(server.store.mutation_ids()) == 1
    admin = _admin(server)
    for code in ("..%2F..%2Fetc%2Fpasswd", "%3Cscript%3E", "A" * 5000):
        answer = httpx.post(f"{server.url}/api/district/v1/dossiers/{code}/changes",
                            json={"kind": "status", "status": "stopped"}, headers=admin)
        assert answer.status_code in (404, 414), answer.text


def test_out_of_range_numbers_and_nul_bytes_get_per_record_results(
        server: ServerThread) -> None:
    desk = enrol(server.store, server.url)
    good = create(3, "NUM-1")
    good["payload"]["dossier"]["note"] = "nul \x00 inside a payload string is data"
    records = [
        create(2**63, "NUM-2"),                                   # beyond BIGINT
        create(2**64 - 1, "NUM-3"),
        dict(create(1, "NUM-4"), id="id-with-\x00-nul"),
        good,
    ]
    out = results(desk.batch(records))
    assert [r["result"] for r in out] == ["rejected", "rejected", "rejected", "applied"]
    assert server.store.mutation_ids() == [good["id"]]
    assert desk.get(f"/changes?cursor={2**70}").status_code == 400
    assert desk.get(f"/issued-codes?after_seq={2**63}").status_code == 400
    assert desk.get("/changes?cursor=-1").status_code == 400


@pytest.mark.parametrize(("encoding", "body"), [
    ("gzip", b"\x1f\x8b\x08\x00not gzip at all"),
    ("zstd", b"\x28\xb5\x2f\xfdnot zstd"),
    ("identity", b'{"batch_id": "b", "records": [{"seq": 1' + b"9" * 30 + b"}]}"),
    ("identity", b"\xff\xfe not json"),
    ("identity", orjson.dumps({"batch_id": "bad\x00id", "records": []})),
    ("br", b"{}"),
])
def test_malformed_bodies_get_a_4xx_in_the_protocols_form(server: ServerThread, encoding: str,
                                                          body: bytes) -> None:
    desk = enrol(server.store, server.url)
    answer = desk.post("/batches", body, encoding=encoding)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["service"] == protocol.SERVICE_NAME and answer.json()["error"]
    assert server.store.mutation_ids() == []


def test_a_record_the_database_refuses_fails_alone(server: ServerThread) -> None:
    desk = enrol(server.store, server.url)
    install_poison(server.store)
    records = [create(1, "KEEP-1"), create(2, "POISON-1"), create(3, "KEEP-2"),
               event(4, "KEEP-1", "received", "in_progress")]
    out = results(desk.batch(records))
    assert [r["result"] for r in out] == ["applied", "rejected", "applied", "applied"]
    assert out[1]["code"] == "unstorable"
    assert sorted(server.store.mutation_ids()) == sorted(
        r["id"] for r in records if r["entity_id"] != "POISON-1")
    table = DistrictDossier.__table__
    with server.store.engine.connect() as conn:
        rows = dict(conn.execute(select(table.c.code, table.c.status)).all())
    assert rows == {"KEEP-1": "in_progress", "KEEP-2": "received"}
    # The same batch again replays the stored reply; the refused record may be sent again.
    assert results(desk.batch(records[:1], batch_id="again"))[0]["result"] == "duplicate"


# ---- replay window -----------------------------------------------------------------------------

def test_a_signed_request_cannot_be_replayed(server: ServerThread) -> None:
    desk = enrol(server.store, server.url)
    headers = desk.headers("GET", "/changes?cursor=0")
    url = server.url + protocol.API_PREFIX + "/changes?cursor=0"
    assert httpx.get(url, headers=headers).status_code == 200
    again = httpx.get(url, headers=headers)
    assert again.status_code == 409 and again.json()["error"] == "replayed"
    # A fresh nonce without a fresh signature is not the device.
    forged = dict(headers, **{protocol.H_NONCE: "n" * 22})
    assert httpx.get(url, headers=forged).json()["error"] == "bad_signature"


@pytest.mark.parametrize("district_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("minutes", [-10, 10])
def test_a_request_outside_the_window_is_refused_with_the_servers_time(
        server: ServerThread, minutes: int) -> None:
    desk = enrol(server.store, server.url)
    stale = desk.headers("GET", "/hello", now=datetime.now() + timedelta(minutes=minutes))
    answer = httpx.get(server.url + protocol.API_PREFIX + "/hello", headers=stale)
    assert answer.status_code == 401 and answer.json()["error"] == "clock_skew"
    server_time = datetime.fromisoformat(answer.json()["server_time"])
    assert abs((server_time.replace(tzinfo=None) - datetime.utcnow()).total_seconds()) < 60


@pytest.mark.parametrize("district_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("years", [10, -10])
def test_a_desk_whose_clock_is_years_off_still_signs_in(server: ServerThread,
                                                        years: int) -> None:
    from sync.client import SyncClient

    desk = enrol(server.store, server.url)
    shift = timedelta(days=365 * years)
    client = SyncClient(server.url, desk.device_id, desk.pem,
                        clock=lambda: datetime.now() + shift)
    try:
        assert client.hello().data["device"]["device_id"] == desk.device_id
        assert abs((client.clock_offset + shift).total_seconds()) < 60
        assert client.changes(0).http_status == 200          # the offset is kept for the run
    finally:
        client.close()


def test_docs_are_not_served_unless_asked(server: ServerThread) -> None:
    for path in ("/docs", "/openapi.json", "/redoc"):
        assert httpx.get(server.url + path).status_code == 404


def test_the_desk_side_of_bundles_never_imports_the_server() -> None:
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, sync.bundle\nprint(sorted(m for m in sys.modules if 'server' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[3]).stdout
    assert "sync.server" not in out, out


@pytest.mark.parametrize("district_url", ["sqlite"], indirect=True)
def test_an_unexpected_error_is_a_quiet_500(server: ServerThread, monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture) -> None:
    from tests.sync.server.relay_kit import ID_NUMBER, NAME

    desk = enrol(server.store, server.url)

    def broken(*_args: object) -> None:
        raise RuntimeError(f"row for {NAME}, {ID_NUMBER} could not be read")

    monkeypatch.setattr(server.store, "hello", broken)
    with caplog.at_level("ERROR", logger="ccdesk.relay"):
        answer = desk.get("/hello")
    assert answer.status_code == 500
    assert answer.json() == {"service": protocol.SERVICE_NAME, "error": "internal",
                             "message": "internal error"}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "RuntimeError" in logged and NAME not in logged and ID_NUMBER not in logged
    assert not any(r.exc_info for r in caplog.records)
