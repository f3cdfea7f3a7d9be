"""A printed form as plain data: pages of blocks that both renderers (PDF and text) draw.

Templates build a :class:`FormDocument` from a dossier; :mod:`ccdesk.forms.pdf` and
:mod:`ccdesk.forms.text` turn it into bytes or lines. Keeping the words of a form in one place
means the preview an officer reads on screen is the paper the citizen takes home.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Paper(StrEnum):
    """Sheet sizes the forms are laid out for (fpdf2 format names)."""

    A4 = "A4"
    A5 = "A5"


class Align(StrEnum):
    LEFT = "L"
    CENTER = "C"
    RIGHT = "R"
    JUSTIFY = "J"


@dataclass(frozen=True)
class Header:
    """The standard heading: governing body and unit left, the national motto right, then the
    number ("Số: …") and the italic place-and-date line."""

    governing_body: str
    unit_name: str
    motto_country: str
    motto_words: str
    number: str
    place_date: str


@dataclass(frozen=True)
class Title:
    text: str
    lines: tuple[str, ...] = ()        # under the title: "Mã hồ sơ: …", "(Liên 1: …)"


@dataclass(frozen=True)
class Field:
    """``label: value`` on its own line (the label may be empty for a continuation)."""

    label: str
    value: str
    bold_value: bool = False


@dataclass(frozen=True)
class Paragraph:
    text: str
    style: str = ""                    # "", "B", "I"
    align: Align = Align.LEFT
    indent: bool = False


@dataclass(frozen=True)
class Column:
    header: str
    weight: float = 1.0                # share of the table width
    align: Align = Align.LEFT


@dataclass(frozen=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    group_headers: tuple[tuple[str, int], ...] = ()   # a top header row: (text, column span)
    bold_rows: frozenset[int] = frozenset()            # indexes of subtotal/total rows


@dataclass(frozen=True)
class SignatureBlock:
    title: str                         # "NGƯỜI TIẾP NHẬN HỒ SƠ"
    hint: str                          # "(Ký và ghi rõ họ tên)"
    name: str = ""                     # printed under the space left for the signature


@dataclass(frozen=True)
class Signatures:
    blocks: tuple[SignatureBlock, ...]
    recipients: tuple[str, ...] = ()   # "Nơi nhận:" list printed left of a single signer


@dataclass(frozen=True)
class TopBand:
    """The band above the heading: the QR code in the top-left corner (Circular 01/2023/TT-VPCP
    art. 26) and the form's number ("Mẫu số 01") on the right, as the circulars print it."""

    label: str = ""
    qr_data: str = ""


@dataclass(frozen=True)
class Spacer:
    height_mm: float = 3.0


@dataclass(frozen=True)
class ReportHeading:
    """A statistical report's heading (form II.06a): the form's code top-left, the title and
    period in the middle, the reporting and receiving units top-right."""

    code: str
    title: tuple[str, ...]             # bold lines, then the period lines
    period: tuple[str, ...]
    units: tuple[str, ...]


Block = (TopBand | Header | Title | Field | Paragraph | Table | Signatures | Spacer
         | ReportHeading)


@dataclass(frozen=True)
class Page:
    blocks: tuple[Block, ...]
    landscape: bool = False


@dataclass(frozen=True)
class FormDocument:
    """One printable document (the two copies of a slip are two pages of one document)."""

    form_id: str
    regime: str
    title: str                         # for the PDF metadata: the form's name and the code
    dated: datetime                    # the date the form carries; also the PDF creation date
    pages: tuple[Page, ...] = field(default_factory=tuple)
    paper: Paper = Paper.A4            # the sheet the circular lays the form out for
