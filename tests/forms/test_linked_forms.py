"""The linked group's papers parsed back: one slip listing every member with its code and the
combined due time, and one hand-off sheet per agency with that agency's member dossier."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ccdesk.domain.linked import Agency
from ccdesk.forms.linked import LinkedForms
from ccdesk.services.linked import GroupView, LinkedRequest
from tests.forms.conftest import APPLICANT, START, Desk
from tests.forms.forms_readback import page_texts, qr_codes


@pytest.fixture
def group(desk: Desk) -> GroupView:
    s = desk.services
    items = s.linked.checklist("LT-KT")
    request = LinkedRequest("LT-KT", APPLICANT, "Nguyễn Văn Tư", date(2026, 11, 21),
                            received=list(range(len(items))))
    return s.linked.accept(desk.at(START).officer, request)


def test_the_slip_lists_every_member_and_the_combined_due(desk: Desk, group: GroupView) -> None:
    pdf = LinkedForms(desk.forms).slip_pdf(group.code)
    pages = page_texts(pdf)
    assert len(pages) == 2 or len(pages) == 4     # two copies (A5 may take two sheets each)
    text = " ".join(pages)
    for member in group.members:
        assert member.code in text
        assert member.procedure_name in text
    assert "Công an xã (đăng ký cư trú)" in text
    assert f"Mã nhóm hồ sơ liên thông: {group.code}" in text
    due = group.due_at
    assert due == datetime(2026, 12, 1, 8, 30)   # 5 working days; 24/11 is a day off
    assert f"ngày {due:%d/%m/%Y}" in text
    assert "Nguyễn Văn Tư" in text and APPLICANT.full_name in text
    assert "Tờ khai đăng ký khai tử" in text
    # the death extract is the group's own result: not among the papers received
    assert "Trích lục khai tử" not in text
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text
    assert any(group.code in code for code in qr_codes(pdf))
    assert pdf == LinkedForms(desk.forms).slip_pdf(group.code)   # a reprint is identical


def test_one_handoff_sheet_per_agency(desk: Desk, group: GroupView) -> None:
    sheets = LinkedForms(desk.forms).handoff_pdfs(group.code)
    assert list(sheets) == [Agency.JUSTICE, Agency.POLICE, Agency.SOCIAL_INSURANCE,
                            Agency.SOCIAL_AFFAIRS]
    by_agency = {m.agency: m for m in group.members}
    for agency, pdf in sheets.items():
        text = " ".join(page_texts(pdf))
        assert "PHIẾU CHUYỂN HỒ SƠ LIÊN THÔNG" in text
        assert group.code in text
        assert agency.label("vi") in text
        assert by_agency[agency].code in text
        others = [m.code for m in group.members if m.agency != agency]
        assert not any(code in text for code in others)
        assert "BÊN GIAO" in text and "BÊN NHẬN" in text
    police = " ".join(page_texts(sheets[Agency.POLICE]))
    assert "Tờ khai thay đổi thông tin cư trú (Mẫu CT01)" in police
    assert "Trích lục khai tử" in police       # handed over: produced by the group
    assert "Tờ khai của thân nhân" not in police


def test_a_group_without_that_agency_has_no_sheet(desk: Desk) -> None:
    s = desk.services
    items = s.linked.checklist("LT-KT", ["1.004252", "1.001731"])
    view = s.linked.accept(desk.at(START).officer, LinkedRequest(
        "LT-KT", APPLICANT, "Nguyễn Văn Tư", date(2026, 11, 21),
        received=list(range(len(items))), skipped=["1.004252", "1.001731"]))
    with pytest.raises(Exception) as err:
        LinkedForms(desk.forms).handoff_pdf(view.code, Agency.SOCIAL_INSURANCE)
    assert "không có hồ sơ chuyển cho Cơ quan Bảo hiểm xã hội" in err.value.message("vi")
