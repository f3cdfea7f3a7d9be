"""``ccdesk district serve --workers 2`` as a real child process on 127.0.0.1, on SQLite and on
PostgreSQL: what one process used to guarantee must hold whichever worker takes a request
(docs/operations.md, "Worker processes"). The kernel hands each new connection to one of the
workers, so every check below sends many requests on fresh connections."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pytest

from sync import keys, protocol, service
from sync.engine import EngineOptions, SyncEngine
from sync.server.store import DistrictStore
from tests.sync.helpers import COMMUNE, Desk, PgSchema, assert_invariants, make_desk, pg_url
from tests.sync.relay_process import RelayProcess
from tests.sync.server.relay_kit import (
    ID_NUMBER,
    NAME,
    PHONE,
    Device,
    create,
    enrol,
    event,
    results,
)

pytestmark = pytest.mark.slow
WORKERS = 2
TRIES = 12       # requests on fresh connections: both workers take some of them
PUSH = EngineOptions(max_attempts=5, lock_wait=30)


class Relay:
    def __init__(self, process: RelayProcess, store: DistrictStore) -> None:
        self.process, self.store = process, store

    @property
    def url(self) -> str:
        return self.process.url


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql",
                                                                marks=pytest.mark.pg)])
def relay(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Relay]:
    home = tmp_path_factory.mktemp("relay-workers")
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{home}/relay.sqlite3"
    else:
        base = pg_url()
        if base is None:
            pytest.skip("PostgreSQL not reachable at CCDESK_TEST_PG_URL or 127.0.0.1:5432/test")
        schema = PgSchema(base)
        schema.create()
        url = schema.url
    # DEBUG: the workers log their SQL, so the redaction test sees what they would leak.
    process = RelayProcess(home, url, workers=WORKERS, extra=("--accept-demo",),
                           env={"CCDESK_LOG_LEVEL": "DEBUG"})
    store = DistrictStore.open(url, accept_demo=True)
    try:
        yield Relay(process, store)
    finally:
        process.stop()
        store.engine.dispose()
        if schema is not None:
            schema.drop()


def test_desks_pushing_at_once_lose_and_duplicate_nothing(relay: Relay, tmp_path: Path
                                                          ) -> None:
    desks = [make_desk(tmp_path / f"desk{i}", agency=f"000.17.22.W{i}") for i in range(3)]
    try:
        for desk in desks:
            service.enroll(desk.services, relay.url, relay.store.issue_enroll_code(COMMUNE))
            desk.intake(4, events=True)

        def push(desk: Desk) -> int:
            return SyncEngine(desk.services.ctx, options=PUSH).push().exit_code

        with ThreadPoolExecutor(len(desks)) as pool:
            assert list(pool.map(push, desks)) == [0] * len(desks)
        for desk in desks:
            assert_invariants(desk, relay.store)
            assert {state for _seq, _id, state, _e in desk.outbox()} == {"acked"}
    finally:
        for desk in desks:
            desk.close()


def test_raw_devices_pushing_at_once_each_record_stored_once(relay: Relay) -> None:
    devices = [enrol(relay.store, relay.url) for _ in range(8)]

    def push(device: Device) -> list[str]:
        outcomes = []
        for n in range(3):
            code = f"W{uuid.uuid4().hex[:10].upper()}"
            records = [create(2 * n + 1, code), event(2 * n + 2, code, "received", "in_progress")]
            outcomes += [r["result"] for r in results(device.batch(records))]
        return outcomes

    with ThreadPoolExecutor(8) as pool:
        outcomes = [r for device in pool.map(push, devices) for r in device]
    assert outcomes == [protocol.APPLIED] * 8 * 6
    stored = relay.store.mutation_ids()
    assert len(stored) == len(set(stored))
    for device in devices:
        assert relay.store.device(device.device_id).status == "active"
        assert _through(relay, device) == 6


def _through(relay: Relay, device: Device) -> int:
    with relay.store.engine.connect() as conn:
        return relay.store.received_through(conn, device.device_id)


def test_a_signed_request_is_accepted_once_whichever_worker_takes_it(relay: Relay) -> None:
    device = enrol(relay.store, relay.url)
    code = f"R{uuid.uuid4().hex[:10].upper()}"
    body = orjson.dumps({"batch_id": str(uuid.uuid4()), "device_id": device.device_id,
                         "commune": COMMUNE, "demo": False, "seen_cursor": 0, "first_seq": 1,
                         "last_seq": 1, "records": [create(1, code)]})
    headers = {"Content-Type": "application/json",
               **device.headers("POST", "/batches", body)}   # one nonce, sent TRIES times

    def send(_n: int) -> int:
        return httpx.post(relay.url + protocol.API_PREFIX + "/batches", content=body,
                          headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(TRIES) as pool:
        statuses = sorted(pool.map(send, range(TRIES)))
    assert statuses == [200] + [409] * (TRIES - 1)


def test_an_enrolment_code_enrols_one_device_whichever_worker_takes_it(relay: Relay) -> None:
    code = relay.store.issue_enroll_code(COMMUNE)

    def enroll(_n: int) -> int:
        body = {"code": code, "device_id": str(uuid.uuid4()),
                "public_key": keys.public_of(keys.new_private_key())}
        return httpx.post(relay.url + protocol.API_PREFIX + "/devices/enroll", json=body,
                          timeout=30).status_code

    with ThreadPoolExecutor(TRIES) as pool:
        statuses = sorted(pool.map(enroll, range(TRIES)))
    assert statuses == [200] + [403] * (TRIES - 1)


def test_the_workers_log_sql_but_no_personal_data(relay: Relay) -> None:
    device = enrol(relay.store, relay.url)
    code = f"L{uuid.uuid4().hex[:10].upper()}"
    for n in range(4):   # several connections: both workers write
        assert results(device.batch([create(n + 1, f"{code}{n}")]))[0]["result"] == "applied"
    logged = relay.process.output()
    assert "INSERT INTO district_mutation" in logged    # the workers' logging is configured
    for secret in (NAME, ID_NUMBER, PHONE, "Bích Ngọc"):
        assert secret not in logged


def test_a_new_epoch_reaches_every_worker_at_once(relay: Relay) -> None:
    device = enrol(relay.store, relay.url)
    before = device.get("/hello").json()["epoch"]
    after = relay.store.set_epoch()     # what `ccdesk district new-epoch` does, beside it
    assert after != before
    epochs = {device.get("/hello").json()["epoch"] for _ in range(TRIES)}
    assert epochs == {after}


def _workers(supervisor: int) -> list[int]:
    """The supervisor's worker processes (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [int(pid) for pid in children
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
            and b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()]


def test_a_worker_killed_is_replaced_and_the_relay_keeps_answering(relay: Relay) -> None:
    assert relay.process.proc is not None
    supervisor = relay.process.proc.pid
    before = _workers(supervisor)
    assert len(before) == WORKERS
    os.kill(before[0], signal.SIGKILL)
    device = enrol(relay.store, relay.url)
    code = f"K{uuid.uuid4().hex[:10].upper()}"
    for n in range(TRIES):    # each batch answered, by the other worker or the new one
        assert results(device.batch([create(n + 1, f"{code}{n}")]))[0]["result"] == "applied"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = _workers(supervisor)
        if len(now) == WORKERS and before[0] not in now:
            break
        time.sleep(0.2)
    assert len(now) == WORKERS and before[0] not in now
    assert _through(relay, device) == TRIES
