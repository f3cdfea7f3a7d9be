"""Reading rendered PDFs back: text (pypdf), tables (pdfplumber), QR codes (pdfium + zxing)."""

from __future__ import annotations

import io
import re
import unicodedata

import pdfplumber
import pypdf


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text, NFC, with every run of whitespace made one space (wrapped lines join)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [flat(page.extract_text()) for page in reader.pages]


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def tables(pdf: bytes, page: int = 0) -> list[list[list[str | None]]]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [[[flat(c) if c is not None else None for c in row] for row in table]
                for table in doc.pages[page].extract_tables()]


def page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]


def metadata(pdf: bytes) -> dict[str, str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return {k: str(v) for k, v in (reader.metadata or {}).items()}


def embedded_fonts(pdf: bytes) -> set[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    names = set()
    for page in reader.pages:
        fonts = page["/Resources"]["/Font"]
        for ref in fonts.values():
            font = ref.get_object()
            descendant = font["/DescendantFonts"][0].get_object()
            if "/FontFile2" in descendant["/FontDescriptor"]:
                names.add(str(font["/BaseFont"]))
    return names


def qr_codes(pdf: bytes, page: int = 0) -> list[str]:
    """Rasterise a page (pdfium) and decode every QR code on it (zxing-cpp)."""
    import pypdfium2
    import zxingcpp

    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[page].render(scale=3).to_pil()
    finally:
        document.close()
    return [r.text for r in zxingcpp.read_barcodes(image) if "QR" in r.format.name]
