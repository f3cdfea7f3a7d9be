"""The register for a date range, and the plain-text rendering of the forms."""

from __future__ import annotations

from datetime import date

import pytest
from forms_readback import flat, metadata, page_sizes, page_texts, tables

from ccdesk.forms.errors import FormError
from ccdesk.forms.text import LANDSCAPE_WIDTH, PAGE_BREAK, PORTRAIT_WIDTH
from ccdesk.i18n import fmt_date

DAY = date(2026, 11, 23)


def test_register_lists_every_dossier_received_in_the_range(scenario) -> None:
    forms = scenario.forms
    pdf = forms.register_pdf(date(2026, 11, 1), date(2026, 11, 30))
    width, height = page_sizes(pdf)[0]
    assert width > height                      # landscape: 15 columns
    assert metadata(pdf)["/Subject"] == "Mẫu 07 (2025)"
    text = " ".join(page_texts(pdf))
    assert "SỔ THEO DÕI HỒ SƠ" in text
    assert "Từ ngày 01/11/2026 đến ngày 30/11/2026" in text
    assert "Tổng số hồ sơ trong sổ: 5." in text
    rows = [row for table in tables(pdf) for row in table
            if row[1] and row[1].replace(" ", "") in scenario.codes.values()]
    by_code = {row[1].replace(" ", ""): row for row in rows}
    assert set(by_code) == set(scenario.codes.values())
    # The first column is the row in the year's register, in order of acceptance; dossiers
    # never accepted (a supplement request, a refusal) have none.
    numbers = {name: by_code[code][0] for name, code in scenario.codes.items()}
    assert numbers == {"land": "1", "stopped": "2", "legacy": "3", "supplement": "",
                       "refused": ""}
    land = scenario.services.dossiers.detail(scenario.codes["land"]).dossier
    row = by_code[land.code]
    assert row[4] == "Nguyễn Thị Hường"
    assert row[6] == "Chi nhánh Văn phòng đăng ký đất đai"
    assert row[7] == f"{land.received_at:%H:%M} {fmt_date(land.received_at)}"
    # The slip's due time, and beside it the later one the extensions set.
    assert flat(row[8]) == flat(f"{land.original_due_at:%H:%M} {fmt_date(land.original_due_at)}"
                                f" (hẹn lại: {land.due_at:%H:%M} {fmt_date(land.due_at)})")
    assert row[9] == f"{land.handed_off_at:%H:%M} {fmt_date(land.handed_off_at)}"
    assert by_code[scenario.codes["refused"]][-1] == "Từ chối tiếp nhận"
    assert by_code[scenario.codes["legacy"]][12] == "Qua dịch vụ bưu chính"


def test_register_of_an_empty_range_and_a_2018_register(scenario) -> None:
    forms = scenario.forms
    (text,) = page_texts(forms.register_pdf(date(2026, 10, 1), date(2026, 10, 31)))
    assert "Tổng số hồ sơ trong sổ: 0." in text
    pdf = forms.register_pdf(DAY, DAY, regime="2018")
    assert metadata(pdf)["/Subject"] == "Mẫu 06 (2018)"
    with pytest.raises(FormError) as err:
        forms.register_pdf(DAY, date(2026, 11, 1))
    assert "ngày kết thúc" in err.value.message("vi")


def test_text_slip_has_the_same_fields_and_fits_80_columns(scenario) -> None:
    code = scenario.codes["land"]
    d = scenario.services.dossiers.detail(code).dossier
    text = scenario.forms.render_text(code, "01")
    pages = text.split(PAGE_BREAK)
    assert len(pages) == 2
    assert all(len(line) <= PORTRAIT_WIDTH for line in text.splitlines())
    for page in pages:
        joined = flat(page)
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in joined
        assert f"Mã hồ sơ: {code}" in joined
        due = d.original_due_at
        assert (f"5. Thời gian trả kết quả giải quyết hồ sơ: {due:%H} giờ {due:%M} phút, "
                f"ngày {fmt_date(due)}.") in joined
        assert "|Giấy chứng nhận đã cấp " in joined        # a row of the ASCII table
        assert "Đơn đề nghị cấp đổi" in joined
        assert "NGƯỜI NỘP HỒ SƠ" in joined and "Lê Thị Hoa" in joined
    assert "Liên 1" in pages[0] and "Liên 2" in pages[1]


def test_text_register_fits_a_wide_line_printer(scenario) -> None:
    text = scenario.forms.register_text(date(2026, 11, 1), date(2026, 11, 30))
    assert all(len(line) <= LANDSCAPE_WIDTH for line in text.splitlines())
    assert "23/11/2026" in text
    assert "Tổng số hồ sơ trong sổ: 5." in flat(text)


def test_forms_can_be_previewed_in_english_for_training(scenario) -> None:
    text = flat(scenario.forms.render_text(scenario.codes["refused"], "03", lang="en"))
    assert "REFUSAL TO ACCEPT THE DOSSIER" in text
    assert "SOCIALIST REPUBLIC OF VIETNAM" in text
    assert "Trẻ đã được đăng ký khai sinh tại xã khác" in text   # stored data stays as typed


def test_locale_files_have_the_same_keys() -> None:
    from ccdesk.i18n import catalogue

    vi = {k for k in catalogue("vi") if k.startswith("forms.")}
    en = {k for k in catalogue("en") if k.startswith("forms.")}
    assert vi and vi == en
