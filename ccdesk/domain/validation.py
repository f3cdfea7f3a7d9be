"""Validation of what the officer types about a citizen.

Citizen ID (CCCD, 12 digits) is ``PPP G YY NNNNNN``: province of birth registration (old
63-province codes), a century-and-sex digit, the birth year's last two digits, six digits.
There is *no* check digit (docs/design/domain-rules.md, identifiers), so only structure and
plausibility are checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from ccdesk.domain.errors import ValidationError
from ccdesk.domain.vocabulary import Sex
from ccdesk.text import nfc

# Province codes of the CCCD number (Circular 07/2016/TT-BCA, the 63 pre-2025 provinces).
CCCD_PROVINCES = frozenset(
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 034 "
    "035 036 037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 067 068 "
    "070 072 074 075 077 079 080 082 083 084 086 087 089 091 092 093 094 095 096".split()
)
# Century of birth from the century-and-sex digit: 0/1 -> 1900s, 2/3 -> 2000s, ...
_CENTURY = {0: 1900, 1: 1900, 2: 2000, 3: 2000, 4: 2100, 5: 2100, 6: 2200, 7: 2200,
            8: 1800, 9: 1800}
MAX_AGE = 125

ID_TYPES = ("cccd", "cmnd", "passport")

# Field limits: anything longer is refused with the limit, never silently truncated.
LIMITS = {
    "full_name": 100,
    "address": 255,
    "email": 254,
    "note": 500,
    "reason": 1000,
    "body": 255,
}

_MOBILE = re.compile(r"^0[35789]\d{8}$")
_LANDLINE = re.compile(r"^02\d{9}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PASSPORT = re.compile(r"^[A-Z0-9]{6,9}$")


@dataclass(frozen=True)
class CitizenId:
    number: str
    kind: str
    birth_year: int | None = None
    female: bool | None = None


def clean_text(value: str | None, field: str, *, required: bool = False,
               limit: int | None = None) -> str:
    """NFC-normalise a free-text field and check presence and length."""
    text = nfc(value or "")
    if required and not text:
        raise ValidationError("core.err.required", field=field)
    limit = limit or LIMITS.get(field)
    if limit and len(text) > limit:
        raise ValidationError("core.err.too_long", field=field, limit=limit, length=len(text))
    return text


def validate_full_name(value: str | None, field: str = "full_name") -> str:
    name = clean_text(value, field, required=True, limit=LIMITS["full_name"])
    if any(ch.isdigit() for ch in name):
        raise ValidationError("core.err.name_digits", field=field)
    return name


def validate_citizen_id(value: str | None, kind: str = "cccd", *, today: date | None = None,
                        field: str = "id_number") -> CitizenId:
    """Check an ID number of the given kind; returns it normalised (spaces removed)."""
    raw = nfc(value or "").replace(" ", "").replace(".", "").upper()
    if not raw:
        raise ValidationError("core.err.required", field=field)
    if kind not in ID_TYPES:
        raise ValidationError("core.err.id_type", field="id_type", allowed=", ".join(ID_TYPES))
    if kind == "passport":
        if not _PASSPORT.match(raw):
            raise ValidationError("core.err.passport_format", field=field)
        return CitizenId(raw, kind)
    if not raw.isdigit():
        raise ValidationError("core.err.id_digits", field=field)
    if kind == "cmnd":
        if len(raw) != 9:
            raise ValidationError("core.err.cmnd_length", field=field, length=len(raw))
        return CitizenId(raw, kind)
    if len(raw) != 12:
        raise ValidationError("core.err.cccd_length", field=field, length=len(raw))
    if raw[:3] not in CCCD_PROVINCES:
        raise ValidationError("core.err.cccd_province", field=field, code=raw[:3])
    gender_century = int(raw[3])
    birth_year = _CENTURY[gender_century] + int(raw[4:6])
    this_year = (today or date.today()).year
    if birth_year > this_year or this_year - birth_year > MAX_AGE:
        raise ValidationError("core.err.cccd_year", field=field, year=birth_year)
    return CitizenId(raw, kind, birth_year=birth_year, female=gender_century % 2 == 1)


def validate_birth_date(value: date | None, citizen: CitizenId | None, *,
                        today: date | None = None, field: str = "date_of_birth") -> date | None:
    if value is None:
        return None
    today = today or date.today()
    if value > today or today.year - value.year > MAX_AGE:
        raise ValidationError("core.err.dob_range", field=field)
    if citizen and citizen.birth_year and citizen.birth_year != value.year:
        raise ValidationError("core.err.dob_mismatch", field=field,
                              year=citizen.birth_year)
    return value


def normalise_phone(value: str | None, field: str = "phone", *, required: bool = False) -> str:
    """Vietnamese mobile (0[35789] + 8 digits, or +84...) or landline (02 + 9 digits)."""
    raw = re.sub(r"[\s.\-()]", "", nfc(value or ""))
    if not raw:
        if required:
            raise ValidationError("core.err.required", field=field)
        return ""
    if raw.startswith("+84"):
        raw = "0" + raw[3:]
    elif raw.startswith("84") and len(raw) in (11, 12):
        raw = "0" + raw[2:]
    if not raw.isdigit():
        raise ValidationError("core.err.phone_digits", field=field)
    if _MOBILE.match(raw) or _LANDLINE.match(raw):
        return raw
    raise ValidationError("core.err.phone_format", field=field)


def validate_email(value: str | None, field: str = "email") -> str:
    text = clean_text(value, field, limit=LIMITS["email"])
    if text and not _EMAIL.match(text):
        raise ValidationError("core.err.email_format", field=field)
    return text.lower()


# The old identity card (CMND): 9 digits (Decree 05/1999/NĐ-CP), or 12 on the cards issued under
# Circular 27/2012/TT-BCA; the chip card's QR carries either (``ccdesk.domain.cccd_qr``).
OLD_ID_LENGTHS = (9, 12)


def validate_old_id(value: str | None, field: str = "old_id_number") -> str:
    """The applicant's old CMND number, spaces removed; ``""`` when there is none."""
    raw = nfc(value or "").replace(" ", "").replace(".", "")
    if raw and not (raw.isdigit() and len(raw) in OLD_ID_LENGTHS):
        raise ValidationError("core.applicant_card.old_id", field=field, length=len(raw))
    return raw


def validate_sex(value: str | None, citizen: CitizenId | None = None,
                 field: str = "sex") -> str:
    """``male`` | ``female`` (``vocabulary.Sex``) or ``""`` (not recorded); it must agree with
    the CCCD number's century-and-sex digit when there is one."""
    text = (value or "").strip()
    if not text:
        return ""
    if text not in Sex.values():
        raise ValidationError("core.applicant_card.sex", field=field,
                              allowed=", ".join(s.label() for s in Sex))
    if citizen is not None and citizen.female is not None \
            and citizen.female != (text == Sex.FEMALE):
        raise ValidationError("core.applicant_card.sex_mismatch", field=field)
    return text


def validate_id_issued(value: date | None, born: date | None, *, today: date | None = None,
                       field: str = "id_issued_on") -> date | None:
    """The day the ID card was issued: not in the future, not before the holder was born."""
    if value is None:
        return None
    if value > (today or date.today()):
        raise ValidationError("core.applicant_card.issued_future", field=field)
    if born is not None and value < born:
        raise ValidationError("core.applicant_card.issued_before_birth", field=field)
    return value
