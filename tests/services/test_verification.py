"""Checklist items verified in the national database instead of on paper (docs/verification.md):
the mark at intake, the queue, outcomes against a real double on 127.0.0.1 (event, audit,
outbox), the supplement asked only when the data could not be retrieved, retries on transport
faults only, and the offline pending list."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlmodel import select

from ccdesk.domain.errors import CcdeskError
from ccdesk.domain.lifecycle import Action
from ccdesk.domain.vocabulary import Status, VerificationState
from ccdesk.models import AuditLog, DossierEvent, Outbox, SupplementRound, Verification
from ccdesk.services import Actor, Services
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from ccdesk.services.verification_run import (
    EXIT_DONE,
    EXIT_PARTIAL,
    EXIT_UNREACHABLE,
    run_checks,
)
from tests.conftest import FakeClock
from tests.services.verification_kit import (
    KNOWN,
    SIGNATURE,
    UNKNOWN,
    WRONG_NAME,
    checker,
    intake_marked,
    national_double,
)


def rows(desk: Services, model: type) -> list:
    with desk.db.session() as session:
        return list(session.exec(select(model)).all())


def run(desk: Services, url: str, **options: object):  # noqa: ANN201 - RunResult
    client = checker(url, timeout=float(options.pop("timeout", 5.0)))  # type: ignore[arg-type]
    try:
        return run_checks(desk.verification, client, sleep=lambda _: None, **options)  # type: ignore[arg-type]
    finally:
        client.close()


# ---- marking at intake ------------------------------------------------------------------------
def test_a_marked_item_counts_as_handed_in_and_is_queued(desk: Services, officer: Actor) -> None:
    result = intake_marked(desk, officer)
    assert result.dossier.status == Status.RECEIVED  # accepted without the ID paper
    [queued] = rows(desk, Verification)
    assert (queued.position, queued.record, queued.state) == (2, "identity", "pending")
    assert queued.officer_id == officer.officer_id and queued.attempts == 0
    [event] = rows(desk, DossierEvent)
    assert orjson.loads(event.data)["verify"] == [{"position": 2, "record": "identity"}]
    [pending] = desk.verification.pending()
    assert (pending.dossier_code, pending.position, pending.state) == (
        result.dossier.code, 2, "pending")
    assert desk.verification.count_pending() == 1


def test_only_a_verifiable_paper_can_be_marked(desk: Services, officer: Actor) -> None:
    entries = [ChecklistEntry(1, False, verify=True), ChecklistEntry(2, True)]
    with pytest.raises(CcdeskError) as caught:
        desk.intake.submit(officer, IntakeRequest(SIGNATURE, KNOWN, entries), Decision.ACCEPT)
    assert caught.value.field == "checklist" and "1" in caught.value.message("en")
    assert rows(desk, Verification) == [] and rows(desk, DossierEvent) == []


def test_marking_needs_the_12_digit_id_number(desk: Services, officer: Actor) -> None:
    old_card = Applicant("Trần Văn Cường", "123456789", id_type="cmnd", phone="0912000006")
    with pytest.raises(CcdeskError) as caught:
        intake_marked(desk, officer, old_card)
    assert "12" in caught.value.message("en")
    assert rows(desk, Verification) == []


def test_an_unmarked_missing_paper_still_blocks_acceptance(desk: Services,
                                                           officer: Actor) -> None:
    entries = [ChecklistEntry(1, True), ChecklistEntry(2, False)]
    with pytest.raises(CcdeskError):
        desk.intake.submit(officer, IntakeRequest(SIGNATURE, KNOWN, entries), Decision.ACCEPT)


# ---- outcomes against the double ------------------------------------------------------------
def test_verified_is_an_event_an_audit_line_and_an_outbox_row(desk: Services, officer: Actor,
                                                              tmp_path: Path) -> None:
    code = intake_marked(desk, officer).dossier.code
    with national_double(tmp_path) as (url, state):
        result = run(desk, url)
    assert result.exit_code == EXIT_DONE and result.answered["verified"] == 1
    assert state.answers == {"match": 1}
    [row] = rows(desk, Verification)
    assert row.state == "verified" and row.reference.startswith("DOUBLE-")
    event = rows(desk, DossierEvent)[-1]
    assert event.action == Action.NATIONAL_CHECK and event.to_status == Status.RECEIVED
    data = orjson.loads(event.data)
    assert (data["position"], data["outcome"], data["record"]) == (2, "verified", "identity")
    audit = [a for a in rows(desk, AuditLog) if a.action == "national_check"]
    assert [a.dossier_code for a in audit] == [code]
    outbox = [orjson.loads(o.payload) for o in rows(desk, Outbox) if o.op == "dossier.event"]
    assert outbox[-1]["event"]["action"] == "national_check"
    # No personal data in the audit trail or the queue.
    for line in rows(desk, AuditLog):
        assert KNOWN.id_number not in line.detail and KNOWN.full_name not in line.detail
    assert rows(desk, SupplementRound) == []                  # verified: nothing asked
    assert desk.verification.pending() == []
    assert desk.verification.for_dossier(code)[2].state == "verified"


def test_not_found_asks_for_exactly_that_paper(desk: Services, officer: Actor,
                                               tmp_path: Path) -> None:
    code = intake_marked(desk, officer, UNKNOWN).dossier.code
    with national_double(tmp_path) as (url, _):
        result = run(desk, url)
    assert result.exit_code == EXIT_DONE and result.answered["not_found"] == 1
    assert result.supplements == [code]
    [round_] = rows(desk, SupplementRound)
    assert round_.requested_by == officer.officer_id       # Mẫu 02 names who guides
    items = orjson.loads(round_.items)
    assert [i["name"] for i in items] == ["Giấy tờ tùy thân của người ký"]
    assert "CSDL quốc gia" in items[0]["reason"]
    detail = desk.dossiers.detail(code)
    assert detail.dossier.status == Status.WAITING_SUPPLEMENT
    assert [e.action for e in detail.events][-2:] == ["national_check", "request_supplement"]
    assert detail.events[-2].reason == "Giấy tờ tùy thân của người ký: Không tìm thấy dữ liệu"
    assert detail.events[-1].officer_id is None              # the checker asked, not a person
    [row] = rows(desk, Verification)
    assert (row.state, row.supplement_round) == ("not_found", 1)
    assert desk.verification.pending() == []                  # asked: nothing owed any more


def test_a_mismatch_asks_for_the_paper_too(desk: Services, officer: Actor,
                                           tmp_path: Path) -> None:
    code = intake_marked(desk, officer, WRONG_NAME).dossier.code
    with national_double(tmp_path) as (url, state):
        result = run(desk, url)
    assert state.answers == {"mismatch": 1} and result.supplements == [code]
    assert desk.dossiers.detail(code).dossier.status == Status.WAITING_SUPPLEMENT


def test_transport_faults_retry_with_back_off_and_never_decide(desk: Services, officer: Actor,
                                                               clock: FakeClock,
                                                               tmp_path: Path) -> None:
    code = intake_marked(desk, officer, UNKNOWN).dossier.code
    with national_double(tmp_path, "fail_first=2") as (url, state):
        first = run(desk, url, once=True)
        assert first.exit_code == EXIT_UNREACHABLE and first.last_error == "http_503"
        [row] = rows(desk, Verification)
        assert (row.state, row.attempts, row.last_error) == ("pending", 1, "http_503")
        assert row.next_attempt_at > clock.now                 # backed off
        assert rows(desk, SupplementRound) == []               # a 503 is not "not found"
        again = run(desk, url, once=True)                       # not due yet: nothing tried
        assert state.requests == 1 and again.exit_code == EXIT_DONE
        clock.now = row.next_attempt_at
        run(desk, url, once=True)                               # the second 503
        clock.now = rows(desk, Verification)[0].next_attempt_at
        last = run(desk, url, once=True)
    assert last.exit_code == EXIT_DONE and last.answered["not_found"] == 1
    assert rows(desk, Verification)[0].attempts == 2
    assert desk.dossiers.detail(code).dossier.status == Status.WAITING_SUPPLEMENT


def test_a_timeout_is_a_transport_failure(desk: Services, officer: Actor,
                                          tmp_path: Path) -> None:
    intake_marked(desk, officer)
    with national_double(tmp_path, "timeout=1,hang=2") as (url, _):
        result = run(desk, url, once=True, timeout=0.3)
    assert result.exit_code == EXIT_UNREACHABLE and result.last_error == "timeout"
    assert rows(desk, Verification)[0].state == "pending"


def test_unreachable_database(desk: Services, officer: Actor, tmp_path: Path) -> None:
    intake_marked(desk, officer)
    with national_double(tmp_path) as (url, _):
        pass                                                    # stopped: nothing listens
    result = run(desk, url, once=True)
    assert result.exit_code == EXIT_UNREACHABLE and result.last_error == "connect"


def test_some_answered_some_not_is_partial(desk: Services, officer: Actor,
                                           tmp_path: Path) -> None:
    intake_marked(desk, officer)
    intake_marked(desk, officer, UNKNOWN)
    with national_double(tmp_path, "fail_first=1") as (url, _):
        result = run(desk, url, once=True)
    assert result.exit_code == EXIT_PARTIAL
    assert (result.checked, result.unanswered) == (1, 1)


def test_without_once_the_run_waits_for_retries_within_max_time(
        desk: Services, officer: Actor, clock: FakeClock, tmp_path: Path) -> None:
    intake_marked(desk, officer)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds=seconds + 1)

    with national_double(tmp_path, "fail_first=1") as (url, _):
        client = checker(url)
        result = run_checks(desk.verification, client, max_time=3 * 3600, sleep=sleep)
        client.close()
    assert result.exit_code == EXIT_DONE and result.answered["verified"] == 1
    assert len(waits) == 1 and waits[0] > 0


# ---- the dossier's state decides when the paper can be asked for ----------------------------
def test_a_failed_check_while_waiting_for_a_supplement_is_owed_then_asked(
        desk: Services, officer: Actor, tmp_path: Path) -> None:
    code = intake_marked(desk, officer, UNKNOWN, decision=Decision.SUPPLEMENT,
                         paper_one=False).dossier.code
    with national_double(tmp_path) as (url, _):
        run(desk, url)
        [owed] = desk.verification.pending()                  # listed, never silent
        assert owed.owes_supplement and owed.state == "not_found"
        assert len(rows(desk, SupplementRound)) == 1          # no second round yet
        desk.dossiers.act(officer, code, Action.SUPPLEMENT_RECEIVED, received_positions=[1])
        result = run(desk, url)
    assert result.supplements == [code]
    rounds = rows(desk, SupplementRound)
    assert [r.round_no for r in rounds] == [1, 2]
    assert [i["name"] for i in orjson.loads(rounds[1].items)] == [
        "Giấy tờ tùy thân của người ký"]


def test_a_closed_dossier_cancels_its_check(desk: Services, officer: Actor,
                                            tmp_path: Path) -> None:
    code = intake_marked(desk, officer).dossier.code
    desk.dossiers.act(officer, code, Action.WITHDRAW, reason="Công dân rút hồ sơ")
    assert desk.verification.pending() == []
    with national_double(tmp_path) as (url, state):
        result = run(desk, url)
    assert state.requests == 0 and result.exit_code == EXIT_DONE
    assert rows(desk, Verification)[0].state == "cancelled"
    assert any(a.action == "verification.cancelled" for a in rows(desk, AuditLog))


def test_a_refused_intake_queues_nothing(desk: Services, officer: Actor) -> None:
    intake_marked(desk, officer, decision=Decision.REFUSE)
    assert rows(desk, Verification) == []


def test_an_outcome_left_without_its_request_is_asked_once(desk: Services, officer: Actor,
                                                           tmp_path: Path) -> None:
    """A run stopped between the outcome and the request (kill -9): the next run asks, and two
    requests at once never make two rounds."""
    code = intake_marked(desk, officer, UNKNOWN).dossier.code
    [check] = desk.verification.due()
    assert desk.verification.record_outcome(check.id, VerificationState.NOT_FOUND)
    assert not desk.verification.record_outcome(check.id, VerificationState.VERIFIED)  # final
    [owed] = desk.verification.pending()
    assert owed.owes_supplement
    with national_double(tmp_path) as (url, state):
        result = run(desk, url)
    assert result.supplements == [code] and state.requests == 0
    assert desk.verification.request_owed_supplements() == []
    assert [r.round_no for r in rows(desk, SupplementRound)] == [1]
