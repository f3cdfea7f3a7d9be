"""The bundled catalogue's corrections (issue 14, basis in docs/catalog.md), one test each, and
the source/checked provenance every entry carries."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from ccdesk.domain.calendar import WorkCalendar
from ccdesk.domain.catalog import DocForm, FeeKind, ProcedureSpec, Requirement, parse_catalog
from ccdesk.services import Services
from ccdesk.services.catalog import BUNDLED_CATALOG

CATALOG = parse_catalog(BUNDLED_CATALOG.read_text(encoding="utf-8"), source="catalog.toml")
BY_CODE = {p.code: p for p in CATALOG.procedures}
CAL = WorkCalendar()
CCDESK = str(Path(sys.executable).with_name("ccdesk"))


def doc(spec: ProcedureSpec, starts: str):  # noqa: ANN201 - DocumentSpec
    return next(d for d in spec.documents if d.name.startswith(starts))


def test_1_004746_is_re_registration_of_marriage_and_1_001022_acknowledgement() -> None:
    assert BY_CODE["1.004746"].name == "Đăng ký lại kết hôn"
    assert BY_CODE["1.001022"].name == "Đăng ký nhận cha, mẹ, con"
    assert [p.code for p in CATALOG.procedures if "nhận cha, mẹ, con" in p.name] == ["1.001022"]


def test_1_003593_is_not_offered_as_a_poverty_household_procedure() -> None:
    assert "1.003593" not in BY_CODE
    assert not [p for p in CATALOG.procedures if "hộ nghèo" in p.name.lower()
                and p.code == "1.003593"]


def test_1_012783_asks_for_form_18_of_decree_151_2025_and_case_h_takes_10_days() -> None:
    spec = BY_CODE["1.012783"]
    assert not any("11/ĐK" in d.name for d in spec.documents)
    assert "Mẫu số 18" in spec.documents[0].name and "151/2025/NĐ-CP" in spec.documents[0].name
    assert spec.time.total_days(needs_verification=False) == 5
    assert spec.time.total_days(needs_verification=True) == 10
    assert "Trường hợp h" in spec.verify


def test_guardianship_1_004837_is_free_by_the_civil_status_law() -> None:
    fee = BY_CODE["1.004837"].fee
    assert fee.kind == FeeKind.FREE and fee.compute() == 0
    assert any("Điều 11" in e for e in fee.exemptions)


def test_copies_from_the_original_register_2_000908_are_free() -> None:
    assert BY_CODE["2.000908"].fee.kind == FeeKind.FREE
    assert BY_CODE["2.000908"].fee.compute(copies=3) == 0


@pytest.mark.parametrize("code", ["1.001193", "1.000656"])
def test_late_birth_and_death_registration_are_not_free(code: str) -> None:
    fee = BY_CODE[code].fee
    assert fee.kind == FeeKind.FREE_ON_TIME
    assert fee.compute() == 0                    # on time: free, nothing to enter
    assert fee.compute(entered=8000) == 8000     # late: the province's rate, entered
    assert any("đúng hạn" in e for e in fee.exemptions)
    assert any("quá hạn" in e for e in fee.exemptions)


@pytest.mark.parametrize(("code", "days", "with_verification"), [
    ("1.004873", 3, 23), ("1.004859", 3, 6), ("1.001022", 3, 8),
])
def test_verification_extensions(code: str, days: int, with_verification: int) -> None:
    rule = BY_CODE[code].time
    assert rule.total_days(False) == days and rule.total_days(True) == with_verification
    # and they reach the due time: Mon 23/11/2026 09:00 (24/11 off)
    plain = CAL.due_at(datetime(2026, 11, 23, 9), rule)
    verified = CAL.due_at(datetime(2026, 11, 23, 9), rule, needs_verification=True)
    assert CAL.working_days_between(plain.date(), verified.date()) == with_verification - days


def test_2_001035_id_copy_shown_with_original_and_conditional_ownership_certificate() -> None:
    spec = BY_CODE["2.001035"]
    identity = doc(spec, "Bản sao giấy tờ tùy thân")
    assert identity.form == DocForm.PHOTOCOPY and "bản chính để đối chiếu" in identity.name
    assert identity.requirement == Requirement.REQUIRED
    ownership = doc(spec, "Bản sao giấy chứng nhận quyền sở hữu")
    assert ownership.requirement == Requirement.CONDITIONAL and ownership.condition
    assert "Điều 36" in spec.legal_basis


def test_demo_weights_name_only_procedures_that_exist() -> None:
    from ccdesk.demo.lifecycle import PROCEDURE_WEIGHTS

    assert set(PROCEDURE_WEIGHTS) <= set(BY_CODE)


# --- Provenance --------------------------------------------------------------------------------

def test_every_bundled_entry_names_its_source() -> None:
    assert all(p.source for p in CATALOG.procedures)
    assert all(p.code in p.source for p in CATALOG.procedures)
    assert not [w for w in CATALOG.warnings if w.key == "core.catalog_source.no_source"]


GOOD = """catalog_version = "t1"

[[procedure]]
code = "1.000001"
name = "Thủ tục thử"
field = "Hộ tịch"
legal_basis = "Luật thử"
source = "Quyết định 1/QĐ-UBND"
checked = 2026-12-01
time = { kind = "working_days", days = 3 }
fee = { kind = "free" }
[[procedure.documents]]
name = "Tờ khai"
form = "original"
"""


def test_entries_without_a_source_or_check_date_are_warned_about_with_their_line() -> None:
    clean = parse_catalog(GOOD, source="my.toml")
    assert clean.warnings == []
    assert clean.procedures[0].checked == date(2026, 12, 1)
    no_source = parse_catalog(GOOD.replace('source = "Quyết định 1/QĐ-UBND"\n', ""),
                              source="my.toml")
    [warning] = no_source.warnings
    assert warning.key == "core.catalog_source.no_source" and warning.params["line"] == 4
    assert warning.message("vi").startswith("my.toml, dòng 4, thủ tục 1.000001: chưa ghi nguồn")
    assert "no source" in warning.message("en")
    unchecked = parse_catalog(GOOD.replace("checked = 2026-12-01\n", ""), source="my.toml")
    assert [w.key for w in unchecked.warnings] == ["core.catalog_source.not_checked"]


def test_a_new_check_date_is_not_a_new_version_of_the_rules() -> None:
    first = parse_catalog(GOOD).procedures[0]
    rechecked = parse_catalog(GOOD.replace("2026-12-01", "2027-01-15")).procedures[0]
    changed = parse_catalog(GOOD.replace("days = 3", "days = 4")).procedures[0]
    assert first.content_hash() == rechecked.content_hash() != changed.content_hash()


def test_catalog_check_prints_the_warnings_and_still_passes(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(GOOD.replace('source = "Quyết định 1/QĐ-UBND"\n', ""), encoding="utf-8")
    env = {**os.environ, "CCDESK_HOME": str(tmp_path), "CCDESK_LANG": "en"}
    out = subprocess.run([CCDESK, "catalog", "check", str(path)], capture_output=True,
                         text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"Warning: {path}, line 4, procedure 1.000001: no source" in out.stdout
    assert "1 warnings" in out.stdout


def test_a_procedure_past_its_effective_to_is_no_longer_offered(desk: Services, clock,  # noqa: ANN001
                                                               tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(GOOD.replace('legal_basis = "Luật thử"',
                                 'legal_basis = "Luật thử"\neffective_to = 2026-12-31'),
                    encoding="utf-8")
    desk.catalog.import_file(path)
    assert [p.code for p in desk.catalog.search("1.000001")] == ["1.000001"]
    clock.now = datetime(2027, 1, 1, 8, 0)
    assert desk.catalog.search("1.000001") == []
    assert desk.catalog.procedure("1.000001").code == "1.000001"  # still readable by code


def test_birth_registration_at_the_desk_is_free_on_time_and_charged_when_late(
        desk: Services, officer) -> None:  # noqa: ANN001
    from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest

    def register(fee: int | None) -> int:
        request = IntakeRequest("1.001193", Applicant("Lê Thị Mai", "001185012345"),
                                [ChecklistEntry(p, True) for p in (1, 2, 3)], fee_amount=fee)
        return desk.intake.submit(officer, request, Decision.ACCEPT).dossier.fee_amount

    assert register(None) == 0
    assert register(8000) == 8000
