"""The printed details the circulars and Decree 30/2020 fix: date spelling, sheet size, form
numbers, the numbers of the unit's books, who issues an apology, and which papers exist at all.
Each is read back from a real PDF of a real desk."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import APPLICANT, Desk, open_desk
from forms_readback import page_sizes, page_texts, qr_codes

from ccdesk.domain import paper_qr
from ccdesk.domain.lifecycle import Action
from ccdesk.forms.errors import FormError
from ccdesk.forms.words import Words, date_parts
from ccdesk.paths import Paths
from ccdesk.services.intake import ChecklistEntry, Decision, IntakeRequest, MissingItem

A4_POINTS = (595.28, 841.89)
A5_POINTS = (419.53, 595.28)


@pytest.mark.parametrize(("day", "spelled"), [
    (date(2026, 9, 5), "ngày 05 tháng 9 năm 2026"),
    (date(2026, 2, 14), "ngày 14 tháng 02 năm 2026"),
    (date(2026, 1, 9), "ngày 09 tháng 01 năm 2026"),
    (date(2026, 12, 25), "ngày 25 tháng 12 năm 2026"),
    (date(2026, 3, 1), "ngày 01 tháng 3 năm 2026"),
])
def test_dates_are_spelled_as_decree_30_2020_writes_them(day: date, spelled: str) -> None:
    assert Words("vi").long_date(day) == spelled
    assert Words("vi").place_date("Đông Sơn", day) == f"Đông Sơn, {spelled}"


def test_every_day_of_a_year_keeps_the_leading_zero_rule() -> None:
    day = date(2026, 1, 1)
    while day.year == 2026:
        parts = date_parts(day)
        assert len(parts["day"]) == 2
        assert parts["month"].startswith("0") == (day.month <= 2)
        day += timedelta(days=1)


def _desk_at(tmp_path: Path, moment: datetime) -> Desk:
    desk = open_desk(tmp_path / "desk.sqlite3", Paths(tmp_path / "data", tmp_path / "config"))
    desk.clock.now = moment
    return desk


def _accept(desk: Desk, procedure: str = "1.004873") -> str:
    request = IntakeRequest(procedure_code=procedure, applicant=APPLICANT,
                            checklist=[ChecklistEntry(1, True)], fee_amount=15_000)
    return desk.services.intake.submit(desk.officer, request, Decision.ACCEPT).dossier.code


def test_a_september_slip_prints_the_month_without_a_zero(tmp_path: Path) -> None:
    desk = _desk_at(tmp_path, datetime(2026, 9, 7, 9, 0))
    try:
        code = _accept(desk)
        for text in page_texts(desk.forms.render_pdf(code, "01")):
            assert "Đông Sơn, ngày 07 tháng 9 năm 2026" in text
            assert "tháng 09" not in text
    finally:
        desk.services.close()


def test_counter_papers_default_to_a5_and_print_on_a4_when_asked(scenario) -> None:
    forms = scenario.forms
    code = scenario.codes["land"]
    assert page_sizes(forms.render_pdf(code, "01")) == [pytest.approx(A5_POINTS, abs=0.1)] * 2
    on_a4 = page_sizes(forms.render_pdf(code, "01", paper="a4"))
    assert on_a4 == [pytest.approx(A4_POINTS, abs=0.1)] * len(on_a4)
    register = forms.register_pdf(date(2026, 11, 1), date(2026, 11, 30))
    assert page_sizes(register)[0] == pytest.approx(A4_POINTS[::-1], abs=0.1)   # landscape A4
    with pytest.raises(FormError) as err:
        forms.render_pdf(code, "01", paper="Letter")
    assert "A4, A5" in err.value.message("en")


def test_slip_cites_its_row_in_the_year_register(scenario) -> None:
    for text in page_texts(scenario.forms.render_pdf(scenario.codes["land"], "01")):
        assert "Vào Sổ theo dõi hồ sơ năm 2026, số thứ tự 1" in text
    for text in page_texts(scenario.forms.render_pdf(scenario.codes["stopped"], "01")):
        assert "Vào Sổ theo dõi hồ sơ năm 2026, số thứ tự 2" in text


def test_the_units_own_letters_are_numbered_in_its_book_and_say_no_internal_word(
        tmp_path: Path) -> None:
    desk = _desk_at(tmp_path, datetime(2026, 11, 23, 8, 0))
    s = desk.services
    try:
        first, second = _accept(desk), _accept(desk)
        due = s.dossiers.detail(first).dossier.due_at
        desk.clock.now = datetime(2026, 11, 24, 10, 0)
        s.dossiers.act(desk.lead, first, Action.EXTEND, reason="Cần xác minh thêm",
                       late_body="desk", new_due=due + timedelta(days=2))
        s.dossiers.act(desk.lead, second, Action.STOP, reason="Người yêu cầu đề nghị dừng")
        (letter,) = page_texts(desk.forms.render_pdf(first, "04"))
        assert "Số: 01/2026" in letter
        assert "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG" in letter      # the unit issues it itself
        assert "Trung tâm Phục vụ hành chính công xin lỗi ông (bà)" in letter
        assert "desk" not in letter.casefold().split()
        assert "Cơ quan chưa trả kết quả" not in letter
        assert "Trần Minh Tuấn" in letter                           # the lead who signed
        (notice,) = page_texts(desk.forms.render_pdf(second, "05"))
        assert "Số: 02/2026" in notice
        # A reprint is the same paper, with the same number.
        assert page_texts(desk.forms.render_pdf(first, "04")) == [letter]
        # A second extension of the same dossier is a new letter with the next number.
        desk.clock.now = datetime(2026, 11, 25, 10, 0)
        s.dossiers.act(desk.lead, first, Action.EXTEND, reason="Chờ kết quả xác minh",
                       late_body="", new_due=due + timedelta(days=4))
        (again,) = page_texts(desk.forms.render_pdf(first, "04"))
        assert "Số: 03/2026" in again
    finally:
        s.close()


def test_another_agencys_apology_leaves_its_number_blank(scenario) -> None:
    (letter,) = page_texts(scenario.forms.render_pdf(scenario.codes["land"], "04"))
    assert "Số: ……………" in letter
    assert "Số: 0" not in letter


def test_a_withdrawal_is_answered_by_the_stop_notice_naming_the_request(tmp_path: Path) -> None:
    desk = _desk_at(tmp_path, datetime(2026, 11, 23, 8, 0))
    s = desk.services
    try:
        code = _accept(desk)
        desk.clock.now = datetime(2026, 11, 24, 14, 0)
        s.dossiers.act(desk.officer, code, Action.WITHDRAW, reason="Gia đình đổi ý")
        (notice,) = page_texts(desk.forms.render_pdf(code, "05"))
        assert "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ" in notice
        assert ("Căn cứ đề nghị dừng giải quyết hồ sơ (rút hồ sơ) của ông (bà) ngày 24 tháng 11 "
                "năm 2026") in notice
        assert "Lý do dừng giải quyết: Gia đình đổi ý" in notice
        assert "Số: 01/2026" in notice
    finally:
        s.close()


def test_no_control_sheet_for_a_dossier_never_accepted(scenario) -> None:
    for name in ("supplement", "refused"):
        with pytest.raises(FormError) as err:
            scenario.forms.render_pdf(scenario.codes[name], "06")
        assert "Phiếu kiểm soát" in err.value.message("vi")
        assert "never accepted" in err.value.message("en")


def test_every_dossier_paper_carries_the_qr_facts_top_left(scenario) -> None:
    forms = scenario.forms
    for name, form_id in (("supplement", "02"), ("refused", "03"), ("land", "04"),
                          ("stopped", "05"), ("land", "06")):
        code = scenario.codes[name]
        (line,) = qr_codes(forms.render_pdf(code, form_id))
        qr = paper_qr.decode(line)
        assert qr is not None and qr.dossier_code == code
        assert qr.applicant_id == "038190012345" or name == "supplement"
        assert qr.system == "ccdesk"


def test_qr_decoding_refuses_anything_not_ours() -> None:
    good = paper_qr.encode(paper_qr.PaperQr("000.17.22.H56-261123-0001", "1.001193",
                                            "038190012345", "GIẤY TIẾP NHẬN", "ccdesk",
                                            datetime(2026, 11, 23, 8, 30),
                                            datetime(2026, 11, 23, 17, 0)))
    assert paper_qr.decode(good).due_at == datetime(2026, 11, 23, 17, 0)
    assert paper_qr.decode("  " + good + "\n").dossier_code == "000.17.22.H56-261123-0001"
    for bad in ("", "000.17.22.H56-261123-0001", good.replace("CCDESK1", "CCDESK2"),
                good + "|extra", good.replace("20261123083000", "2026112308300x"),
                good.replace("000.17.22.H56-261123-0001", "../../etc/passwd"),
                "001085012345|123456789|Lê Văn Tám|01011985|Nam|Hà Nội|01012021",
                "CCDESK1|" + "x" * 2000):
        assert paper_qr.decode(bad) is None


def test_supplement_papers_keep_their_numbering_out_of_the_register(tmp_path: Path) -> None:
    """A dossier waiting for its supplement is not in the register until it is accepted."""
    desk = _desk_at(tmp_path, datetime(2026, 11, 23, 8, 0))
    s = desk.services
    try:
        waiting = s.intake.submit(
            desk.officer, IntakeRequest(procedure_code="1.004873", applicant=APPLICANT,
                                        checklist=[ChecklistEntry(1, False)]),
            Decision.SUPPLEMENT, missing=[MissingItem("Tờ khai", "chưa ký")]).dossier.code
        accepted = _accept(desk)
        desk.clock.now = datetime(2026, 11, 24, 9, 0)
        s.dossiers.act(desk.officer, waiting, Action.SUPPLEMENT_RECEIVED,
                       received_positions=[1])
        rows = {code: page_texts(desk.forms.render_pdf(code, "01"))[0]
                for code in (accepted, waiting)}
        assert "số thứ tự 1 " in rows[accepted]
        assert "số thứ tự 2 " in rows[waiting]
    finally:
        s.close()


def test_migration_0011_numbers_existing_data_as_it_happened(tmp_path: Path) -> None:
    """A desk upgraded from 0006 gets the numbers it would have got had it kept the books."""
    import sqlite3

    from alembic import command
    from conftest import build_scenario

    from ccdesk.storage.migrate import alembic_config, current_revision

    desk = build_scenario(open_desk(tmp_path / "desk.sqlite3",
                                    Paths(tmp_path / "data", tmp_path / "config")))
    s = desk.services
    own = s.intake.submit(desk.at(datetime(2026, 11, 25, 9, 0)).officer, IntakeRequest(
        procedure_code="1.004873", applicant=APPLICANT, checklist=[ChecklistEntry(1, True)],
        fee_amount=15_000), Decision.ACCEPT).dossier.code
    s.dossiers.act(desk.at(datetime(2026, 11, 26, 9, 0)).lead, own, Action.EXTEND,
                   reason="Cần xác minh", late_body="desk",
                   new_due=s.dossiers.detail(own).dossier.due_at + timedelta(days=3))
    s.close()
    path = tmp_path / "desk.sqlite3"
    query = "SELECT book, year, number, dossier_id, ref FROM book_number ORDER BY book, number"

    def books() -> list[tuple]:
        with sqlite3.connect(path) as con:
            return con.execute(query).fetchall()

    kept = books()
    assert [(b, n, r) for b, _y, n, _d, r in kept] == [
        ("letter", 1, "stop"), ("letter", 2, "extension:1"),
        ("register", 1, "accept"), ("register", 2, "accept"), ("register", 3, "accept"),
        ("register", 4, "accept")]
    cfg = alembic_config(f"sqlite:///{path}")
    command.downgrade(cfg, "0006_outbox_retention")
    assert current_revision(path) == "0006_outbox_retention"
    command.upgrade(cfg, "head")
    assert books() == kept
    with sqlite3.connect(path) as con:
        counters = dict(con.execute(
            "SELECT key, last_seq FROM codecounter WHERE key LIKE 'book:%'"))
    assert counters == {"book:letter:2026": 2, "book:register:2026": 4}
