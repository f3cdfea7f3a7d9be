"""Hypothesis fuzzing of what arrives from outside the desk: USB bundles and ack files, and the
district server's JSON endpoints over real HTTP on 127.0.0.1 (wrong types, huge bodies, wrong
commune, bad signatures). Bad input gets a clear, stable error — never a 5xx or a stray
exception — and changes nothing on either side."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import sqlite3
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sync import bundle, keys, protocol, service
from sync.server.bundles import import_bundle
from sync.server.store import DistrictStore
from tests.reliability.conftest import dump_lines
from tests.sync.helpers import COMMUNE, Desk, ServerThread, make_desk

FUZZ = settings(max_examples=int(os.environ.get("CCDESK_FUZZ_EXAMPLES", "30")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
BUNDLE_CODES = {"bad_bundle", "revoked", "bad_batch", "foreign_commune", "demo_refused",
                "idempotency_mismatch", "foreign_device", "unknown_device"}


@dataclass
class Upstream:
    """A real district server with one enrolled desk that has pending records."""

    server: ServerThread
    desk: Desk
    device_id: str
    private_key: str
    bundle: bytes
    http: httpx.Client

    @property
    def store(self) -> DistrictStore:
        return self.server.store


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    root = tmp_path_factory.mktemp("upstream")
    store = DistrictStore.open(f"sqlite:///{root}/district.sqlite3")
    server = ServerThread(store)
    desk = make_desk(root / "desk")
    desk.intake(3)
    service.enroll(desk.services, server.url, store.issue_enroll_code(COMMUNE))
    device_id, pem = sqlite3.connect(desk.db_path).execute(
        "SELECT device_id, private_key FROM sync_state WHERE id = 1").fetchone()
    written = bundle.export_bundle(desk.services.db, root / "usb")
    assert written is not None
    with httpx.Client(base_url=server.url + protocol.API_PREFIX, timeout=30) as http:
        yield Upstream(server, desk, device_id, pem, written[0].read_bytes(), http)
    desk.close()
    server.stop()
    store.engine.dispose()


def district_state(store: DistrictStore) -> tuple[list[str], list[tuple]]:
    stats = [(s["commune"], s["dossiers"], s["events"], s["mutations"]) for s in store.stats()]
    return sorted(store.mutation_ids()), stats


def desk_state(desk: Desk) -> str:
    con = sqlite3.connect(desk.db_path)
    try:
        return hashlib.sha256("\n".join(dump_lines(con)).encode()).hexdigest()
    finally:
        con.close()


HEADER_CHARS = st.characters(min_codepoint=33, max_codepoint=126)  # what a header can carry
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)
records = st.one_of(
    st.fixed_dictionaries({}, optional={
        "seq": st.one_of(st.integers(-3, 10**6), json_values),
        "id": st.one_of(st.uuids().map(str), json_values, st.text(min_size=65, max_size=70)),
        "op": st.one_of(st.sampled_from(["dossier.create", "dossier.event"]), json_values),
        "entity_id": st.one_of(st.sampled_from(["F-1", "F-2", ""]), json_values),
        "t": st.one_of(st.just("2026-11-23T09:15:00"), json_values),
        "payload": st.one_of(
            st.fixed_dictionaries({"dossier": st.fixed_dictionaries({
                "code": st.sampled_from(["F-1", "F-2"]),
                "status": st.sampled_from(["received", "nonsense"])})}),
            st.fixed_dictionaries({"code": st.sampled_from(["F-1", "F-2"]),
                                   "event": st.fixed_dictionaries({
                                       "to_status": st.sampled_from(["in_progress", "?"]),
                                       "from_status": json_values})}),
            json_values),
    }),
    json_values)


# ---- USB bundles (district side) and ack files (desk side) ----------------------------------

def _import_outcome(up: Upstream, data: bytes) -> None:
    before = district_state(up.store)
    try:
        ack = import_bundle(up.store, data)
    except bundle.BundleError as err:
        assert err.code in BUNDLE_CODES and err.message, (err.code, err.message)
        assert district_state(up.store) == before
        return
    results = orjson.loads(orjson.loads(ack)["ack"])["results"]
    assert all(r["result"] in protocol.RESULTS for r in results)
    kept = {r["id"] for r in results if r["result"] in (protocol.APPLIED, protocol.CONFLICT)}
    added = set(district_state(up.store)[0]) - set(before[0])
    assert added <= kept


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1,
                      max_size=4), cut=st.one_of(st.none(), st.integers(0, 10**6)))
def test_fuzz_bundle_bytes(upstream: Upstream, flips: list[tuple[int, int]],
                           cut: int | None) -> None:
    data = bytearray(upstream.bundle)
    for position, xor in flips:
        data[position % len(data)] ^= xor
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    _import_outcome(upstream, bytes(data))


@pytest.mark.parametrize(("offset", "value"), [
    (8, 0x01),   # found by fuzzing: the "encrypted" flag -> RuntimeError from zipfile
    (10, 0x63),  # found by fuzzing: an unknown compression method -> NotImplementedError
    (6, 0x54),   # "version needed" 8.4 -> NotImplementedError
])
def test_damaged_zip_directory_entries_are_bad_bundles(upstream: Upstream, offset: int,
                                                       value: int) -> None:
    data = bytearray(upstream.bundle)
    entry = data.index(b"PK\x01\x02")  # the first central-directory entry
    data[entry + offset] = value
    _import_outcome(upstream, bytes(data))


def _bundle(up: Upstream, manifest: dict[str, Any], items: list[Any], sign: bool,
            gz: bool) -> bytes:
    lines = b"\n".join(orjson.dumps(item) for item in items) + b"\n"
    payload = gzip.compress(lines, mtime=0) if gz else lines
    full = {"format": bundle.BUNDLE_FORMAT, "bundle_id": "fz-" + hashlib.sha1(
        payload).hexdigest()[:12], "device_id": up.device_id, "commune": COMMUNE,
        "demo": False, "first_seq": 1, "last_seq": 1, "count": len(items),
        "records_sha256": protocol.sha256_hex(payload), **manifest}
    raw = orjson.dumps(full)
    signature = keys.sign(up.private_key, raw) if sign else "AAAA"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("manifest.json", raw)
        zf.writestr("manifest.sig", signature)
        zf.writestr("records.jsonl.gz", payload)
    return buf.getvalue()


@FUZZ
@given(manifest=st.dictionaries(st.sampled_from(
    ["format", "bundle_id", "device_id", "commune", "demo", "count", "records_sha256",
     "first_seq"]), json_values, max_size=3),
    items=st.lists(records, max_size=5),
    # Mostly well-framed (signed, gzipped) so the fuzz reaches the per-record checks.
    sign=st.sampled_from([True, True, True, False]), gz=st.sampled_from([True, True, False]))
@example(manifest={}, items=[None], sign=True, gz=True)          # found: non-object records
@example(manifest={}, items=["x", {"seq": 1}], sign=True, gz=True)
@example(manifest={}, items=[{"seq": [1], "id": "x"}], sign=True, gz=True)  # found: list seq
def test_fuzz_bundle_structure(upstream: Upstream, manifest: dict[str, Any], items: list[Any],
                               sign: bool, gz: bool) -> None:
    _import_outcome(upstream, _bundle(upstream, manifest, items, sign, gz))


@FUZZ
@given(blob=st.one_of(st.binary(max_size=300), json_values.map(orjson.dumps),
                      st.fixed_dictionaries({"ack": st.one_of(json_values.map(
                          lambda v: orjson.dumps(v).decode()), st.text(max_size=50)),
                          "signature": st.text(max_size=90)}).map(orjson.dumps)))
def test_fuzz_ack_file_on_the_desk(upstream: Upstream, blob: bytes) -> None:
    before = desk_state(upstream.desk)
    with pytest.raises(bundle.BundleError) as err:
        bundle.import_ack(upstream.desk.services.db, blob)
    assert err.value.code == "bad_ack"
    assert desk_state(upstream.desk) == before


# ---- the server's JSON endpoints over HTTP --------------------------------------------------

def _signed(up: Upstream, method: str, path: str, body: bytes,
            device_id: str | None = None, key: str | None = None) -> dict[str, str]:
    device = up.device_id if device_id is None else device_id
    return keys.request_headers(key or up.private_key, device, method,
                                protocol.API_PREFIX + path, body, datetime.now()
                                ) | {"Content-Type": "application/json"}


def _post(up: Upstream, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return up.http.post(path, content=body, headers=headers)


def _assert_clear_refusal(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400 and response.status_code != 422:
        data = response.json()
        assert data["service"] == protocol.SERVICE_NAME and data["error"], data


@FUZZ
@given(body=st.one_of(
    json_values,
    st.fixed_dictionaries({}, optional={
        "batch_id": st.one_of(st.uuids().map(str), json_values, st.text(min_size=81,
                                                                        max_size=90)),
        "device_id": json_values, "commune": st.one_of(st.just(COMMUNE), json_values),
        "demo": json_values, "seen_cursor": json_values, "first_seq": json_values,
        "records": st.one_of(st.lists(records, max_size=4), json_values)})))
def test_fuzz_batches_endpoint_with_wrong_types(upstream: Upstream, body: Any) -> None:
    raw = orjson.dumps(body)
    before = district_state(upstream.store)
    response = _post(upstream, "/batches", raw, _signed(upstream, "POST", "/batches", raw))
    _assert_clear_refusal(response)
    after = district_state(upstream.store)
    if response.status_code != 200:
        assert after == before
        return
    results = response.json()["results"]
    kept = {r["id"] for r in results if r["result"] in (protocol.APPLIED, protocol.CONFLICT)}
    assert set(after[0]) - set(before[0]) <= kept


@FUZZ
@given(device=st.one_of(st.just(None), st.text(HEADER_CHARS, max_size=40)),
       signature=st.one_of(st.just(None), st.text(HEADER_CHARS, max_size=90)),
       other_key=st.booleans())
def test_fuzz_bad_signatures_are_refused(upstream: Upstream, device: str | None,
                                         signature: str | None, other_key: bool) -> None:
    raw = orjson.dumps(protocol.batch_body("sig-test", upstream.device_id, COMMUNE, False, []))
    headers = _signed(upstream, "POST", "/batches", raw, device_id=device,
                      key=keys.new_private_key() if other_key else None)
    if signature is not None:
        headers[protocol.H_SIGNATURE] = signature
    untouched = device in (None, upstream.device_id) and signature is None and not other_key
    before = district_state(upstream.store)
    response = _post(upstream, "/batches", raw, headers)
    _assert_clear_refusal(response)
    if not untouched:
        assert response.status_code in (401, 403), response.text
    assert district_state(upstream.store) == before


def test_a_bundle_whose_manifest_is_not_an_object_is_refused(upstream: Upstream) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("manifest.json", b'["not", "an", "object"]')
        zf.writestr("manifest.sig", "x")
        zf.writestr("records.jsonl.gz", gzip.compress(b""))
    _import_outcome(upstream, buf.getvalue())


def test_wrong_commune_huge_bodies_and_bombs_are_refused(upstream: Upstream) -> None:
    before = district_state(upstream.store)
    record = {"seq": 10**6, "id": "wrong-commune-1", "op": "dossier.create",
              "entity_id": "W-1", "t": "2026-11-23T09:15:00",
              "payload": {"dossier": {"code": "W-1", "status": "received"}}}
    raw = orjson.dumps(protocol.batch_body("wrong-commune", upstream.device_id, "99999", False,
                                           [record]))
    foreign = _post(upstream, "/batches", raw, _signed(upstream, "POST", "/batches", raw))
    assert foreign.status_code == 403 and foreign.json()["error"] == "foreign_commune"

    huge = b'{"batch_id": "huge", "records": ["' + b"x" * (
        upstream.store.max_batch_bytes + 10) + b'"]}'
    too_big = _post(upstream, "/batches", huge, _signed(upstream, "POST", "/batches", huge))
    assert too_big.status_code == 413 and too_big.json()["error"] == "too_large"

    bomb = gzip.compress(b"[" + b"0," * (protocol.MAX_DECOMPRESSED_BYTES // 2 + 10) + b"0]")
    headers = _signed(upstream, "POST", "/batches", bomb) | {"Content-Encoding": "gzip"}
    refused = _post(upstream, "/batches", bomb, headers)
    assert refused.status_code in (400, 413), refused.text
    assert refused.json()["service"] == protocol.SERVICE_NAME
    assert district_state(upstream.store) == before


@FUZZ
@given(body=json_values)
def test_fuzz_enroll_endpoint(upstream: Upstream, body: Any) -> None:
    before = district_state(upstream.store)
    response = _post(upstream, "/devices/enroll", orjson.dumps(body),
                     {"Content-Type": "application/json"})
    assert response.status_code in (400, 401, 403, 404, 409, 422), response.text[:300]
    assert response.json()["service"] == protocol.SERVICE_NAME
    assert district_state(upstream.store) == before


def test_district_cli_import_of_a_damaged_bundle_is_a_clear_message(
        upstream: Upstream, tmp_path: Path) -> None:
    from tests.reliability.conftest import run_ccdesk

    damaged = tmp_path / "26734_x_1-3.ccbundle"
    damaged.write_bytes(upstream.bundle[: len(upstream.bundle) // 2])
    url = f"sqlite:///{tmp_path}/other-district.sqlite3"
    result = run_ccdesk(["--lang", "en", "district", "import", str(damaged), "--db", url],
                        tmp_path)
    assert result.returncode == 40, result.stderr
    assert str(damaged) in result.stderr and "Traceback" not in result.stderr


# ---- sync diagnostics carry no personal data ------------------------------------------------

def test_sync_logs_and_diagnostics_carry_no_personal_data(upstream: Upstream) -> None:
    from ccdesk.logs import setup_logging, shutdown_logging
    from sync.engine import Backoff, EngineOptions, SyncEngine

    desk = upstream.desk
    # The sync helpers' desk received "Đặng Văn Đức", 0010850000n, 0912 345 678.
    secrets = ["Đặng Văn Đức", "0912345678", "0912 345 678", "001085000000", "001085000001"]
    con = sqlite3.connect(desk.db_path)
    assert con.execute("SELECT count(*) FROM dossier WHERE applicant_name = ?",
                       (secrets[0],)).fetchone()[0] > 0
    con.close()
    log_file = setup_logging(desk.services.paths, "DEBUG")
    assert log_file is not None
    try:
        options = EngineOptions(backoff=Backoff(base=0.01, cap=0.05), max_attempts=2,
                                lock_wait=5)
        result = SyncEngine(desk.services.ctx, options=options).run()
        assert result.exit_code in (0, 10), result
    finally:
        shutdown_logging()
    con = sqlite3.connect(desk.db_path)
    try:
        diagnostics = [
            *con.execute("SELECT * FROM sync_attempt").fetchall(),
            *con.execute("SELECT state, last_error FROM outbox").fetchall(),
            *con.execute("SELECT last_error, upstream_url FROM sync_state").fetchall(),
        ]
    finally:
        con.close()
    status = service.status(desk.services).to_json()
    logs = "".join(p.read_text(encoding="utf-8")
                   for p in desk.services.paths.logs_dir.glob("*.log*"))
    assert "sqlalchemy.engine" in logs  # the run was really logged, SQL included
    text = logs + repr(diagnostics) + repr(status)
    assert [s for s in secrets if s in text] == []
