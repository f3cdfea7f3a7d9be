"""The QR code printed on the back of a chip citizen ID card (CCCD gắn chip), as a keyboard-mode
2D scanner types it.

The card's QR holds seven fields separated by ``|``::

    CCCD|CMND|Họ và tên|DDMMYYYY (ngày sinh)|Giới tính|Nơi thường trú|DDMMYYYY (ngày cấp)

``CMND`` (the old 9-digit card, or an old 12-digit one) is empty when the citizen never had one.
A scan is trusted no more than typing: every field is checked, and anything malformed or
missing refuses the whole scan (the desk fills nothing rather than half a citizen).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ccdesk.domain.errors import ValidationError
from ccdesk.domain.validation import (
    clean_text,
    validate_birth_date,
    validate_citizen_id,
    validate_full_name,
)
from ccdesk.text import nfc

SEPARATOR = "|"
FIELDS = 7
MAX_SCAN = 1000  # the card's QR holds well under this; longer is not a card
SEXES = {"nam": "male", "nữ": "female", "nu": "female"}


@dataclass(frozen=True)
class CardScan:
    """What the card says, checked and normalised."""

    id_number: str
    old_id_number: str
    full_name: str
    date_of_birth: date
    sex: str  # "male" | "female"
    address: str
    issued_on: date


def looks_like_card_scan(text: str) -> bool:
    """Whether ``text`` is meant as a card scan: nobody types ``|`` into a citizen's details."""
    return SEPARATOR in text


def parse_card_scan(text: str, *, today: date | None = None) -> CardScan:
    """Parse one scanned card; raise ``ValidationError`` saying what is wrong."""
    raw = nfc(text).strip().strip("\r\n")
    if len(raw) > MAX_SCAN:
        raise ValidationError("core.card_scan.too_long", limit=MAX_SCAN)
    parts = [part.strip() for part in raw.split(SEPARATOR)]
    if len(parts) != FIELDS:
        raise ValidationError("core.card_scan.parts", count=len(parts),
                              expected=FIELDS)
    number, old_number, name, born, sex, address, issued = parts
    citizen = validate_citizen_id(number, "cccd", today=today)
    if old_number and not (old_number.isdigit() and len(old_number) in (9, 12)):
        raise ValidationError("core.card_scan.old_id")
    birth = _day(born, "core.card_scan.birth_date")
    validate_birth_date(birth, citizen, today=today)
    issued_on = _day(issued, "core.card_scan.issue_date")
    if issued_on < birth or issued_on > (today or date.today()):
        raise ValidationError("core.card_scan.issued_range")
    sex_key = SEXES.get(sex.lower())
    if sex_key is None:
        raise ValidationError("core.card_scan.sex", value=sex[:10])
    return CardScan(id_number=citizen.number, old_id_number=old_number,
                    full_name=validate_full_name(name),
                    date_of_birth=birth, sex=sex_key,
                    address=clean_text(address, "address", required=True),
                    issued_on=issued_on)


def _day(text: str, key: str) -> date:
    """``DDMMYYYY`` as the card writes dates; ``key`` says which date is wrong."""
    if len(text) != 8 or not text.isdigit():
        raise ValidationError(key)
    try:
        return date(int(text[4:]), int(text[2:4]), int(text[:2]))
    except ValueError as exc:
        raise ValidationError(key) from exc


def scan_start(text: str) -> int:
    """Where a scan typed at the end of ``text`` begins: the digits of the card number before
    the first ``|`` (what the field held before the scan is ``text[:scan_start(text)]``)."""
    first = text.find(SEPARATOR)
    if first < 0:
        return len(text)
    start = first
    while start > 0 and first - start < 12 and text[start - 1].isdigit():
        start -= 1
    return start
