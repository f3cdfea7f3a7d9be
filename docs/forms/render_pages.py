"""Regenerate the page images of Mẫu 01, 02 and 04 in this folder from the test scenario, and
those of a linked group's slip and police hand-off sheet (docs/linked.md).

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
        render_linked(desk, root)
        desk.services.close()


def render_linked(desk, root: Path) -> None:  # noqa: ANN001 - the tests' Desk
    """A birth group received at the scenario's start: its slip and the police's sheet."""
    from datetime import date

    from conftest import APPLICANT, START

    from ccdesk.domain.linked import Agency
    from ccdesk.forms.linked import LinkedForms
    from ccdesk.services.linked import LinkedRequest

    s = desk.services
    items = s.linked.checklist("LT-KS")
    view = s.linked.accept(desk.at(START).officer, LinkedRequest(
        "LT-KS", APPLICANT, "Nguyễn Minh Khôi", date(2026, 11, 20),
        received=list(range(len(items)))))
    forms = LinkedForms(desk.forms)
    for name, data in (("lienthong-giay-tiep-nhan", forms.slip_pdf(view.code)),
                       ("lienthong-phieu-chuyen-cong-an",
                        forms.handoff_pdf(view.code, Agency.POLICE))):
        pdf = root / f"{name}.pdf"
        pdf.write_bytes(data)
        rasterise(pdf, HERE / f"{name}.png")
        print(HERE / f"{name}.png")


if __name__ == "__main__":
    main()
