from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ccdesk.domain.catalog import CatalogInvalid
from ccdesk.services import Services
from ccdesk.services.catalog import BUNDLED_CATALOG
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as con:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_reimport_is_idempotent(desk: Services) -> None:
    report = desk.catalog.import_file(BUNDLED_CATALOG)
    assert (report.added, report.updated) == (0, 0)
    assert report.unchanged == desk.catalog.count() >= 15


def test_search_is_accent_insensitive(desk: Services) -> None:
    assert "1.001193" in [p.code for p in desk.catalog.search("khai sinh")]
    assert "1.001193" in [p.code for p in desk.catalog.search("dang ky")]
    assert "1.001193" in [p.code for p in desk.catalog.search("ĐĂNG KÝ KHAI")]
    assert [p.code for p in desk.catalog.search("1.000894")] == ["1.000894"]
    assert desk.catalog.search("no such thing") == []


def test_a_changed_procedure_never_changes_received_dossiers(desk: Services, officer,
                                                             tmp_path: Path) -> None:
    request = IntakeRequest("2.000884", Applicant("Phạm Văn Nam", "001085012345"),
                            [ChecklistEntry(1, True), ChecklistEntry(2, True)])
    dossier = desk.intake.submit(officer, request, Decision.ACCEPT).dossier
    before = desk.dossiers.detail(dossier.code)

    changed = BUNDLED_CATALOG.read_text(encoding="utf-8").replace(
        'name = "Giấy tờ, văn bản cần chứng thực chữ ký"',
        'name = "Giấy tờ cần chứng thực chữ ký (mới)"').replace(
        'fee = { kind = "fixed", amount = 10000 }', 'fee = { kind = "fixed", amount = 20000 }')
    path = tmp_path / "catalog-v2.toml"
    path.write_text(changed, encoding="utf-8")
    report = desk.catalog.import_file(path)
    assert report.updated == 1

    current = desk.catalog.procedure("2.000884")
    assert current.fee.amount == 20000
    assert current.documents[0].name.endswith("(mới)")
    after = desk.dossiers.detail(dossier.code)
    assert after.dossier.procedure_version_id == before.dossier.procedure_version_id
    assert [i.name for i in after.checklist] == [i.name for i in before.checklist]
    assert desk.dossiers.procedure_of(after.dossier).fee.amount == 10000
    assert after.dossier.fee_amount == 10000


def test_import_is_all_or_nothing(desk: Services, tmp_path: Path) -> None:
    before = _count(desk.db.path, "procedureversion")
    text = BUNDLED_CATALOG.read_text(encoding="utf-8")
    bad = text.replace('catalog_version = "2026.12-start"', 'catalog_version = "v3"').replace(
        'name = "Đăng ký khai tử"', 'name = "Đăng ký khai tử (v3)"')
    bad += '\n[[procedure]]\ncode = "9.999999"\nname = "x"\nfield = "y"\nlegal_basis = "z"\n' \
           'time = { kind = "weeks" }\nfee = { kind = "free" }\n' \
           '[[procedure.documents]]\nname = "a"\nform = "original"\n'
    path = tmp_path / "bad.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(CatalogInvalid):
        desk.catalog.import_file(path)
    assert _count(desk.db.path, "procedureversion") == before
    assert desk.catalog.procedure("1.000656").name == "Đăng ký khai tử"
