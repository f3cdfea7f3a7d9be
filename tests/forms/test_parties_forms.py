"""The printed slip names whose dossier it is: the represented person with their ID number,
the organisation with its tax code, and a two-party dossier's other party; it still fits on
one A5 sheet per copy."""

from __future__ import annotations

from datetime import date

import pytest

from ccdesk.domain.parties import Owner, Party
from ccdesk.domain.vocabulary import ApplicantKind
from ccdesk.services.intake import ChecklistEntry, Decision, IntakeRequest
from tests.forms.conftest import APPLICANT, Desk
from tests.forms.forms_readback import flat, page_sizes, page_texts

A5_POINTS = (419.53, 595.28)


def _accept(desk: Desk, code: str, **kw: object) -> str:
    docs = desk.services.catalog.procedure(code).documents
    request = IntakeRequest(code, APPLICANT, [ChecklistEntry(d.position, True) for d in docs],
                            fee_amount=50_000, **kw)
    return desk.services.intake.submit(desk.officer, request, Decision.ACCEPT).dossier.code


def test_an_organisations_slip_names_it_and_its_tax_code(desk: Desk) -> None:
    owner = Owner(kind=ApplicantKind.ORGANISATION, name="Công ty TNHH Xây dựng An Phú",
                  tax_code="0314409058", address="Thôn 3, xã Đông Sơn")
    code = _accept(desk, "2.000884", owner=owner)
    pdf = desk.forms.render_pdf(code, "01")
    first = flat(page_texts(pdf)[0])
    assert "Tổ chức, doanh nghiệp: Công ty TNHH Xây dựng An Phú (mã số thuế 0314409058)" \
        in first
    assert "Địa chỉ chủ hồ sơ: Thôn 3, xã Đông Sơn" in first
    assert "Ông (Bà): Nguyễn Thị Hường" in first    # who handed it in
    assert page_sizes(pdf) == [pytest.approx(A5_POINTS, abs=0.1)] * 2


def test_a_represented_owners_slip_carries_their_id_number(desk: Desk) -> None:
    owner = Owner(kind=ApplicantKind.REPRESENTATIVE, name="Nguyễn Văn Đức",
                  id_number="038085004321", authorisation="Giấy ủy quyền số 3/UQ")
    first = flat(page_texts(desk.forms.render_pdf(_accept(desk, "2.000884", owner=owner),
                                                  "01"))[0])
    assert "Chủ hồ sơ: Nguyễn Văn Đức (số CCCD/định danh cá nhân 038085004321)" in first


def test_a_marriage_slip_names_the_other_spouse(desk: Desk) -> None:
    spouse = Party(name="Lê Văn Hòa", id_number="038090007777", date_of_birth=date(1990, 5, 1))
    first = flat(page_texts(desk.forms.render_pdf(_accept(desk, "1.000894", party2=spouse),
                                                  "01"))[0])
    assert "Người cùng đăng ký kết hôn: Lê Văn Hòa" in first
    assert "038090007777" in first
