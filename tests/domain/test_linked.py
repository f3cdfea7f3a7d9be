"""The pure rules of linked groups: the data file, the combined checklist, the derived state."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdesk.domain.catalog import CatalogInvalid
from ccdesk.domain.linked import (
    Agency,
    GroupState,
    MemberSpec,
    bundled_groups,
    combined_checklist,
    group_only,
    group_state,
    parse_groups,
)
from ccdesk.domain.vocabulary import Status


@dataclass
class Doc:
    position: int
    name: str
    form: str = "original"
    quantity: int = 1
    requirement: str = "required"
    condition: str = ""


def test_the_bundled_groups() -> None:
    birth, death = bundled_groups()
    assert (birth.code, death.code) == ("LT-KS", "LT-KT")
    assert [m.agency for m in birth.members] == [Agency.JUSTICE, Agency.POLICE,
                                                 Agency.SOCIAL_INSURANCE]
    assert not any(m.optional for m in birth.members)
    assert [m.optional for m in death.members] == [False, False, True, True]
    assert birth.time.days == 3
    assert group_only(bundled_groups()) == {"1.004222", "1.004194", "1.004181", "1.004252"}


def test_a_bad_file_lists_every_error_with_its_place() -> None:
    text = '''
[[group]]
code = "LT-X"
kind = "wedding"
name = "x"
legal_basis = "y"
time = { days = 0 }
[[group.members]]
procedure = "1.2"
agency = "army"
[[group.members]]
procedure = "1.001193"
agency = "justice"
'''
    with pytest.raises(CatalogInvalid) as err:
        parse_groups(text, "mine.toml")
    places = {e.params["where"] for e in err.value.errors}
    assert places == {"group.0.kind", "group.0.time", "group.0.members.0.procedure",
                      "group.0.members.0.agency"}
    assert "mine.toml" in err.value.message("vi")


def test_a_shared_paper_is_asked_once_and_the_strictest_requirement_wins() -> None:
    a = MemberSpec("1.000001", Agency.JUSTICE)
    b = MemberSpec("1.000002", Agency.POLICE, from_group=("Trích lục khai sinh",))
    items = combined_checklist([
        (a, [Doc(1, "Tờ khai"), Doc(2, "CCCD", "show", requirement="optional")]),
        (b, [Doc(1, "cccd", "show", quantity=2), Doc(2, "Trích lục khai sinh")]),
    ])
    assert [i.name for i in items] == ["Tờ khai", "CCCD"]
    shared = items[1]
    assert shared.holders == (("1.000001", 2), ("1.000002", 1))
    assert shared.required and shared.quantity == 2


def test_the_same_name_in_another_form_is_another_paper() -> None:
    a = MemberSpec("1.000001", Agency.JUSTICE)
    items = combined_checklist([(a, [Doc(1, "Giấy chứng tử", "original"),
                                     Doc(2, "Giấy chứng tử", "certified_copy")])])
    assert len(items) == 2


STATUSES = st.lists(st.sampled_from(list(Status)), min_size=1, max_size=5)


@given(STATUSES)
def test_state_follows_the_members(statuses: list[Status]) -> None:
    state = group_state(s.value for s in statuses)
    back = {Status.RESULT_READY, Status.RETURNED, Status.REFUSED, Status.STOPPED,
            Status.WITHDRAWN}
    if not all(s in back for s in statuses):
        assert state == GroupState.IN_PROGRESS
    elif any(s == Status.RESULT_READY for s in statuses):
        assert state == GroupState.DONE
    else:
        assert state == GroupState.RETURNED


def test_an_empty_group_is_in_progress() -> None:
    assert group_state([]) == GroupState.IN_PROGRESS
