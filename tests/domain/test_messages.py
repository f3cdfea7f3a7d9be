"""The report area's messages: both languages complete, every code shown has a label."""

from __future__ import annotations

import pytest

from ccdesk.domain.lifecycle import Action, Status
from ccdesk.domain.reports import CHANNELS, RATING_LEVELS
from ccdesk.i18n import catalogue


def keys(lang: str) -> set[str]:
    return {k for k in catalogue(lang) if k.startswith("reports.")}


def test_same_keys_in_vietnamese_and_english() -> None:
    assert keys("vi") == keys("en") and len(keys("vi")) > 80


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_status_action_channel_and_rating_has_a_label(lang: str) -> None:
    messages = catalogue(lang)
    wanted = ([f"vocab.status.{s.value}" for s in Status]
              + [f"vocab.action.{a.value}" for a in Action]
              + [f"vocab.channel.{c}" for c in CHANNELS]
              + [f"vocab.rating.{r}" for r in RATING_LEVELS])
    assert [k for k in wanted if not messages.get(k)] == []


def test_vietnamese_labels_carry_their_diacritics() -> None:
    vi = catalogue("vi")
    assert vi["vocab.timeliness.on_time"] == "Đúng hạn"
    assert vi["vocab.rating.very_satisfied"] == "Rất hài lòng"
    assert vi["vocab.channel.postal"] == "Bưu chính công ích"
