from __future__ import annotations

import pytest

from ccdesk.domain.errors import TransitionError
from ccdesk.domain.lifecycle import Action, Regime, Status, allowed_actions, next_status

R25, R18 = Regime.R2025, Regime.R2018


@pytest.mark.parametrize(("start", "action", "end"), [
    (None, Action.ACCEPT, Status.RECEIVED),
    (None, Action.REQUEST_SUPPLEMENT, Status.WAITING_SUPPLEMENT),
    (None, Action.REFUSE, Status.REFUSED),
    (Status.RECEIVED, Action.START, Status.IN_PROGRESS),
    (Status.IN_PROGRESS, Action.HAND_OFF, Status.HANDED_OFF),
    (Status.HANDED_OFF, Action.RESULT_BACK, Status.IN_PROGRESS),
    (Status.IN_PROGRESS, Action.MARK_READY, Status.RESULT_READY),
    (Status.RESULT_READY, Action.RETURN_RESULT, Status.RETURNED),
    (Status.HANDED_OFF, Action.EXTEND, Status.HANDED_OFF),
    (Status.IN_PROGRESS, Action.STOP, Status.STOPPED),
    (Status.WAITING_SUPPLEMENT, Action.WITHDRAW, Status.WITHDRAWN),
])
def test_legal_transitions(start: Status | None, action: Action, end: Status) -> None:
    assert next_status(start, action, R25) == end


def test_supplement_resumes_the_state_it_interrupted() -> None:
    assert next_status(Status.WAITING_SUPPLEMENT, Action.SUPPLEMENT_RECEIVED, R25,
                       resume_to=Status.HANDED_OFF) == Status.HANDED_OFF
    assert next_status(Status.WAITING_SUPPLEMENT, Action.SUPPLEMENT_RECEIVED, R25) == \
        Status.RECEIVED


@pytest.mark.parametrize(("start", "action"), [
    (Status.RETURNED, Action.RETURN_RESULT),
    (Status.REFUSED, Action.ACCEPT),
    (Status.RECEIVED, Action.RETURN_RESULT),
    (Status.WITHDRAWN, Action.START),
    (Status.RESULT_READY, Action.EXTEND),
])
def test_illegal_transitions_raise_a_clear_domain_error(start: Status, action: Action) -> None:
    with pytest.raises(TransitionError) as info:
        next_status(start, action, R25)
    message = info.value.message("en")
    assert action.value in message and start.value in message


def test_the_2018_regime_has_no_stop_notice() -> None:
    assert Action.STOP in allowed_actions(Status.IN_PROGRESS, R25)
    assert Action.STOP not in allowed_actions(Status.IN_PROGRESS, R18)
    with pytest.raises(TransitionError):
        next_status(Status.IN_PROGRESS, Action.STOP, R18)


def test_final_states_allow_nothing() -> None:
    for status in (Status.RETURNED, Status.REFUSED, Status.STOPPED, Status.WITHDRAWN):
        assert status.is_final
        assert allowed_actions(status, R25) == []
