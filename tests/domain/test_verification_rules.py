"""The pure rules of national-database checks: whose record, which items may be marked, the
back-off, and the wire's shape (every reply validated and bounded; docs/verification.md)."""

from __future__ import annotations

from datetime import date, datetime

import orjson
import pytest

from ccdesk.domain.errors import ValidationError
from ccdesk.domain.national_db import (
    MAX_REPLY_BYTES,
    CheckRequest,
    ReplyError,
    parse_reply,
    parse_request,
    reply_body,
)
from ccdesk.domain.verification import RETRY, check_mark, next_attempt, subject_of
from ccdesk.domain.vocabulary import NationalRecord, VerificationState

RID = "0190a6f4-1c2d-7e3f-8a9b-0c1d2e3f4a5b"


def person(**overrides: object):  # noqa: ANN201 - Subject
    fields = {"applicant_kind": "citizen", "applicant_name": "Nguyễn Văn An",
              "applicant_id_number": "001085012347", "applicant_id_type": "cccd",
              "applicant_dob": date(1985, 4, 2)}
    return subject_of(**{**fields, **overrides})  # type: ignore[arg-type]


def test_a_representative_hands_in_the_represented_persons_papers() -> None:
    own = person()
    assert (own.id_number, own.birth_date) == ("001085012347", date(1985, 4, 2))
    for_other = person(applicant_kind="representative", owner_name="Lê Thị Ân",
                       owner_id_number="001190004321")
    assert (for_other.id_number, for_other.full_name, for_other.birth_date) == (
        "001190004321", "Lê Thị Ân", None)
    # an organisation's representative: the applicant's own record
    assert person(applicant_kind="organisation").id_number == "001085012347"


def test_only_a_12_digit_personal_number_can_be_looked_up() -> None:
    assert person().can_be_looked_up
    assert not person(applicant_id_number="123456789", applicant_id_type="cmnd").can_be_looked_up
    assert not person(applicant_id_number="B1234567", applicant_id_type="passport"
                      ).can_be_looked_up
    assert check_mark("identity", person(), position=2) == NationalRecord.IDENTITY
    with pytest.raises(ValidationError) as no_record:
        check_mark("", person(), position=1)
    with pytest.raises(ValidationError) as no_number:
        check_mark("identity", person(applicant_id_type="cmnd",
                                      applicant_id_number="123456789"), position=2)
    assert no_record.value.field == no_number.value.field == "checklist"
    assert "1" in no_record.value.message("en") and "12" in no_number.value.message("en")


def test_back_off_grows_to_its_cap_and_lands_on_whole_seconds() -> None:
    now = datetime(2026, 11, 23, 9, 15, 0, 250_000)
    for attempts in (1, 5, 30):
        at = next_attempt(now, attempts)
        assert at.microsecond == 0 and at > now
        assert (at - now.replace(microsecond=0)).total_seconds() <= max(
            1, RETRY.ceiling(attempts)) + 1
    assert RETRY.ceiling(30) == 3 * 3600


def test_only_final_states_decide_and_only_two_ask_for_the_paper() -> None:
    assert not VerificationState.PENDING.is_final
    assert {s for s in VerificationState if s.needs_paper} == {
        VerificationState.NOT_FOUND, VerificationState.MISMATCH}


def test_a_request_round_trips_and_bad_ones_are_named() -> None:
    request = CheckRequest(RID, "001085012347", "Nguyễn Văn An", date(1985, 4, 2),
                           NationalRecord.RESIDENCE)
    assert parse_request(request.body()) == request
    body = orjson.loads(request.body())
    for field, value in (("id_number", "12345"), ("record", "passport"),
                         ("full_name", ""), ("birth_date", "02/04/1985"),
                         ("request_id", "x")):
        with pytest.raises(ValueError, match=field):
            parse_request(orjson.dumps({**body, field: value}))
    with pytest.raises(ValueError, match="too large"):
        parse_request(b" " * 5000)


def test_only_a_well_formed_answer_to_this_request_is_an_answer() -> None:
    assert parse_reply(reply_body(RID, "match", "REF-1"), RID).state == VerificationState.VERIFIED
    assert parse_reply(reply_body(RID, "not_found"), RID).state == VerificationState.NOT_FOUND
    assert parse_reply(reply_body(RID, "mismatch"), RID).state == VerificationState.MISMATCH
    bad = [b"<html>", b"[]", reply_body("another", "match"), reply_body(RID, "maybe"),
           reply_body(RID, "match", "no spaces allowed"),
           reply_body(RID, "match", "x" * 65), b"{" + b" " * MAX_REPLY_BYTES + b"}"]
    for raw in bad:
        with pytest.raises(ReplyError):
            parse_reply(raw, RID)
