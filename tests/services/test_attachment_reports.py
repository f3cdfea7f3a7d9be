"""Digitised dossiers in the II.06a report, its PDF and the Decision 766 indicators: the SQL
counts against the service's own rule (``DossierFiles.digitised``) on real dossiers."""

from __future__ import annotations

import io

import pytest

from ccdesk.domain.errors import NotFound, ValidationError
from ccdesk.forms.service import FormService
from ccdesk.services.intake import Applicant, Decision
from tests.conftest import submit_intake
from tests.services.attach_kit import png_bytes, write


def _scan(desk, officer, tmp_path, code: str, position: int, seed: int) -> None:
    path = write(tmp_path / f"{code}-{position}-{seed}.png", png_bytes(seed))
    desk.attachments.attach_path(officer, code, position, path)


def test_digitised_and_reusing_dossiers_are_counted(desk, officer, clock, tmp_path):
    today = clock().date()
    full = submit_intake(desk, officer).dossier.code                    # both items scanned
    _scan(desk, officer, tmp_path, full, 1, 1)
    _scan(desk, officer, tmp_path, full, 2, 2)
    partly = submit_intake(desk, officer).dossier.code                  # one of two
    _scan(desk, officer, tmp_path, partly, 1, 3)
    waiting = submit_intake(desk, officer, missing=[2], decision=Decision.SUPPLEMENT
                            ).dossier.code                              # item 2 not received
    _scan(desk, officer, tmp_path, waiting, 1, 4)
    reusing = submit_intake(desk, officer).dossier.code                 # one scan, one reuse
    _scan(desk, officer, tmp_path, reusing, 1, 5)
    earlier = next(r for r in desk.attachments.reusable(reusing) if r.item_name.startswith(
        "Giấy tờ, văn bản"))
    desk.attachments.reuse(officer, reusing, 2, earlier.attachment_id)
    removed = submit_intake(desk, officer, applicant=Applicant("Lê Văn Cường",
                                                               "001090012344")).dossier.code
    _scan(desk, officer, tmp_path, removed, 1, 6)
    _scan(desk, officer, tmp_path, removed, 2, 7)
    last = desk.attachments.files(removed).files[-1]
    desk.attachments.remove(officer, removed, last.id)                  # no longer digitised
    submit_intake(desk, officer)                                        # nothing scanned
    codes = [full, partly, waiting, reusing, removed]
    expected = sum(desk.attachments.files(c).digitised for c in codes)
    assert expected == 3  # full, waiting (its received item), reusing

    indicators = desk.reports.indicators_766(today, today)
    assert indicators.received == 6
    assert (indicators.digitised, indicators.reused) == (expected, 1)
    assert indicators.digitised_share == expected / 6
    report = desk.reports.period_report(today, today)
    assert (report.digitised, report.reused) == (expected, 1)
    assert report.digitised_tracked

    pdf = FormService(desk).report_pdf(report, lang="vi")
    from pypdf import PdfReader

    words = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert f"Hồ sơ được số hóa: {expected}/{report.total.received}" in " ".join(words.split())


def test_a_period_without_scans_counts_zero(desk, officer, clock):
    submit_intake(desk, officer)
    today = clock().date()
    indicators = desk.reports.indicators_766(today, today)
    assert (indicators.digitised, indicators.reused, indicators.digitised_share) == (0, 0, 0.0)


def test_attaching_to_an_unknown_dossier_or_nothing_says_so(desk, officer, tmp_path):
    path = write(tmp_path / "a.png", png_bytes(1))
    with pytest.raises(NotFound) as caught:
        desk.attachments.attach_path(officer, "NO-SUCH-CODE", 1, path)
    assert "NO-SUCH-CODE" in caught.value.message("en")
    with pytest.raises(ValidationError) as caught_empty:
        desk.attachments.attach(officer, "NO-SUCH-CODE", [])
    assert caught_empty.value.key == "attachments.nothing"
