"""Compact records, schema 2 (sync/compact.py, docs/sync.md "Compact records"): every field
round-trips byte for byte, anything without a compact form goes whole, a future revision is
refused with a clear error, and a relay still takes the schema-1 batches of desks not yet
upgraded. Through a real relay: the relay stores exactly the payloads the desk hashed."""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

import httpx
import orjson
import pytest

from ccdesk.domain.catalog import DocForm, Requirement
from ccdesk.domain.lifecycle import Action
from ccdesk.domain.vocabulary import ApplicantKind, Channel, Delivery, Regime, Sex, Status
from ccdesk.storage.outbox.write import canonical_json
from sync import compact, keys, protocol, replies
from sync.client import SyncClient
from sync.compact import Field, NotCompact, Table
from tests.sync.helpers import Desk, ServerThread, assert_invariants
from tests.sync.server.relay_kit import enrol as enrol_device
from tests.sync.test_push import engine
from tests.sync.test_push import enrol as enrol_desk

CODE = "000.17.22.H56-261201-0007"
AT = "2026-12-01T08:15:30"
CLIENT_TIME = "2026-12-01 01:15:30.482913"      # UTC, the desk 7 hours ahead


def _every_dossier_value() -> dict[str, Any]:
    """A snapshot with every column away from its default."""
    return {
        "accepted_at": "2026-12-01T08:16:00", "applicant_address": "Thôn Đông, xã An Phú",
        "applicant_dob": "1985-02-28", "applicant_email": "a@example.vn",
        "applicant_id_issued": "2021-07-01", "applicant_id_number": "001185012345",
        "applicant_id_type": "passport", "applicant_kind": str(ApplicantKind.REPRESENTATIVE),
        "applicant_name": "Lê Thị Hoà", "applicant_old_id": "012345678",
        "applicant_phone": "0912345678", "applicant_sex": str(Sex.FEMALE),
        "authorisation": "Giấy ủy quyền số 12", "channel": str(Channel.ONLINE_PARTIAL),
        "closed_at": "2026-12-09T10:00:00", "code": CODE, "delivery": str(Delivery.POST),
        "due_at": "2026-12-05T17:00:00", "extensions": 1, "fee_amount": 15000,
        "field": "Hộ tịch", "handed_off_at": "2026-12-02T09:00:00",
        "handling_body": "Phòng Tư pháp", "needs_verification": True,
        "original_due_at": "2026-12-04T17:00:00", "owner_address": "Xóm Bến",
        "owner_id_number": "001090000001", "owner_id_type": "cccd",
        "owner_name": "Trần Văn Nam", "owner_tax_code": "0101234567",
        "party2_dob": "1990-01-01", "party2_id_number": "001190000002",
        "party2_id_type": "cccd", "party2_name": "Phạm Thị Mai",
        "paused_at": "2026-12-03T08:00:00", "portal_code": "G22.99-261201-0001",
        "procedure_code": "1.001193", "ready_at": "2026-12-08T15:00:00",
        "received_at": AT, "regime": str(Regime.R2018), "result_back_at": "2026-12-08T09:00:00",
        "resume_status": str(Status.IN_PROGRESS), "returned_at": "2026-12-09T10:00:00",
        "sets": 2, "status": str(Status.RETURNED), "supplement_rounds": 1,
        "updated_at": "2026-12-09T10:00:00"}


def _default_dossier() -> dict[str, Any]:
    """A snapshot where every column that has a default holds it."""
    values = {f.name: f.default for f in compact.DOSSIER_FIELDS
              if f.default is not compact._MISSING}
    return values | {"accepted_at": AT, "applicant_id_type": "cccd", "applicant_name": "An",
                     "code": CODE, "field": "Chứng thực", "handling_body": "desk",
                     "owner_id_type": "cccd", "party2_id_type": "cccd",
                     "procedure_code": "2.000884", "received_at": AT,
                     "status": str(Status.RECEIVED), "updated_at": AT}


def _items() -> list[dict[str, Any]]:
    return [{"condition": "Nếu có", "form": str(DocForm.CERTIFIED_COPY), "name": "Tờ khai",
             "note": "bản 2", "position": 1, "quantity": 3, "received": True,
             "received_form": str(DocForm.PHOTOCOPY), "received_quantity": 2,
             "requirement": str(Requirement.CONDITIONAL)},
            {"condition": "", "form": str(DocForm.ORIGINAL), "name": "Giấy chứng sinh",
             "note": "", "position": 2, "quantity": 1, "received": False,
             "received_form": "", "received_quantity": 0,
             "requirement": str(Requirement.REQUIRED)}]


def _event(**kw: Any) -> dict[str, Any]:
    return {"action": str(Action.ACCEPT), "at": AT, "data": {"procedure_version_id": 9},
            "from_status": None, "officer": "lan", "reason": "", "to_status": "received"} | kw


def _row(seq: int, op: str, payload: dict[str, Any], *, mutation_id: str | None = None,
         client_time: str = CLIENT_TIME, code: str = CODE) -> tuple[Any, ...]:
    return (seq, mutation_id or str(uuid.uuid4()), op, code, client_time,
            canonical_json(payload).decode())


def _through_the_wire(rows: list[tuple[Any, ...]], revision: int = compact.REVISION
                      ) -> tuple[list[Any], list[dict[str, Any]]]:
    """The compact records of ``rows`` as the relay parses them, and what it expands."""
    wire = compact.batch_json("b-1", "26734", False, 3, ("ep", 7), revision, rows)
    body = orjson.loads(wire)
    expanded = compact.expand_body(body)
    assert (expanded["batch_id"], expanded["commune"], expanded["seen_cursor"],
            expanded["expect"]) == ("b-1", "26734", 3, {"epoch": "ep", "through": 7})
    return body["r"], expanded["records"]


def _assert_same(rows: list[tuple[Any, ...]], records: list[dict[str, Any]]) -> None:
    """The relay's records are the rows, payloads byte for byte as the desk hashed them."""
    assert len(records) == len(rows)
    for row, record in zip(rows, records, strict=True):
        seq, mutation_id, op, code, client_time, payload = row
        assert (record["seq"], record["id"], record["op"], record["entity_id"],
                record["t"]) == (seq, mutation_id, op, code, client_time)
        assert canonical_json(record["payload"]).decode() == payload


# ---- the codec ----------------------------------------------------------------------------
@pytest.mark.parametrize("snapshot", [_every_dossier_value(), _default_dossier()],
                         ids=["every value", "defaults"])
def test_a_create_round_trips_with_every_field(snapshot: dict[str, Any]) -> None:
    rows = [_row(41, protocol.OP_CREATE, {"dossier": snapshot, "checklist": _items(),
                                          "event": _event()})]
    sent, records = _through_the_wire(rows)
    assert isinstance(sent[0][2], int), "went whole instead of compact"
    _assert_same(rows, records)


def test_every_dossier_field_has_a_test_value() -> None:
    """A field added to the table without a value here would go untested."""
    assert set(_every_dossier_value()) == {f.name for f in compact.DOSSIER_FIELDS} | {"code"}
    for f in compact.DOSSIER_FIELDS:
        if f.default is not compact._MISSING:
            assert _every_dossier_value()[f.name] != f.default, f.name


def test_events_round_trip_with_every_change_and_status() -> None:
    rows, seq = [], 10
    changes = {k: v for k, v in _every_dossier_value().items() if k != "code"}
    for status in Status:
        for action in (Action.START, Action.KEEP_LOCAL):
            seq += 1 if seq % 3 else 2          # gaps in the seqs, as after a quarantine
            rows.append(_row(seq, protocol.OP_EVENT, {
                "code": CODE, "changes": changes if seq % 2 else {"status": str(status)},
                "event": _event(action=str(action), from_status=str(status),
                                to_status=str(status), reason="lý do",
                                data={"level": "satisfied"})}))
    rows.append(_row(seq + 1, protocol.OP_EVENT, {"code": "OTHER-1", "changes": {},
                                                  "event": _event()}, code="OTHER-1"))
    sent, records = _through_the_wire(rows)
    assert all(isinstance(r[2], int) for r in sent)
    assert sent[1][3] == 0 and sent[-1][3] == "OTHER-1"     # the code only when it changes
    _assert_same(rows, records)


@pytest.mark.parametrize(("kind", "vocabulary"), [
    (compact.STATUS, Status), (compact.ACTION, Action), (compact.FORM, DocForm),
    (compact.REQUIREMENT, Requirement), (compact.CHANNEL, Channel),
    (compact.DELIVERY, Delivery), (compact.SEX, Sex), (compact.APPLICANT, ApplicantKind),
    (compact.REGIME, Regime)])
def test_every_vocabulary_member_has_a_frozen_code(kind: compact.Kind, vocabulary: Any) -> None:
    """A member added to the vocabulary must be appended to its frozen list (until then its
    records go whole: correct, only bigger)."""
    assert {str(m) for m in vocabulary} <= set(kind.values)
    assert len(set(kind.values)) == len(kind.values)


def test_compact_is_much_smaller() -> None:
    payload = {"dossier": _default_dossier(), "checklist": _items(), "event": _event()}
    row = _row(1, protocol.OP_CREATE, payload)
    full = protocol.record_json(*row)
    small = protocol.dumps(compact.compact_record(*row, (0, ""), compact.REVISION))
    assert len(small) < len(full) / 2


@pytest.mark.parametrize("change", [
    pytest.param(lambda p: p["dossier"].update(group="Tổ 3"), id="a key the table lacks"),
    pytest.param(lambda p: p["dossier"].pop("portal_code"), id="a row from before a field"),
    pytest.param(lambda p: p["event"].update(at="2026-12-01T08:15:30.500000"),
                 id="sub-second event time"),
    pytest.param(lambda p: p["dossier"].update(due_at="2026-12-05T17:00:00+07:00"),
                 id="time with an offset"),
    pytest.param(lambda p: p["dossier"].update(status="archived"), id="unknown status"),
    pytest.param(lambda p: p["dossier"].update(applicant_dob="1985-2-28"), id="loose date"),
    pytest.param(lambda p: p["checklist"][0].update(extra=1), id="checklist extra key"),
    pytest.param(lambda p: p.update(note="x"), id="payload extra key"),
    pytest.param(lambda p: p["dossier"].update(code="ANOTHER-1"), id="code differs"),
])
def test_a_record_without_a_compact_form_goes_whole(change: Any) -> None:
    payload = {"dossier": _every_dossier_value(), "checklist": _items(), "event": _event()}
    change(payload)
    rows = [_row(5, protocol.OP_CREATE, payload),
            _row(6, protocol.OP_EVENT, {"code": CODE, "changes": {}, "event": _event()})]
    sent, records = _through_the_wire(rows)
    assert sent[0][2] == protocol.OP_CREATE and isinstance(sent[1][2], int)
    _assert_same(rows, records)


@pytest.mark.parametrize("change", [
    pytest.param({"fee_amount": 5000.0}, id="float amount"),
    pytest.param({"sets": True}, id="bool for an int"),
    pytest.param({"extensions": False}, id="false for a zero"),
    pytest.param({"needs_verification": 0}, id="zero for a false"),
])
def test_json_types_are_kept_exactly(change: dict[str, Any]) -> None:
    """``0 == False == 0.0`` in Python: the default is left out only for the same type."""
    payload = {"dossier": _every_dossier_value() | change, "checklist": [],
               "event": _event()}
    rows = [_row(5, protocol.OP_CREATE, payload)]
    sent, records = _through_the_wire(rows)
    assert isinstance(sent[0][2], int)
    _assert_same(rows, records)


UUID = "01a24a40-6028-7f20-85b5-13b66e4726b1"


@pytest.mark.parametrize(("mutation_id", "client_time"), [
    ("not-a-uuid-01", CLIENT_TIME), (UUID.upper(), CLIENT_TIME),
    (UUID, "2026-12-01T01:15:30"), (UUID, "2026-12-01 01:15:30.5"), (UUID, "yesterday")])
def test_odd_ids_and_client_times_go_whole(mutation_id: str, client_time: str) -> None:
    rows = [_row(1, protocol.OP_EVENT, {"code": CODE, "changes": {}, "event": _event()},
                 mutation_id=mutation_id, client_time=client_time)]
    sent, records = _through_the_wire(rows)
    assert sent[0][2] == protocol.OP_EVENT
    _assert_same(rows, records)


@pytest.mark.parametrize("client_time", [
    "2026-12-01 01:15:30.000000", "2026-12-01 01:15:30.000001", "2026-12-01 01:15:30",
    "2026-11-30 23:59:59.999999"])
def test_client_times_of_every_form_round_trip(client_time: str) -> None:
    rows = [_row(1, protocol.OP_EVENT, {"code": CODE, "changes": {}, "event": _event()},
                 client_time=client_time)]
    sent, records = _through_the_wire(rows)
    assert isinstance(sent[0][2], int)
    _assert_same(rows, records)


def test_a_future_revision_is_refused_with_a_clear_error() -> None:
    with pytest.raises(compact.UnknownSchema, match="record schema 3 .*reads up to 2"):
        compact.expand_body({"v": 3, "b": "b-1", "c": "26734", "r": []}, known=2)


def test_a_schema_1_body_is_left_as_it_is() -> None:
    body = {"batch_id": "b", "records": [{"seq": 1}]}
    assert compact.expand_body(body) is body


@pytest.mark.parametrize("record", [
    [1, "short", 1, CODE, 0, [{"a": 0, "t": 1, "o": "x", "s": 0}]],     # bad id
    [1, "AaJKRQ7XeHKg8XPXaenAfg", 9, CODE, 0, [{}]],                    # unknown op code
    [1, "AaJKRQ7XeHKg8XPXaenAfg", 1, CODE, 0, [{"a": 0, "zz": 1}]],     # unknown key
    [1, "AaJKRQ7XeHKg8XPXaenAfg", 1, CODE, 0, [{"a": 99, "t": 1, "o": "x", "s": 0}]],
    [1, "AaJKRQ7XeHKg8XPXaenAfg", 1, 0, 0, [{"a": 0, "t": 1, "o": "x", "s": 0}]],  # no code
    [1, "AaJKRQ7XeHKg8XPXaenAfg", 1, CODE, "x", [{"a": 0, "t": 1, "o": "x", "s": 0}]],
    [1, "AaJKRQ7XeHKg8XPXaenAfg", 1, CODE, 0, [{"a": 0, "t": 10**30, "o": "x", "s": 0}]],
    [1, "AaJKRQ7XeHKg8XPXaenAfg", 1, CODE, 0, [{"a": 0, "t": -10**30, "o": "x", "s": 0}]],
])
def test_a_malformed_compact_record_is_an_error(record: list[Any]) -> None:
    with pytest.raises(ValueError):
        compact.expand_body({"v": 2, "b": "b-1", "c": "26734", "r": [record]})


def test_a_compact_batch_has_a_bounded_number_of_records() -> None:
    with pytest.raises(ValueError, match="at most"):
        compact.expand_body({"v": 2, "b": "b-1", "c": "26734",
                             "r": [0] * (compact.MAX_RECORDS + 1)})


def test_a_field_of_a_later_revision_waits_for_it() -> None:
    """Adding an optional field is one line with ``since``: a batch of an older revision
    sends a record carrying it whole, and a relay of the older revision refuses the key."""
    table = Table((Field("name", "n", compact.TEXT), Field("group", "g", compact.TEXT, "",
                                                           since=3)))
    with pytest.raises(NotCompact):
        table.encode({"name": "a", "group": "x"}, 0, 2)
    assert table.encode({"name": "a", "group": "x"}, 0, 3) == {"n": "a", "g": "x"}
    assert table.encode({"name": "a", "group": ""}, 0, 3) == {"n": "a"}
    assert table.decode({"n": "a"}, 0, 3) == {"name": "a", "group": ""}
    assert table.decode({"n": "a"}, 0, 2) == {"name": "a"}
    with pytest.raises(ValueError, match="unknown compact key"):
        table.decode({"n": "a", "g": "x"}, 0, 2)


# ---- replies ------------------------------------------------------------------------------
def test_a_compact_reply_lists_ranges_and_the_rest_in_full() -> None:
    answer = {"service": protocol.SERVICE_NAME, "digest": "ab" * 32, "results": [
        {"seq": 1, "result": "applied"}, {"seq": 2, "result": "applied"},
        {"seq": 3, "result": "duplicate"}, {"seq": 5, "result": "applied"},
        {"seq": 6, "id": "m6", "result": "rejected", "code": "malformed", "message": "x"}]}
    reply = compact.compact_reply(answer)
    assert reply["applied"] == [[1, 2], [5, 5]] and reply["duplicate"] == [[3, 3]]
    assert [r["seq"] for r in reply["results"]] == [6]
    assert protocol.is_batch_reply(reply, "any", "ab" * 32)
    assert not protocol.is_batch_reply(reply, "any", "cd" * 32)
    parsed = replies.batch_results("batch", reply, [1, 2, 3, 4, 5, 6])
    assert {s: r.result for s, r in parsed.items()} == {
        1: "applied", 2: "applied", 3: "duplicate", 5: "applied", 6: "rejected"}
    # A range answers only the seqs the batch sent; a malformed one stops the run.
    assert set(replies.batch_results("batch", {"v": 2, "applied": [[0, 2**53 - 1]]},
                                     [7, 9])) == {7, 9}
    with pytest.raises(replies.BadUpstreamValue):
        replies.batch_results("batch", {"v": 2, "applied": [[1]]}, [1])
    with pytest.raises(replies.BadUpstreamValue):
        replies.batch_results("batch", {"v": 2, "applied": [[1, "9"]]}, [1])


# ---- desk and relay -----------------------------------------------------------------------
def _stored_digests(server: ServerThread) -> dict[str, str]:
    with server.store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT mutation_id, payload_sha256 "
                                    "FROM district_mutation").all()
    return dict(rows)


def _outbox_digests(desk: Desk) -> dict[str, str]:
    con = sqlite3.connect(desk.db_path)
    try:
        return dict(con.execute("SELECT mutation_id, payload_sha256 FROM outbox").fetchall())
    finally:
        con.close()


@pytest.fixture
def posted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, httpx.Response]]:
    """Each batch request's compact flag and the relay's raw response."""
    seen: list[tuple[bool, httpx.Response]] = []
    send = httpx.Client.send

    def recording(self, request, **kw):  # noqa: ANN001, ANN003, ANN202
        response = send(self, request, **kw)
        if request.url.path.endswith("/batches"):
            seen.append((protocol.H_SIG in request.headers, response))
        return response

    monkeypatch.setattr(httpx.Client, "send", recording)
    return seen


def test_a_push_goes_compact_and_the_relay_stores_the_very_payloads(
        desk: Desk, server: ServerThread, posted: list[tuple[bool, httpx.Response]]) -> None:
    codes = desk.intake(8, events=True)
    desk.act(codes[0], Action.MARK_READY)
    enrol_desk(desk, server)
    result = engine(desk).push()
    assert result.exit_code == 0 and result.acked == result.records_sent == 17, result
    assert _stored_digests(server) == _outbox_digests(desk)
    assert_invariants(desk, server.store)
    assert posted and all(sig for sig, _ in posted)
    for _, response in posted:
        # No Content-Type, no Content-Encoding: the desk knows the reply is its dictionary's.
        assert "content-type" not in response.headers
        assert "content-encoding" not in response.headers
        assert response.content[:4] == protocol.ZSTD_MAGIC


def test_a_relay_of_before_gets_schema_1(desk: Desk, server: ServerThread,
                                         posted: list[tuple[bool, httpx.Response]],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A relay that does not answer ``records`` at /hello reads schema 1 only: the desk sends
    it, with the four signing headers, as before."""
    import sync.server.routes

    hello = sync.server.routes.compact
    monkeypatch.setattr(sync.server.routes, "compact",
                        type("Old", (), {"REVISION": None, "SCHEMA_KEY": hello.SCHEMA_KEY}))
    desk.intake(4, events=True)
    enrol_desk(desk, server)
    result = engine(desk).push()
    assert result.exit_code == 0 and result.acked == result.records_sent == 8, result
    assert posted and not any(sig for sig, _ in posted)
    assert all(r.headers.get("content-type") == "application/json" for _, r in posted)
    assert _stored_digests(server) == _outbox_digests(desk)


def test_a_desk_of_before_is_still_served(sqlite_server: ServerThread) -> None:
    """Schema 1, the four X-Ccdesk headers, Content-Encoding: what a desk not yet upgraded
    sends (the relay's own tests send it throughout)."""
    device = enrol_device(sqlite_server.store, sqlite_server.url)
    records = [{"seq": 1, "id": str(uuid.uuid4()), "op": protocol.OP_CREATE,
                "entity_id": CODE, "t": CLIENT_TIME,
                "payload": {"dossier": _every_dossier_value(), "checklist": _items(),
                            "event": _event()}}]
    body = protocol.dumps({"batch_id": str(uuid.uuid4()), "device_id": device.device_id,
                           "commune": device.commune, "demo": False, "seen_cursor": 0,
                           "first_seq": 1, "last_seq": 1, "records": records})
    answer = device.post("/batches?dict=dossier-v1", protocol.compress(body, "zstd",
                                                                       "dossier-v1"),
                         encoding="zstd")
    assert answer.status_code == 200, answer.text
    assert [r["result"] for r in answer.json()["results"]] == ["applied"]
    assert answer.json()["batch_id"] == orjson.loads(body)["batch_id"]


def _compact_post(device: Any, body: dict[str, Any], **kw: Any) -> httpx.Response:
    wire = protocol.compress(protocol.dumps(body), "zstd", "dossier-v2")
    path = "/batches?dict=dossier-v2"
    headers = keys.compact_request_header(device.pem, device.device_id, "POST",
                                          protocol.API_PREFIX + path, wire, kw.pop("now"))
    return httpx.post(device.url + protocol.API_PREFIX + path, content=wire, headers=headers,
                      timeout=30)


def test_the_relay_refuses_a_future_revision(sqlite_server: ServerThread) -> None:
    from datetime import UTC, datetime

    device = enrol_device(sqlite_server.store, sqlite_server.url)
    answer = _compact_post(device, {"v": compact.REVISION + 1, "b": str(uuid.uuid4()),
                                    "c": device.commune, "r": []}, now=datetime.now(UTC))
    assert answer.status_code == 400 and answer.json()["error"] == "unknown_schema"
    assert f"record schema {compact.REVISION + 1}" in answer.json()["message"]
    for record in ([1, "x", 1, CODE, 0, [{}]],
                   [1, "AaJKRQ7XeHKg8XPXaenAfg", 1, CODE, 0,
                    [{"a": 0, "t": 2**62, "o": "x", "s": 0}]]):     # a time out of range
        answer = _compact_post(device, {"v": 2, "b": str(uuid.uuid4()), "c": device.commune,
                                        "r": [record]}, now=datetime.now(UTC))
        assert answer.status_code == 400 and answer.json()["error"] == "bad_batch"
    assert sqlite_server.store.stats() == [] or sqlite_server.store.stats()[0]["dossiers"] == 0


def test_the_compact_signing_header_keeps_its_checks(sqlite_server: ServerThread) -> None:
    from datetime import UTC, datetime, timedelta

    device = enrol_device(sqlite_server.store, sqlite_server.url)
    row = _row(1, protocol.OP_CREATE, {"dossier": _default_dossier(), "checklist": [],
                                       "event": _event()})
    body = orjson.loads(compact.batch_json(str(uuid.uuid4()), device.commune, False, 0, None,
                                           compact.REVISION, [row]))
    wire = protocol.compress(protocol.dumps(body), "zstd", "dossier-v2")
    path = protocol.API_PREFIX + "/batches?dict=dossier-v2"
    signed = keys.compact_request_header(device.pem, device.device_id, "POST", path, wire,
                                         datetime.now(UTC))
    # Another body under the same signature, an old time, a malformed header: refused.
    other = protocol.compress(protocol.dumps(body | {"k": 5}), "zstd", "dossier-v2")
    answer = httpx.post(sqlite_server.url + path, content=other, headers=signed)
    assert answer.status_code == 401 and answer.json()["error"] == "bad_signature"
    stale = keys.compact_request_header(device.pem, device.device_id, "POST", path, wire,
                                        datetime.now(UTC) - timedelta(hours=1))
    answer = httpx.post(sqlite_server.url + path, content=wire, headers=stale)
    assert answer.status_code == 401 and answer.json()["error"] == "clock_skew"
    answer = httpx.post(sqlite_server.url + path, content=wire, headers={"Sig": "a.b.c.d"})
    assert answer.status_code == 401 and answer.json()["error"] == "unauthenticated"
    # The genuine request is applied once; the same request again is a replay.
    answer = httpx.post(sqlite_server.url + path, content=wire, headers=signed)
    assert answer.status_code == 200
    reply = orjson.loads(protocol.decompress(answer.content, "zstd", 1 << 20, "dossier-v2"))
    assert reply["applied"] == [[1, 1]]
    answer = httpx.post(sqlite_server.url + path, content=wire, headers=signed)
    assert answer.status_code == 409 and answer.json()["error"] == "replayed"


def test_a_device_id_that_is_not_a_uuid_signs_with_the_four_headers() -> None:
    pem = keys.new_private_key()
    assert keys.compact_request_header(pem, "desk-7", "POST", "/x", b"", _now()) is None
    client = SyncClient("http://127.0.0.1:9", "desk-7", pem)
    try:
        assert protocol.H_SIGNATURE in client._signed_headers("POST", "/x", b"", True)
    finally:
        client.close()


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
