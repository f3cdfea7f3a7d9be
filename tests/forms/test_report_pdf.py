"""The II.06a period report as a PDF: the reports component's figures, laid out and read back."""

from __future__ import annotations

import io
from datetime import date

import pdfplumber
from forms_readback import metadata, page_sizes, page_texts, tables

from ccdesk.i18n import fmt_money

START, END = date(2026, 11, 1), date(2026, 11, 30)


def _numbers(counts) -> list[str]:  # noqa: ANN001 - Counts
    return [str(n) for n in (counts.received, counts.online, counts.direct_postal,
                             counts.carried_over, counts.resolved, counts.early, counts.on_time,
                             counts.late, counts.in_progress, counts.within, counts.overdue)]


def test_report_pdf_has_every_row_and_figure_of_the_period_report(scenario) -> None:
    report = scenario.services.reports.period_report(START, END)
    pdf = scenario.forms.report_pdf(report)
    width, height = page_sizes(pdf)[0]
    assert width > height
    assert metadata(pdf)["/Subject"].startswith("Mẫu II.06a")
    (text,) = page_texts(pdf)
    assert ("TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH TẠI CƠ QUAN, ĐƠN VỊ TRỰC TIẾP "
            "GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH") in text
    assert "Kỳ báo cáo: tháng 11 năm 2026 (Từ ngày 01/11/2026 đến ngày 30/11/2026)" in text
    assert "Đơn vị tính: Số hồ sơ TTHC." in text
    (table,) = tables(pdf)
    assert table[0][:3] == ["TT", "Lĩnh vực, thủ tục hành chính", "Số hồ sơ nhận giải quyết"]
    assert table[2] == [f"({n})" for n in range(1, 14)]   # the column-number row
    body = {row[1]: row for row in table[3:]}
    assert report.rows, "the scenario has counted dossiers"
    for row in report.rows:
        printed = body[f"{row.procedure_code} {row.procedure_name}"]
        assert printed[2:] == _numbers(row.counts)
    for group in report.groups:
        assert body[group.field][2:] == _numbers(group.counts)
    assert body["TỔNG CỘNG"][2:] == _numbers(report.total)
    # II.06a invariants hold on paper: received = online + direct/postal + carried over.
    total = [int(n) for n in body["TỔNG CỘNG"][2:]]
    assert total[0] == total[1] + total[2] + total[3] == total[4] + total[8]
    assert f"Phí, lệ phí đã thu: {fmt_money(report.fees_collected)}." in text
    assert "NGƯỜI LẬP BIỂU" in text and "THỦ TRƯỞNG ĐƠN VỊ" in text


def test_report_pdf_heading_is_laid_out_as_the_form(scenario) -> None:
    """Form code top-left, reporting and receiving units top-right (the province), title in
    the middle; the "guidance given, not completed" line under the total."""
    report = scenario.services.reports.period_report(START, END)
    pdf = scenario.forms.report_pdf(report)
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[0]
        width, height = page.width, page.height

        def line(starting: str) -> dict:
            found = page.search(starting, regex=False)
            assert found, starting
            return found[0]

        code = line("Biểu số II.06a/VPCP/KSTT")
        reporting, receiving = line("- Đơn vị báo cáo:"), line("- Đơn vị nhận báo cáo:")
        title = line("TÌNH HÌNH, KẾT QUẢ")
        unit_of_count = line("Đơn vị tính")
    assert code["x0"] < width * 0.1 and code["top"] < height * 0.1
    for unit in (reporting, receiving):
        assert unit["x0"] > width * 0.65 and unit["top"] < height * 0.2
    assert reporting["top"] < receiving["top"]
    assert width * 0.2 < title["x0"] < width * 0.4 and abs(title["top"] - code["top"]) < 3
    assert unit_of_count["x1"] > width * 0.85
    (text,) = page_texts(pdf)
    assert "Ủy ban nhân dân tỉnh" in text
    (table,) = tables(pdf)
    guidance = table[-1]
    assert guidance[1] == "Trong đó: Hướng dẫn, chưa hoàn thiện"
    assert guidance[2:] == _numbers(report.guidance)
