"""Real scanned-paper files for the attachment tests: PNG and JPEG drawn by Pillow, a PDF by
fpdf2 (both already installed for the printed forms), each different per ``seed``."""

from __future__ import annotations

import io
import random
from pathlib import Path


def png_bytes(seed: int = 0, size: tuple[int, int] = (120, 160)) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    rng = random.Random(seed)
    for _ in range(30):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.line((x, y, x + rng.randrange(40), y), fill=0, width=2)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(seed: int = 0, target: int = 2_000_000) -> bytes:
    """A noisy greyscale JPEG of about ``target`` bytes (a 300 dpi A4 scan is 0.3–2 MB)."""
    from PIL import Image

    rng = random.Random(seed)
    side = 1200
    while True:
        image = Image.frombytes("L", (side, side), rng.randbytes(side * side))
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=90)
        if out.tell() >= target * 0.9 or side > 4000:
            return out.getvalue()
        side = int(side * (target / out.tell()) ** 0.5) + 50


def pdf_bytes(text: str = "Giay to") -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text=text)
    return bytes(pdf.output())


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
