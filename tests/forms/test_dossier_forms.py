"""Every form of both sets, rendered from real dossiers and read back from the PDF."""

from __future__ import annotations

import orjson
import pytest
from forms_readback import embedded_fonts, flat, metadata, page_sizes, page_texts, qr_codes, tables

from ccdesk.domain import paper_qr
from ccdesk.forms.errors import FormError
from ccdesk.forms.kinds import FORM_IDS, FormKind
from ccdesk.i18n import fmt_date
from ccdesk.models import Dossier

HEADER = ("UBND XÃ ĐÔNG SƠN", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
          "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")

TITLES = {
    FormKind.SLIP: "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    FormKind.SUPPLEMENT: "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
    FormKind.REFUSAL: "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
    FormKind.EXTENSION: "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
    FormKind.STOP: "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
    FormKind.CONTROL: "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
}
LETTER_2025_SUBJECT = "V/v xin lỗi và đề nghị gia hạn thời gian giải quyết hồ sơ"
LATE_BODY_HEADER = ("CHI NHÁNH VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                    "Độc lập - Tự do - Hạnh phúc")
A5_POINTS = (419.53, 595.28)
# Which scenario dossier each form is printed for.
DOSSIER_FOR = {FormKind.SLIP: "land", FormKind.SUPPLEMENT: "supplement",
               FormKind.REFUSAL: "refused", FormKind.EXTENSION: "land",
               FormKind.STOP: "stopped", FormKind.CONTROL: "land"}


def hm(moment) -> str:  # noqa: ANN001 - datetime
    return f"{moment:%H} giờ {moment:%M} phút, ngày {fmt_date(moment)}"


def dossier(scenario, name: str) -> Dossier:  # noqa: ANN001
    return scenario.services.dossiers.detail(scenario.codes[name]).dossier


CASES = [(regime.value, form_id, kind) for regime, kinds in FORM_IDS.items()
         for form_id, kind in kinds.items() if kind != FormKind.REGISTER]


@pytest.mark.parametrize(("regime", "form_id", "kind"), CASES,
                         ids=[f"{r}-{f}" for r, f, _ in CASES])
def test_every_form_of_both_sets_renders_with_header_code_and_title(scenario, regime, form_id,
                                                                    kind) -> None:
    code = scenario.codes[DOSSIER_FOR[kind]]
    pdf = scenario.forms.render_pdf(code, form_id, regime=regime)
    # The 2025 apology is a letter (no title) from the body that caused the delay.
    from_late_body = kind == FormKind.EXTENSION and regime == "2025"
    title = LETTER_2025_SUBJECT if from_late_body else TITLES[kind]
    for text in page_texts(pdf):
        for line in (LATE_BODY_HEADER if from_late_body else HEADER):
            assert line in text
        assert title in text
        assert code in text
        assert f"Mẫu số {form_id}" in text
        assert "Đông Sơn, ngày" in text
    # Each copy fits one A5 page: two pages for the slip (kept and given), one for the others.
    assert len(page_texts(pdf)) == (2 if kind == FormKind.SLIP else 1)
    assert metadata(pdf)["/Subject"] == f"Mẫu {form_id} ({regime})"
    text = scenario.forms.render_text(code, form_id, regime=regime)
    assert title in text and code in text and f"Mẫu số {form_id}" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert all(width < height for width, height in page_sizes(pdf))   # portrait
    # Circular 01/2018 lays the counter's papers out on A5 (docs/forms.md, "Paper size").
    assert page_sizes(pdf)[0] == pytest.approx(A5_POINTS, abs=0.1)
    assert any("NotoSerif" in name for name in embedded_fonts(pdf))


def test_slip_carries_every_field_from_the_database(scenario) -> None:
    d = dossier(scenario, "land")
    pdf = scenario.forms.render_pdf(d.code, "01")
    pages = page_texts(pdf)
    assert len(pages) == 2   # kept and given copies
    assert "(Liên 1: Lưu tại Bộ phận Một cửa)" in pages[0]
    assert "(Liên 2: Giao người nộp hồ sơ)" in pages[1]
    for text in pages:
        assert f"Mã hồ sơ: {d.code}" in text
        assert "Ông (Bà): Nguyễn Thị Hường" in text
        assert "Số CCCD/định danh cá nhân: 038190012345" in text
        assert "Địa chỉ: Thôn Phú Quý, xã Đông Sơn, tỉnh Thanh Hóa" in text
        assert "Số điện thoại: 0912345678" in text
        assert "huong.nt@example.vn" in text
        assert ("Chủ hồ sơ: Nguyễn Văn Đức (số CCCD/định danh cá nhân 038085004321)"
                in text)
        assert "Địa chỉ chủ hồ sơ: Xóm Đồng, xã Đông Sơn" in text
        assert ("Cấp đổi Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền "
                "với đất (mã TTHC 1.012783)") in text
        assert "Phí, lệ phí: 100.000 đ" in text
        assert "2. Số lượng hồ sơ: 1 (bộ)." in text
        assert "3. Thời gian giải quyết hồ sơ theo quy định: 5 ngày làm việc." in text
        assert f"4. Thời gian nhận hồ sơ: {hm(d.received_at)}." in text
        # The appointment given at intake, not the later extensions (those are Mẫu 04).
        assert f"5. Thời gian trả kết quả giải quyết hồ sơ: {hm(d.original_due_at)}." in text
        assert "6. Đăng ký nhận kết quả: Tại Bộ phận một cửa." in text
        assert "NGƯỜI NỘP HỒ SƠ" in text and "NGƯỜI TIẾP NHẬN HỒ SƠ" in text
        assert text.count("(Ký và ghi rõ họ tên)") == 2
        assert "Lê Thị Hoa" in text
        assert f"ngày {d.received_at:%d} tháng {d.received_at:%m} năm {d.received_at:%Y}" in text


def test_slip_documents_table_has_quantities_by_form_of_copy(scenario) -> None:
    d = dossier(scenario, "legacy")
    pdf = scenario.forms.render_pdf(d.code, "01")
    (table,) = tables(pdf)
    assert table[0][:3] == ["TT", "Tên giấy tờ", "Số lượng"]
    assert table[1][2:5] == ["Bản chính", "Bản sao chứng thực", "Bản photo"]
    body = table[2:]
    assert body[0][:5] == ["1", "Tờ khai đăng ký lại khai sinh", "1", "", ""]
    assert body[1][:5] == ["2", "Bản sao giấy tờ có thông tin về khai sinh", "", "", "1"]


def test_slip_qr_code_carries_what_circular_01_2023_asks_on_both_copies(scenario) -> None:
    d = dossier(scenario, "land")
    pdf = scenario.forms.render_pdf(d.code, "01")
    for page in (0, 1):
        (line,) = qr_codes(pdf, page=page)
        qr = paper_qr.decode(line)
        assert qr is not None
        assert (qr.dossier_code, qr.procedure_code, qr.applicant_id) == (
            d.code, "1.012783", "038190012345")
        assert qr.paper_name == TITLES[FormKind.SLIP]
        assert qr.system == "ccdesk"
        assert (qr.issued_at, qr.due_at) == (d.accepted_at, d.original_due_at)


def test_supplement_request_lists_each_item_reason_and_the_guide(scenario) -> None:
    d = dossier(scenario, "supplement")
    (text,) = page_texts(scenario.forms.render_pdf(d.code, "02"))
    rounds = scenario.services.dossiers.detail(d.code).supplements
    items = orjson.loads(rounds[-1].items)
    assert [i["name"] for i in items] == ["Tờ khai cấp Giấy xác nhận tình trạng hôn nhân",
                                          "Bản sao Quyết định ly hôn có chứng thực"]
    assert "Hồ sơ của: Phạm Quốc Việt" in text
    assert "1. Tờ khai cấp Giấy xác nhận tình trạng hôn nhân" in text
    assert "2. Bản sao Quyết định ly hôn có chứng thực" in text
    assert "Lý do: Tờ khai ghi đã ly hôn nhưng chưa có giấy tờ chứng minh" in text
    assert "(Lần yêu cầu bổ sung thứ 1)" in text
    assert "liên hệ với Lê Thị Hoa, số điện thoại 0987654321" in text
    assert "NGƯỜI HƯỚNG DẪN" in text
    assert "Cấp Giấy xác nhận tình trạng hôn nhân (mã TTHC 1.004873)" in text


def test_refusal_gives_the_reason_the_rules_and_the_contact(scenario) -> None:
    d = dossier(scenario, "refused")
    (text,) = page_texts(scenario.forms.render_pdf(d.code, "03"))
    assert ("Hồ sơ không đủ điều kiện tiếp nhận, giải quyết với lý do cụ thể như sau: "
            "Trẻ đã được đăng ký khai sinh tại xã khác (trùng đăng ký)") in text
    assert ("Căn cứ quy định tại: Luật Hộ tịch 2014; Nghị định 123/2015/NĐ-CP; "
            "Thông tư 04/2020/TT-BTP.") in text
    assert "liên hệ Lê Thị Hoa, số điện thoại 0987654321" in text
    assert "Đăng ký khai sinh (mã TTHC 1.001193)" in text
    assert f"ngày {d.closed_at:%d} tháng {d.closed_at:%m} năm {d.closed_at:%Y}" in text


def test_extension_letter_gives_new_due_reason_and_history(scenario) -> None:
    detail = scenario.services.dossiers.detail(scenario.codes["land"])
    d, (first, second) = detail.dossier, detail.extensions
    (text,) = page_texts(scenario.forms.render_pdf(d.code, "04"))
    assert "V/v xin lỗi và đề nghị gia hạn thời gian giải quyết hồ sơ" in text
    assert "Kính gửi: Ông (Bà) Nguyễn Thị Hường" in text
    assert ("Vào ngày 23 tháng 11 năm 2026, Trung tâm Phục vụ hành chính công tiếp nhận"
            in text)
    assert f"Thời hạn trả kết quả đã hẹn: {hm(second.original_due)}" in text
    assert f"Thời hạn trả kết quả mới: {hm(d.due_at)}" in text
    assert second.new_due == d.due_at
    # Issued by the body that caused the delay (Circular 03/2025, Mẫu 04): it apologises in
    # its own name and signs; the desk hands the letter on.
    assert "CHI NHÁNH VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI" in text
    assert "Chi nhánh Văn phòng đăng ký đất đai xin lỗi ông (bà)" in text
    assert "Lý do chậm trễ: Chờ ý kiến của Sở Nông nghiệp và Môi trường" in text
    assert "Số lần đã gia hạn đối với hồ sơ này: 2." in text
    assert "Chưa có kết quả đo đạc thửa đất" in text     # the first extension, in the history
    assert f"{first.new_due:%H:%M} {fmt_date(first.new_due)}" in text
    assert "THỦ TRƯỞNG CƠ QUAN" in text
    assert ("Nơi nhận: - Như trên; - Trung tâm Phục vụ hành chính công (để trả cho ông (bà)); "
            "- Lưu: VT, hồ sơ.") in text
    assert "desk" not in text


def test_extension_letter_under_2018_uses_the_2018_wording(scenario) -> None:
    code = scenario.codes["land"]
    (text,) = page_texts(scenario.forms.render_pdf(code, "04", regime="2018"))
    assert "V/v xin lỗi và hẹn lại thời gian trả kết quả giải quyết hồ sơ" in text
    assert "đề nghị gia hạn" not in text


def test_stop_notice_gives_reason_and_times(scenario) -> None:
    detail = scenario.services.dossiers.detail(scenario.codes["stopped"])
    d = detail.dossier
    (text,) = page_texts(scenario.forms.render_pdf(d.code, "05"))
    assert ("Lý do dừng giải quyết: Người yêu cầu có đơn đề nghị dừng để bổ sung giấy tờ ở nước "
            "ngoài") in text
    assert f"Thời điểm dừng giải quyết: {hm(d.closed_at)}" in text
    assert f"Thời hạn trả kết quả đã hẹn: {hm(d.due_at)}" in text


def test_control_sheet_has_one_row_per_hand_off(scenario) -> None:
    detail = scenario.services.dossiers.detail(scenario.codes["land"])
    d = detail.dossier
    pdf = scenario.forms.render_pdf(d.code, "06")
    (text,) = page_texts(pdf)
    assert f"Ngày, giờ nhận hồ sơ: {hm(d.accepted_at)}" in text
    assert f"Ngày, giờ hẹn trả kết quả: {hm(d.due_at)}" in text
    assert "Cơ quan (bộ phận) chủ trì giải quyết: Chi nhánh Văn phòng đăng ký đất đai" in text
    (table,) = tables(pdf)
    hand_off = next(e for e in detail.events if e.action == "hand_off")
    back = next(e for e in detail.events if e.action == "result_back")
    rows = table[1:]
    assert rows[0][1] == ("Giao: Trung tâm Phục vụ hành chính công Nhận: Chi nhánh Văn phòng "
                          "đăng ký đất đai")
    assert rows[0][2] == f"{hand_off.at:%H:%M} {fmt_date(hand_off.at)}"
    assert rows[0][3] == "Lê Thị Hoa"
    assert rows[1][1].startswith("Giao: Chi nhánh Văn phòng đăng ký đất đai")
    assert rows[1][2] == f"{back.at:%H:%M} {fmt_date(back.at)}"
    assert rows[1][5] == "Trước hạn"          # back before the (extended) due date
    assert len(rows) == 4                     # blank rows left for the steps to come


def test_2018_set_numbers_the_control_sheet_05(scenario) -> None:
    code = scenario.codes["legacy"]
    (text,) = page_texts(scenario.forms.render_pdf(code, "05"))   # own regime: 2018
    assert TITLES[FormKind.CONTROL] in text
    assert "Mẫu 05 (2018)" == metadata(scenario.forms.render_pdf(code, "05"))["/Subject"]
    with pytest.raises(FormError) as err:
        scenario.forms.render_pdf(code, "07")
    assert "01, 02, 03, 04, 05, 06" in err.value.message()


def test_form_that_does_not_apply_says_why_in_both_languages(scenario) -> None:
    code = scenario.codes["land"]
    with pytest.raises(FormError) as err:
        scenario.forms.render_pdf(code, "03")
    assert err.value.message("vi") == f"Mẫu: hồ sơ {code} không bị từ chối tiếp nhận."
    assert err.value.message("en") == f"Form: dossier {code} was not refused."
    with pytest.raises(FormError) as err:
        scenario.forms.render_text(scenario.codes["supplement"], "01")
    assert "Chờ bổ sung" in err.value.message("vi")


def test_register_is_not_a_dossier_form(scenario) -> None:
    with pytest.raises(FormError) as err:
        scenario.forms.render_pdf(scenario.codes["land"], "07")
    assert "ccdesk forms register" in err.value.message()


def test_rare_diacritics_survive_the_round_trip(scenario) -> None:
    """Every tone mark on every vowel, and đ/Đ, comes back from the PDF exactly."""
    from ccdesk.forms.document import FormDocument, Page, Paragraph

    vowels = "aăâeêioôơuưy"
    marks = "\u0300\u0301\u0303\u0309\u0323"
    import unicodedata

    words = [unicodedata.normalize("NFC", "".join(v + m for m in marks)) for v in vowels]
    sample = " ".join(words + [w.upper() for w in words] + ["đĐ"])
    from datetime import datetime

    for style in ("", "B", "I"):
        doc = FormDocument("01", "2025", "t", datetime(2026, 1, 1),
                           (Page((Paragraph(sample, style=style),)),))
        (text,) = page_texts(scenario.forms.pdf(doc))
        assert flat(text) == flat(sample)


def test_characters_outside_the_font_are_counted_never_logged(scenario, caplog) -> None:
    """A name may hold a character the serif lacks: the form still prints, and the log says how
    many, not which (names never go into logs)."""
    import logging
    from datetime import datetime

    from ccdesk.forms.document import FormDocument, Page, Paragraph

    doc = FormDocument("01", "2025", "t", datetime(2026, 1, 1),
                       (Page((Paragraph("Ông (Bà): Lý 李 Hoa"),)),))
    with caplog.at_level(logging.WARNING):
        pdf = scenario.forms.pdf(doc)
    assert pdf[:5] == b"%PDF-"
    assert "李" not in caplog.text and "674e" not in caplog.text.lower()
    assert "1 characters are not in the font" in caplog.text
