"""The vocabulary is defined once: what is stored, sent and shown comes from the same enums."""

from __future__ import annotations

from enum import StrEnum

import pytest

from ccdesk.domain import vocabulary as v
from ccdesk.domain.lifecycle import Status as LifecycleStatus
from ccdesk.i18n import LANGUAGES
from ccdesk.services import dossiers, intake, search
from sync import inbox
from sync.server import store

LABELLED = (v.Status, v.Channel, v.Delivery, v.RatingLevel, v.CorrectableField)


@pytest.mark.parametrize("vocabulary", LABELLED, ids=lambda e: e.__name__)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_value_has_a_label_in_each_language(vocabulary: type[StrEnum],
                                                  lang: str) -> None:
    for member in vocabulary:
        label = member.label(lang)
        assert label and not label.startswith("core."), (vocabulary.__name__, member, lang)


def test_values_are_the_stored_strings() -> None:
    # Changing one would orphan stored rows and break the wire protocol.
    assert v.Channel.values() == ("direct", "postal", "online_full", "online_partial")
    assert v.RatingLevel.values() == ("very_satisfied", "satisfied", "dissatisfied")
    assert v.Delivery.values() == ("desk", "post", "online")
    assert v.CorrectableField.values() == ("due_at", "handling_body", "fee_amount", "delivery")
    assert all(type(value) is str for value in v.Channel.values())  # JSON keys for orjson


def test_desk_sync_client_and_server_share_one_vocabulary() -> None:
    assert LifecycleStatus is v.Status
    assert intake.CHANNELS == search.CHANNELS == v.Channel.values()
    assert dossiers.RATINGS == v.RatingLevel.values()
    assert store.STATUSES == v.Status.values()
    assert store.CORRECTABLE == inbox.CORRECTABLE == v.CorrectableField.values()
