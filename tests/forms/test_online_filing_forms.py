"""A dossier filed online keeps the portal's code on the forms the desk hands out: the slip
(Mẫu 01), the supplement request (Mẫu 02) and the refusal (Mẫu 03), under "Mã hồ sơ", read
back from the PDF. A desk intake's forms have no such line."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from forms_readback import page_texts

from ccdesk.services.intake import ChecklistEntry, Decision, MissingItem
from ccdesk.services.online_filings import store_filing

UNIT = "000.17.22.H56"
START = datetime(2026, 11, 23, 8, 30)


def file_online(desk, n: int) -> str:  # noqa: ANN001 - the forms' Desk
    code = f"{UNIT}-261123-{n:04d}"
    data = {"portal_code": code, "procedure_code": "1.004873",
            "procedure_name": "Xác nhận tình trạng hôn nhân", "applicant_name": "Lê Thị Hồng Nhung",
            "applicant_id_number": "001190012345", "applicant_phone": "0987654321",
            "applicant_email": "", "applicant_address": "Thôn Đông, xã Đông Sơn", "summary": "",
            "filed_at": "2026-11-22T20:15:00", "channel": "online_full"}
    desk.services.ctx.db.write(lambda s: store_filing(s, data, f"change-{n}", START))
    return code


@pytest.mark.parametrize(("decision", "form_id"), [(Decision.ACCEPT, "01"),
                                                   (Decision.SUPPLEMENT, "02"),
                                                   (Decision.REFUSE, "03")])
def test_the_portal_code_is_printed_under_ours(desk, decision, form_id) -> None:  # noqa: ANN001
    portal = file_online(desk, 7)
    start = desk.services.online_filings.start_intake(portal)
    start.request.checklist = [ChecklistEntry(1, decision == Decision.ACCEPT)]
    start.request.fee_amount = 15_000
    kw = {Decision.SUPPLEMENT: {"missing": [MissingItem("Bản sao giấy khai sinh")]},
          Decision.REFUSE: {"reason": "Không thuộc thẩm quyền của xã"}}.get(decision, {})
    code = desk.services.intake.submit(desk.at(START + timedelta(hours=1)).officer,
                                       start.request, decision, **kw).dossier.code

    pages = page_texts(desk.forms.render_pdf(code, form_id))

    line = f"Mã hồ sơ trên Cổng dịch vụ công: {portal}"
    assert all(f"Mã hồ sơ: {code}" in page and line in page for page in pages), pages[0][:400]
    assert "Lê Thị Hồng Nhung" in pages[0]


def test_a_desk_intake_has_no_portal_line(desk) -> None:  # noqa: ANN001
    pages = page_texts(desk.forms.render_pdf(desk.codes["land"], "01"))
    assert "Cổng dịch vụ công" not in " ".join(pages)
