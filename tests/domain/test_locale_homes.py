"""Each message has one home: a Vietnamese text appears under one area only (the dossier's
vocabulary — statuses, actions, channels, ratings, timeliness, fields — lives in ``vocab``, and
the CLI, the screens, the reports and the printed forms use it from there), and every key the
code names exists in both languages."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from ccdesk.i18n import catalogue

ROOT = Path(__file__).resolve().parents[2]
AREAS = sorted(p.stem for p in (ROOT / "ccdesk" / "locales" / "vi").glob("*.toml"))
CODE = [p for folder in ("ccdesk", "screens", "sync") for p in (ROOT / folder).rglob("*.py")]

# Keys whose Vietnamese text is also used in another area for a different concept; each says
# why the words coincide. Anything else said twice must be said once (in ``vocab`` when it is
# the dossier's vocabulary) and used from there.
ALLOWED = {
    "cli.calendar.date": "the calendar table's 'Date' heading; the settings screen's day input "
                         "is a different control that happens to use the same one word",
    "cli.calendar.due_human": "the calendar command's computed due time, a sentence of its own; "
                              "the dossier screen states a closed dossier's due in the same words",
    "sync.log.kind": "the kind of a sync log entry, not the kind of a calendar day",
    "tui.forms.kind_extension": "the reprint picker's name for the extension letter in either "
                                "regime; the 2018 circular's title is the same phrase",
    "forms.register.back": "a date column of the printed register (Circular 01/2018 form 02): "
                           "the day the result came back, not the action",
    "forms.register.returned": "a date column of the printed register: the day of return",
    "forms.register.sent": "a date column of the printed register: the day it was sent",
    "sync.log.seqs": "sequence numbers of sync log entries, not the register's row number",
    "reports.table.online": "dossiers received through the online channels (an II.06a column), "
                            "not the online delivery of a result",
    "sync.quarantine.op": "the outbox operation of a quarantined record, not the actions key",
    "sync.quarantine.reason": "why the relay quarantined a record, not a reason an officer "
                              "gives for a dossier",
    "tui.key.intake": "the F2 key's caption, naming the intake screen",
    "tui.reports.col_received": "the report screen's short heading of the received count",
    "queue.board.number": "a queue ticket's number on the board, not a conflict's record id",
    "rating.page.title": "the heading the citizen reads on the rating page, not the officer's "
                         "action of recording a rating",
}


# Strings in the code that look like keys but name something else.
NOT_MESSAGES = {"sync.quarantine.release", "sync.conflict.resolve"}  # audit actions


def _shared_across_areas() -> dict[str, list[str]]:
    keys_by_text: dict[str, list[str]] = defaultdict(list)
    for key, text in catalogue("vi").items():
        keys_by_text[text].append(key)
    return {text: keys for text, keys in keys_by_text.items()
            if len({key.partition(".")[0] for key in keys}) > 1}


def test_a_vietnamese_text_lives_in_one_area() -> None:
    repeated = {}
    for text, keys in _shared_across_areas().items():
        rest = [key for key in keys if key not in ALLOWED]
        if len({key.partition(".")[0] for key in rest}) > 1:
            repeated[text] = rest
    assert repeated == {}, "give each a single home (see ALLOWED for genuine homonyms)"


def test_every_allowed_repetition_is_still_one() -> None:
    shared = {key for keys in _shared_across_areas().values() for key in keys}
    assert sorted(set(ALLOWED) - shared) == []


def _named_keys() -> tuple[set[str], set[str]]:
    """Whole keys written in the code, and the ``area.table`` prefixes of keys it builds
    (``t(f"vocab.status.{s}")``, ``t("vocab.channel." + c)``)."""
    areas = "|".join(AREAS)
    whole = re.compile(rf"""(?<![\w.])["']((?:{areas})\.[a-z0-9_]+\.[a-z0-9_]+)["']""")
    built = re.compile(rf"""(?<![\w.])f?["']((?:{areas})\.[a-z0-9_]+)\.(?:\{{|["']\s*\+)""")
    forms = re.compile(r"""words\(["']([a-z0-9_]+\.[a-z0-9_]+)["']""")
    vocab = re.compile(r"""words\.vocab\(["']([a-z0-9_]+\.[a-z0-9_]+)["']""")
    keys: set[str] = set()
    tables: set[str] = set()
    for path in CODE:
        source = path.read_text(encoding="utf-8")
        keys |= set(whole.findall(source))
        keys |= {f"forms.{k}" for k in forms.findall(source)}
        keys |= {f"vocab.{k}" for k in vocab.findall(source)}
        tables |= set(built.findall(source))
    # ``"sync.doctor.check_" + name`` builds a key from a partial one.
    return {k for k in keys if not k.endswith("_")} - NOT_MESSAGES, tables


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_key_the_code_names_exists(lang: str) -> None:
    messages = catalogue(lang)
    keys, tables = _named_keys()
    assert len(keys) > 300 and len(tables) > 10
    assert sorted(k for k in keys if k not in messages) == []
    prefixes = {key.rsplit(".", 1)[0] for key in messages}
    assert sorted(tables - prefixes) == []
