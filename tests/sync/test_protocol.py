"""Pure parts of the protocol and the client's retry policy."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync import keys, protocol
from sync.client import parse_retry_after
from sync.engine import Backoff


@given(st.binary(max_size=5000), st.sampled_from(protocol.ENCODINGS))
def test_compression_round_trips(data: bytes, encoding: str) -> None:
    assert protocol.decompress(protocol.compress(data, encoding), encoding) == data


@pytest.mark.parametrize("encoding", ["zstd", "gzip"])
def test_decompression_refuses_a_bomb(encoding: str) -> None:
    bomb = protocol.compress(b"\0" * 2_000_000, encoding)
    with pytest.raises(ValueError, match="too large"):
        protocol.decompress(bomb, encoding, limit=1_000_000)


@given(st.integers(0, 30))
def test_full_jitter_stays_within_the_cap(attempt: int) -> None:
    random.seed(attempt)
    backoff = Backoff(base=0.5, cap=60.0)
    delay = backoff.delay(attempt)
    assert 0.0 <= delay <= min(60.0, 0.5 * 2 ** attempt)


def test_retry_after_wins_over_jitter_but_is_capped() -> None:
    backoff = Backoff(retry_after_cap=900.0)
    assert backoff.delay(1, retry_after=7.0) == 7.0
    assert backoff.delay(1, retry_after=86_400.0) == 900.0


def test_retry_after_header_forms() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 80 <= parse_retry_after(later) <= 91


def test_signatures_bind_method_path_body_and_device() -> None:
    pem = keys.new_private_key()
    public = keys.public_of(pem)
    message = protocol.signing_message("POST", "/api/sync/v1/batches", "ab" * 32, "t", "dev")
    signature = keys.sign(pem, message)
    assert keys.verify(public, message, signature)
    for other in (protocol.signing_message("GET", "/api/sync/v1/batches", "ab" * 32, "t", "dev"),
                  protocol.signing_message("POST", "/api/sync/v1/batches", "cd" * 32, "t", "dev"),
                  protocol.signing_message("POST", "/api/sync/v1/batches", "ab" * 32, "t", "x")):
        assert not keys.verify(public, other, signature)
    assert not keys.verify(public, message, "garbage")


def test_a_captive_portal_reply_is_not_a_batch_reply() -> None:
    genuine = {"service": protocol.SERVICE_NAME, "batch_id": "b", "digest": "d", "results": []}
    assert protocol.is_batch_reply(genuine, "b", "d")
    assert not protocol.is_batch_reply(dict(genuine, digest="other"), "b", "d")
    assert not protocol.is_batch_reply({"ok": True}, "b", "d")
    assert not protocol.is_batch_reply("<html>", "b", "d")


@given(st.integers(1, 2**40), st.text(max_size=20), st.text(max_size=20),
       st.dictionaries(st.text(max_size=8), st.text(max_size=12) | st.integers(-2**63, 2**63 - 1),
                       max_size=4),
       st.booleans(), st.integers(0, 10**6))
def test_fast_batch_serialisation_matches_the_canonical_one(
        seq: int, entity: str, stamp: str, payload: dict, demo: bool, cursor: int) -> None:
    text = protocol.dumps(payload).decode()
    fast = protocol.batch_json("b", "dev", "26734", demo, cursor, seq, seq,
                               [protocol.record_json(seq, "m", "dossier.event", entity, stamp,
                                                     text)])
    body = protocol.batch_body("b", "dev", "26734", demo,
                               [protocol.record_of(seq, "m", "dossier.event", entity, stamp,
                                                   text)])
    body["seen_cursor"] = cursor
    assert fast == protocol.dumps(body)


@given(st.lists(st.tuples(st.integers(1, 2**40), st.text(max_size=20), st.text(max_size=20),
                          st.dictionaries(st.text(max_size=8),
                                          st.text(max_size=12) | st.integers(-2**63, 2**63 - 1),
                                          max_size=4), st.booleans()), max_size=5))
def test_a_batch_of_rows_serialises_as_its_records_one_by_one(
        rows: list[tuple[int, str, str, dict, bool]]) -> None:
    # The payload as the outbox gives it to a push (UTF-8 bytes) or as text.
    sent = [(seq, "m", "dossier.event", entity, stamp,
             protocol.dumps(payload) if as_bytes else protocol.dumps(payload).decode())
            for seq, entity, stamp, payload, as_bytes in rows]
    array = protocol.records_json(sent)
    assert array == protocol.dumps([protocol.record_of(*row) for row in sent])
    assert array == b"[" + b",".join(protocol.record_json(*row) for row in sent) + b"]"
    assert protocol.batch_json("b", "d", "26734", False, 0, 1, 1, array) == \
        protocol.batch_json("b", "d", "26734", False, 0, 1, 1,
                            [protocol.record_json(*row) for row in sent])
