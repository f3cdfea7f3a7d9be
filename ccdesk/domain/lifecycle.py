"""The dossier state machine (Decree 118/2025; Decree 61/2018 kept as the legacy regime).

::

    (intake) --accept--> received --start--> in_progress --hand_off--> handed_off
        |                  |  \\                 |   ^                    |
        |                  |   mark_ready        |   +----result_back-----+
        |--supplement-->  waiting_supplement     +--mark_ready--> result_ready --return--> returned
        |--refuse-->  refused
    request_supplement / supplement_received pause and resume the clock;
    extend (Mẫu 04) keeps the state and moves the due time; stop (2025 only) and withdraw end it.
"""

from __future__ import annotations

from enum import StrEnum

from ccdesk.domain.errors import TransitionError
from ccdesk.domain.vocabulary import FINAL_STATUSES, RUNNING_STATUSES, Regime, Status

__all__ = ["FINAL_STATUSES", "RUNNING_STATUSES", "Action", "Regime", "Status"]


class Action(StrEnum):
    ACCEPT = "accept"
    REQUEST_SUPPLEMENT = "request_supplement"
    SUPPLEMENT_RECEIVED = "supplement_received"
    REFUSE = "refuse"
    START = "start"
    HAND_OFF = "hand_off"
    RESULT_BACK = "result_back"
    MARK_READY = "mark_ready"
    RETURN_RESULT = "return_result"
    EXTEND = "extend"
    STOP = "stop"
    WITHDRAW = "withdraw"
    REPRINT = "reprint"
    RATE = "rate"
    UPSTREAM_UPDATE = "upstream_update"
    # A person settled a push conflict for the desk's state: sent from the district's state.
    KEEP_LOCAL = "keep_local"
    # A digitised paper tied to or taken off a checklist item (docs/attachments.md).
    ATTACH = "attach"
    DETACH = "detach"
    # The outcome of a checklist item's national-database check (docs/verification.md):
    # the state stays; the event carries the item and the outcome.
    NATIONAL_CHECK = "national_check"


# Action -> the states it may start from (None = intake, before the dossier exists).
_FROM: dict[Action, frozenset[Status | None]] = {
    Action.ACCEPT: frozenset({None}),
    Action.REFUSE: frozenset({None, Status.WAITING_SUPPLEMENT}),
    Action.REQUEST_SUPPLEMENT: frozenset({None, Status.RECEIVED, Status.IN_PROGRESS,
                                          Status.HANDED_OFF}),
    Action.SUPPLEMENT_RECEIVED: frozenset({Status.WAITING_SUPPLEMENT}),
    Action.START: frozenset({Status.RECEIVED}),
    Action.HAND_OFF: frozenset({Status.RECEIVED, Status.IN_PROGRESS}),
    Action.RESULT_BACK: frozenset({Status.HANDED_OFF}),
    Action.MARK_READY: frozenset({Status.RECEIVED, Status.IN_PROGRESS}),
    Action.RETURN_RESULT: frozenset({Status.RESULT_READY}),
    Action.EXTEND: frozenset({Status.RECEIVED, Status.IN_PROGRESS, Status.HANDED_OFF}),
    Action.STOP: frozenset({Status.RECEIVED, Status.IN_PROGRESS, Status.HANDED_OFF,
                            Status.WAITING_SUPPLEMENT}),
    Action.WITHDRAW: frozenset({Status.RECEIVED, Status.IN_PROGRESS, Status.HANDED_OFF,
                                Status.WAITING_SUPPLEMENT, Status.RESULT_READY}),
}

_TO: dict[Action, Status] = {
    Action.ACCEPT: Status.RECEIVED,
    Action.REFUSE: Status.REFUSED,
    Action.REQUEST_SUPPLEMENT: Status.WAITING_SUPPLEMENT,
    Action.START: Status.IN_PROGRESS,
    Action.HAND_OFF: Status.HANDED_OFF,
    Action.RESULT_BACK: Status.IN_PROGRESS,
    Action.MARK_READY: Status.RESULT_READY,
    Action.RETURN_RESULT: Status.RETURNED,
    Action.STOP: Status.STOPPED,
    Action.WITHDRAW: Status.WITHDRAWN,
}

# The 2018 regime has no "Thông báo dừng giải quyết" (Mẫu 05 of Circular 03/2025 is new).
_NOT_IN_REGIME: dict[Regime, frozenset[Action]] = {
    Regime.R2018: frozenset({Action.STOP}),
    Regime.R2025: frozenset(),
}

# Decree 63/2010 art. 20: a citizen must not be sent back more than twice.
SUPPLEMENT_WARN_ROUND = 2


def allowed_actions(status: Status | None, regime: Regime) -> list[Action]:
    """The actions the desk may take on a dossier in ``status`` (for menus and buttons)."""
    banned = _NOT_IN_REGIME[regime]
    return [a for a, starts in _FROM.items() if status in starts and a not in banned]


def next_status(status: Status | None, action: Action, regime: Regime,
                resume_to: Status | None = None) -> Status:
    """The state after ``action``, or a :class:`TransitionError` naming both."""
    if action in _NOT_IN_REGIME[regime] or status not in _FROM.get(action, frozenset()):
        raise TransitionError("core.err.transition", action=action.value,
                              status=(status.value if status else "new"), regime=regime.value)
    if action == Action.SUPPLEMENT_RECEIVED:
        return resume_to or Status.RECEIVED
    if action == Action.EXTEND:
        assert status is not None
        return status
    return _TO[action]
