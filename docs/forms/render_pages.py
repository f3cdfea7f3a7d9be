"""Regenerate the page images of Mẫu 01, 02 and 04 in this folder from the test scenario.

    .venv/bin/python docs/forms/render_pages.py

Builds the same database the tests in ``tests/forms`` build (real services, bundled
catalogue), renders the forms, and rasterises their first pages with ``pdftoppm`` (Debian
``poppler-utils``); without it, pypdfium2 does the same job.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "tests" / "forms"))

from conftest import build_scenario, open_desk  # noqa: E402

from ccdesk.paths import Paths  # noqa: E402

PAGES = (("mau01-giay-tiep-nhan-hen-tra", "land", "01"),
         ("mau02-yeu-cau-bo-sung", "supplement", "02"),
         ("mau04-xin-loi-hen-lai", "land", "04"))
DPI = 100


def rasterise(pdf: Path, png: Path) -> None:
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", str(DPI), "-f", "1", "-l", "1",
                        "-singlefile", str(pdf), str(png.with_suffix(""))], check=True)
        return
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf.read_bytes())
    document[0].render(scale=DPI / 72).to_pil().save(png)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        desk = build_scenario(open_desk(root / "desk.sqlite3",
                                        Paths(root / "data", root / "config")))
        for name, dossier, form_id in PAGES:
            pdf = root / f"{name}.pdf"
            pdf.write_bytes(desk.forms.render_pdf(desk.codes[dossier], form_id))
            rasterise(pdf, HERE / f"{name}.png")
            print(HERE / f"{name}.png")
        desk.services.close()


if __name__ == "__main__":
    main()
