"""Delivery semantics against a scripted upstream on 127.0.0.1: real desks push to a real relay,
the forwarder sends on. (End-to-end against the conformance double: test_end_to_end.py.)"""

from __future__ import annotations

from sqlalchemy import select

from ccdesk.domain.lifecycle import Action
from sync.upstream import dead_letters as dead_letter_list
from sync.upstream.config import load_config
from sync.upstream.forwarder import Forwarder
from sync.upstream.status import status as upstream_status
from sync.upstream.tables import AUDIT, DOSSIER, STEP
from tests.sync.helpers import Desk, ServerThread
from tests.sync.upstream.conftest import FAST, configure, enrolled_desk, forwarder, push
from tests.sync.upstream.fake_upstream import FakeUpstream


def mutations(relay: ServerThread) -> list[str]:
    return relay.store.mutation_ids()


def test_snapshot_then_steps_each_once_and_only_changes_resent(
        desk: Desk, relay: ServerThread, fake: FakeUpstream) -> None:
    a, b = desk.intake(2)
    desk.act(a, Action.START)
    push(desk)
    configure(relay.store, fake.url)
    result = forwarder(relay.store).run()
    assert result.exit_code == 0, result
    assert set(fake.snapshots) == {a, b} and fake.snapshots[a]["TrangThaiHoSo"] == "4"
    assert len(fake.steps) == len(mutations(relay)) == 3
    assert [s["TrangThai"] for s in fake.steps if s["MaHoSo"] == a] == ["2", "4"]

    again = forwarder(relay.store).run()   # nothing new: nothing sent
    assert (again.exit_code, again.snapshots_sent, again.steps_sent) == (0, 0, 0)
    assert len(fake.steps) == 3

    desk.act(a, Action.MARK_READY)
    push(desk)
    third = forwarder(relay.store).run()
    assert (third.exit_code, third.snapshots_sent, third.steps_sent) == (0, 1, 1)
    assert fake.updates[a] == 1 and fake.creates[a] == 1 and b not in fake.updates
    assert fake.snapshots[a]["TrangThaiHoSo"] == "9"
    status = upstream_status(relay.store.engine)
    assert status == status | {"profile": "dvcqg", "pending": 0, "delivered": 2,
                               "steps_sent": 4, "dead_letter": 0,
                               "oldest_pending_age_s": None, "last_error": None}
    assert status["last_success_at"]


def test_already_exists_upstream_means_update(desk: Desk, relay: ServerThread,
                                              fake: FakeUpstream) -> None:
    (code,) = desk.intake(1)
    push(desk)
    fake.snapshots[code] = {"MaHoSo": code}   # created upstream before (a crash, another tool)
    configure(relay.store, fake.url)
    result = forwarder(relay.store).run()
    assert result.exit_code == 0, result
    assert (fake.creates[code], fake.updates[code]) == (0, 1)
    with relay.store.engine.connect() as conn:
        assert conn.execute(select(DOSSIER.c.known_upstream)).scalar_one()


def test_a_reject_blocks_that_dossier_only_until_a_person_retries(
        desk: Desk, relay: ServerThread, fake: FakeUpstream) -> None:
    bad, good = desk.intake(2)
    push(desk)
    configure(relay.store, fake.url)
    fake.script.reject_codes = {bad}
    result = forwarder(relay.store).run()
    assert result.exit_code == 40 and result.dead_letter == 1
    assert set(fake.snapshots) == {good} and fake.step_keys(bad) == []
    letters = dead_letter_list.dead_letters(relay.store.engine)
    assert [(d["dossier_code"], d["kind"], d["reason_code"]) for d in letters] == [
        (bad, "snapshot", "rejected")]
    assert "MaTTHC không hợp lệ" in letters[0]["message"]

    desk.act(bad, Action.START)   # later items of that dossier wait behind the dead letter
    push(desk)
    assert forwarder(relay.store).run().exit_code == 40
    assert fake.step_keys(bad) == []

    fake.script.reject_codes = set()
    assert dead_letter_list.retry(relay.store.engine, bad) == 1
    final = forwarder(relay.store).run()
    assert final.exit_code == 0, final
    assert [s[1] for s in fake.step_keys(bad)] == ["2", "4"]
    assert fake.snapshots[bad]["TrangThaiHoSo"] == "4"
    with relay.store.engine.connect() as conn:
        actions = list(conn.execute(select(AUDIT.c.action).order_by(AUDIT.c.id)).scalars())
    assert actions.count("dead_letter") == 1 and "dead_letter_retry" in actions


def test_dropped_steps_are_never_sent_and_the_reason_is_audited(
        desk: Desk, relay: ServerThread, fake: FakeUpstream) -> None:
    (code,) = desk.intake(1)
    push(desk)
    configure(relay.store, fake.url)
    fake.script.reject_step_codes = {code}
    assert forwarder(relay.store).run().exit_code == 40
    config = load_config(relay.store.engine)
    assert dead_letter_list.drop(relay.store.engine, code, "entered by hand upstream",
                   dead_letter_list.snapshot_hash(config)) == 1
    fake.script.reject_step_codes = set()
    result = forwarder(relay.store).run()
    assert result.exit_code == 0 and result.steps_sent == 0
    assert fake.step_keys(code) == []
    with relay.store.engine.connect() as conn:
        assert conn.execute(select(STEP.c.state)).scalar_one() == "dropped"
        detail = conn.execute(select(AUDIT.c.detail).where(
            AUDIT.c.action == "dead_letter_drop")).scalar_one()
    assert "entered by hand upstream" in detail


def test_preflight_failure_is_a_dead_letter_and_nothing_leaves(
        desk: Desk, relay: ServerThread, fake: FakeUpstream) -> None:
    desk.intake(1)
    push(desk)
    configure(relay.store, fake.url, settings={"max_lengths": {"ChuHoSo": 3}})
    result = forwarder(relay.store).run()
    assert result.exit_code == 40
    assert fake.snapshots == {} and fake.steps == []
    (letter,) = dead_letter_list.dead_letters(relay.store.engine)
    assert letter["reason_code"] == "preflight" and "ChuHoSo" in letter["message"]


def test_transport_failures_are_retried_then_reported_unreachable(
        desk: Desk, relay: ServerThread, fake: FakeUpstream) -> None:
    desk.intake(1)
    push(desk)
    configure(relay.store, fake.url)
    fake.script.fail_next = 2   # two 500s, then fine: the back-off gets through
    assert forwarder(relay.store).run().exit_code == 0
    assert len(fake.steps) == 1

    (code,) = desk.intake(1)
    push(desk)
    fake.script.fail_next = 100
    result = forwarder(relay.store).run()
    assert result.exit_code == 20 and "unreachable" in result.error
    assert upstream_status(relay.store.engine)["pending"] == 1
    assert "HTTP 500" in upstream_status(relay.store.engine)["last_error"]
    fake.script.fail_next = 0
    assert forwarder(relay.store).run().exit_code == 0
    assert len(fake.step_keys(code)) == 1


def test_expired_session_is_renewed_and_wrong_password_is_30(
        desk: Desk, relay: ServerThread, fake: FakeUpstream) -> None:
    desk.intake(1)
    push(desk)
    configure(relay.store, fake.url, password="wrong")
    result = forwarder(relay.store).run()
    assert result.exit_code == 30 and fake.snapshots == {}
    configure(relay.store, fake.url)
    run = forwarder(relay.store)
    run.transport._login()   # a session that the upstream forgets before the next call
    fake.sessions.clear()
    assert run.run().exit_code == 0
    assert fake.logins == 2 and len(fake.steps) == 1


def test_demo_dossiers_only_go_to_an_upstream_that_accepts_demo(
        tmp_path, relay: ServerThread, fake: FakeUpstream) -> None:  # noqa: ANN001
    demo = enrolled_desk(tmp_path / "demo", relay, demo=True)
    try:
        (code,) = demo.intake(1)
        push(demo)
    finally:
        demo.close()
    # A district change has no device: ingested with the create, it must not make it real.
    relay.store.record_change(code, "status", status="in_progress")
    configure(relay.store, fake.url)
    result = forwarder(relay.store).run()
    assert (result.exit_code, result.demo_held) == (0, 1)
    assert fake.snapshots == {} and upstream_status(relay.store.engine)["pending"] == 0
    configure(relay.store, fake.url, accept_demo=True)
    assert forwarder(relay.store).run().exit_code == 0
    assert len(fake.snapshots) == 1


def test_two_forwarders_never_run_at_once(desk: Desk, relay: ServerThread,
                                          fake: FakeUpstream) -> None:
    desk.intake(1)
    push(desk)
    configure(relay.store, fake.url)
    first = forwarder(relay.store)
    assert first.lease.take()
    second = forwarder(relay.store).run()
    assert (second.exit_code, second.error) == (10, "locked") and fake.steps == []
    first.lease.release()
    assert forwarder(relay.store).run().exit_code == 0


def test_time_limit_leaves_the_rest_for_the_next_run(desk: Desk, relay: ServerThread,
                                                     fake: FakeUpstream) -> None:
    desk.intake(3)
    push(desk)
    configure(relay.store, fake.url, settings={"snapshot_batch": 1})   # one dossier a call
    ticks = iter(range(1000))
    run = Forwarder(relay.store.engine, load_config(relay.store.engine),
                       sleep=lambda _s: None, clock=lambda: float(next(ticks)))
    result = run.run(once=True, max_time=2.5)   # the clock moves one second per look
    assert (result.exit_code, result.error) == (10, "time_limit")
    assert 0 < len(fake.snapshots) < 3 and result.pending == 3 - len(fake.snapshots)
    assert forwarder(relay.store).run().exit_code == 0
    assert len(fake.snapshots) == 3 and len(fake.steps) == 3


def test_a_refused_step_batch_of_several_dossiers_blocks_only_the_one_at_fault(
        desk: Desk, relay: ServerThread, fake: FakeUpstream) -> None:
    bad, good, other = desk.intake(3)
    push(desk)
    configure(relay.store, fake.url)
    fake.script.reject_step_codes = {bad}
    result = forwarder(relay.store).run()
    assert result.exit_code == 40
    assert fake.step_keys(bad) == [] and len(fake.step_keys(good)) == 1 \
        and len(fake.step_keys(other)) == 1
    (letter,) = dead_letter_list.dead_letters(relay.store.engine)
    assert (letter["dossier_code"], letter["kind"]) == (bad, "step")
    assert upstream_status(relay.store.engine)["delivered"] == 2


def test_a_service_run_rides_out_an_outage(desk: Desk, relay: ServerThread,
                                           fake: FakeUpstream) -> None:
    desk.intake(1)
    push(desk)
    configure(relay.store, fake.url)
    fake.script.fail_next = 4   # the first pass gives up (3 attempts), the second gets through
    ticks = iter(range(10_000))
    run = Forwarder(relay.store.engine, load_config(relay.store.engine),
                       policy=FAST, sleep=lambda _s: None, clock=lambda: float(next(ticks)))
    result = run.run(once=False, max_time=60)
    assert result.exit_code == 0 and result.passes >= 2, result
    assert len(fake.steps) == 1
