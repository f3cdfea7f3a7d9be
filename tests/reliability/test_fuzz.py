"""Hypothesis fuzzing of what people type or hand over: the catalogue file, the calendar override
file and the applicant form. Bad input must end in a clear, translated ``CcdeskError`` naming
where it is wrong (never another exception), and must leave the database as it was."""

from __future__ import annotations

import hashlib
import os
import re
import string
from datetime import date, datetime

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccdesk.domain.calendar import CalendarOverrides
from ccdesk.domain.catalog import parse_catalog
from ccdesk.domain.errors import CcdeskError, InvalidInput
from ccdesk.services.intake import (
    Applicant,
    ChecklistEntry,
    Decision,
    IntakeRequest,
    validate_applicant,
)
from ccdesk.text import nfc
from tests.reliability.conftest import CATALOG, Desk, db_dump

FUZZ = settings(max_examples=int(os.environ.get("CCDESK_FUZZ_EXAMPLES", "40")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
CATALOG_TEXT = CATALOG.read_text(encoding="utf-8")
RAW_KEY = re.compile(r"\b(core|reliability|cli)\.[a-z_]+\.[a-z_]+\b")


def assert_clear(err: CcdeskError) -> None:
    """A message in both languages, every key translated, nothing empty."""
    for lang in ("vi", "en"):
        message = err.message(lang)
        assert message.strip(), err.key
        assert not RAW_KEY.search(message), message


def fingerprint(desk: Desk) -> str:
    return hashlib.sha256(db_dump(desk.db_path).encode()).hexdigest()


# ---- values that TOML can carry -------------------------------------------------------------

scalars = st.one_of(
    st.text(max_size=30), st.text(alphabet="0123456789.", max_size=12),
    st.integers(min_value=-(2**63), max_value=2**63 - 1), st.booleans(),
    st.floats(allow_nan=False), st.dates(), st.datetimes(),
    st.sampled_from(["same_day", "working_days", "free", "fixed", "per_page", "provincial",
                     "original", "copy", "certified_copy", "show", "required", "optional",
                     "conditional", "desk", "1.001193", "2.000815", ""]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["kind", "days", "amount", "name", "form", "quantity",
                                     "requirement", "x"]), inner, max_size=4)), max_leaves=8)
PROCEDURE_KEYS = ["code", "name", "field", "handling_body", "legal_basis", "effective_from",
                  "effective_to", "verify", "time", "fee", "documents", "unknown"]
procedures = st.dictionaries(st.sampled_from(PROCEDURE_KEYS), values, max_size=10)
catalog_docs = st.fixed_dictionaries(
    {}, optional={"catalog_version": values,
                  "procedure": st.one_of(st.lists(procedures, max_size=3), values)})


def _mutations() -> st.SearchStrategy[str]:
    """The real catalogue with a line dropped, duplicated, cut or replaced by noise."""
    lines = CATALOG_TEXT.splitlines()

    @st.composite
    def mutate(draw: st.DrawFn) -> str:
        out = list(lines)
        for _ in range(draw(st.integers(1, 3))):
            i = draw(st.integers(0, len(out) - 1))
            kind = draw(st.sampled_from(["drop", "dup", "cut", "noise", "value"]))
            if kind == "drop":
                del out[i]
            elif kind == "dup":
                out.insert(i, out[i])
            elif kind == "cut":
                out[i] = out[i][: draw(st.integers(0, len(out[i])))]
            elif kind == "noise":
                out[i] = draw(st.text(alphabet=string.printable + "đĐạễ\x00\u200b", max_size=40))
            elif "=" in out[i]:
                key = out[i].split("=", 1)[0]
                out[i] = key + "= " + draw(st.sampled_from(
                    ['""', "-1", "1e9", "true", "[]", "{}", "1979-05-27", '"x" ',
                     '"' + "A" * 600 + '"', "99999999999999999999"]))
        return "\n".join(out)

    return mutate()


def _catalog_outcome(desk: Desk, text: str) -> None:
    before = fingerprint(desk)
    try:
        catalog = parse_catalog(text, source="fuzz.toml")
    except CcdeskError as err:
        assert_clear(err)
        assert "fuzz.toml" in err.message("en")  # says which file…
        assert fingerprint(desk) == before
        return
    try:
        desk.services.catalog.import_catalog(catalog)
    except CcdeskError as err:  # accepted by the parser but refused on import: nothing kept
        assert_clear(err)
        assert fingerprint(desk) == before


@FUZZ
@given(text=_mutations())
def test_fuzz_catalogue_mutations(desk: Desk, text: str) -> None:
    _catalog_outcome(desk, text)


@FUZZ
@given(doc=catalog_docs)
def test_fuzz_catalogue_structures(desk: Desk, doc: dict) -> None:
    try:
        text = tomli_w.dumps(doc)
    except (TypeError, ValueError):
        return  # not representable in TOML (e.g. mixed arrays in old writers)
    _catalog_outcome(desk, text)


@FUZZ
@given(text=st.text(max_size=300))
def test_fuzz_catalogue_arbitrary_text(desk: Desk, text: str) -> None:
    _catalog_outcome(desk, text)


# ---- calendar.toml ------------------------------------------------------------------------

day_entries = st.dictionaries(st.sampled_from(["date", "name", "note"]),
                              st.one_of(scalars, st.dates()), max_size=3)
calendar_docs = st.fixed_dictionaries({}, optional={
    "days_off": st.one_of(st.lists(day_entries, max_size=4), values),
    "working_days": st.one_of(st.lists(day_entries, max_size=4), values),
})


@settings(max_examples=100, deadline=None)
@given(doc=calendar_docs)
def test_fuzz_calendar_overrides(doc: dict) -> None:
    try:
        text = tomli_w.dumps(doc)
    except (TypeError, ValueError):
        return
    try:
        overrides = CalendarOverrides.parse(text, source="calendar.toml")
    except CcdeskError as err:
        assert_clear(err)
        message = err.message("en")
        assert "calendar.toml" in message and "line" in message
        return
    days = [d.day for d in overrides.days_off + overrides.working_days]
    assert len(days) == len(set(days)) and all(type(d) is date for d in days)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200))
def test_fuzz_calendar_arbitrary_text(text: str) -> None:
    try:
        CalendarOverrides.parse(text, source="calendar.toml")
    except CcdeskError as err:
        assert_clear(err)
        assert "calendar.toml" in err.message("en")


# ---- the applicant form -------------------------------------------------------------------

def _texty(max_size: int) -> st.SearchStrategy[str]:
    return st.one_of(st.text(max_size=max_size),
                     st.text(alphabet="0123456789 +.-()", max_size=20),
                     st.sampled_from(["Nguyễn Văn A", "Nguye\u0302\u0303n Thị B", "",
                                      "   ", "x" * 101, "a@b.vn", "0912345678",
                                      "001085012345", "+84 912 345 678", "C1234567"]))


applicants = st.builds(
    Applicant,
    full_name=_texty(120),
    id_number=_texty(20),
    id_type=st.sampled_from(["cccd", "cmnd", "passport", "", "CCCD", "visa"]),
    date_of_birth=st.one_of(st.none(), st.dates(min_value=date(1850, 1, 1),
                                                max_value=date(2100, 1, 1))),
    phone=_texty(20),
    email=_texty(260),
    address=_texty(300),
)
TODAY = datetime(2026, 11, 23, 9, 15).date()


@settings(max_examples=200, deadline=None)
@given(applicant=applicants)
def test_fuzz_applicant_validators(applicant: Applicant) -> None:
    try:
        clean = validate_applicant(applicant, today=TODAY)
    except InvalidInput as err:
        assert err.errors and all(e.field for e in err.errors)  # each error names its field
        assert_clear(err)
        return
    # Accepted input is normalised (NFC, spaces collapsed), never truncated.
    assert clean.full_name == nfc(applicant.full_name) and len(clean.full_name) <= 100
    assert clean.address == nfc(applicant.address) and len(clean.address) <= 255
    assert clean.email == nfc(applicant.email).lower() and len(clean.email) <= 254


@FUZZ
@given(applicant=applicants, fields=st.dictionaries(
    st.sampled_from(["owner_name", "owner_address", "channel", "delivery", "sets"]),
    st.one_of(_texty(300), st.integers(-5, 200)), max_size=3))
def test_fuzz_intake_form_leaves_the_database_unchanged_when_refused(
        desk: Desk, applicant: Applicant, fields: dict) -> None:
    request = IntakeRequest("1.001193", applicant,
                            [ChecklistEntry(1, True), ChecklistEntry(3, True)])
    for name, value in fields.items():
        wanted = int if name == "sets" else str
        if isinstance(value, wanted):
            setattr(request, name, value)
    before = fingerprint(desk)
    try:
        desk.services.intake.submit(_officer(desk), request, Decision.ACCEPT)
    except CcdeskError as err:
        assert_clear(err)
        assert fingerprint(desk) == before


_ACTORS: dict[str, object] = {}


def _officer(desk: Desk):  # noqa: ANN202 - Actor; one argon2 login per database, not per example
    from ccdesk.services.officers import actor_of

    key = str(desk.db_path)
    if key not in _ACTORS:
        officer = next(o for o in desk.services.officers.list() if o.username == "off1")
        _ACTORS[key] = actor_of(officer)
    return _ACTORS[key]


@pytest.mark.parametrize("name", ["", "A" * 101, "Nguyễn 3"])
def test_each_bad_name_is_named_in_both_languages(name: str) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_applicant(Applicant(name, "001085012345"), today=TODAY)
    assert err.value.message("vi").startswith("Họ và tên")
    assert err.value.message("en").startswith("Full name")


# ---- files read at start-up: config.toml and calendar.toml as raw bytes ------------------------

config_docs = st.dictionaries(
    st.sampled_from(["language", "idle_lock_minutes", "printer", "upstream_url", "theme",
                     "office_hours", "sync_retention_days", "other"]),
    st.one_of(values, st.fixed_dictionaries({}, optional={
        "morning": st.lists(st.one_of(st.sampled_from(["07:30", "11:30", "25:00", "x"]),
                                      scalars), max_size=3),
        "afternoon": values, "same_day_cutoff": values})), max_size=5)


@settings(max_examples=80, deadline=None)
@given(doc=config_docs)
def test_fuzz_config_file(tmp_path_factory: pytest.TempPathFactory, doc: dict) -> None:
    from ccdesk.config import Config

    try:
        text = tomli_w.dumps(doc)
    except (TypeError, ValueError):
        return
    path = tmp_path_factory.mktemp("cfg") / "config.toml"
    path.write_text(text, encoding="utf-8")
    try:
        Config.load(path).hours()
    except CcdeskError as err:
        assert_clear(err)


@settings(max_examples=60, deadline=None)
@given(blob=st.binary(max_size=200), which=st.sampled_from(["config", "calendar"]))
def test_fuzz_start_up_files_as_raw_bytes(tmp_path_factory: pytest.TempPathFactory,
                                          blob: bytes, which: str) -> None:
    from ccdesk.config import Config

    path = tmp_path_factory.mktemp("raw") / f"{which}.toml"
    path.write_bytes(blob)
    try:
        if which == "config":
            Config.load(path)
        else:
            CalendarOverrides.load(path)
    except CcdeskError as err:
        assert_clear(err)
        assert str(path) in err.message("en")
