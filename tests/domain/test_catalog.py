from __future__ import annotations

import pytest

from ccdesk.domain.catalog import CatalogInvalid, FeeKind, parse_catalog
from ccdesk.services.catalog import BUNDLED_CATALOG

GOOD = """catalog_version = "t1"

[[procedure]]
code = "1.000001"
name = "Thủ tục thử"
field = "Hộ tịch"
legal_basis = "Luật thử"
time = { kind = "working_days", days = 3 }
fee = { kind = "fixed", amount = 10000 }
[[procedure.documents]]
name = "Tờ khai"
form = "original"
"""


def test_bundled_catalogue_is_valid_and_large_enough() -> None:
    catalog = parse_catalog(BUNDLED_CATALOG.read_text(encoding="utf-8"))
    assert len(catalog.procedures) >= 15
    codes = {p.code for p in catalog.procedures}
    assert {"1.001193", "1.000894", "2.000815", "1.012783"} <= codes
    assert all(p.verify for p in catalog.procedures)  # every entry says: verify


def test_fee_rules() -> None:
    catalog = parse_catalog(BUNDLED_CATALOG.read_text(encoding="utf-8"))
    by_code = {p.code: p for p in catalog.procedures}
    copy_fee = by_code["2.000815"].fee
    assert copy_fee.kind == FeeKind.PER_PAGE
    assert copy_fee.compute(pages=1) == 2000
    assert copy_fee.compute(pages=5) == 2000 * 2 + 1000 * 3
    assert copy_fee.compute(pages=500) == 200_000       # capped per copy
    assert copy_fee.compute(pages=500, copies=2) == 400_000
    assert by_code["2.000635"].fee.compute(copies=3) == 24_000
    assert by_code["1.000894"].fee.compute() == 0      # marriage: free
    assert by_code["1.001193"].fee.compute() == 0      # birth on time: free
    assert by_code["1.001193"].fee.compute(entered=8000) == 8000  # late: the entered rate
    assert by_code["1.004873"].fee.compute() is None     # provincial rate: officer enters it


@pytest.mark.parametrize(("change", "line", "where"), [
    (('code = "1.000001"', 'code = "1-0001"'), 4, "procedure.0.code"),
    (('form = "original"', 'form = "scan"'), 12, "procedure.0.documents.0.form"),
    (('days = 3', 'days = -1'), 8, "procedure.0.time.days"),
    (('name = "Tờ khai"', 'name = 7'), 11, "procedure.0.documents.0.name"),
    (('field = "Hộ tịch"\n', ''), 3, "procedure.0.field"),
])
def test_errors_name_file_line_and_field(change: tuple[str, str], line: int, where: str) -> None:
    text = GOOD.replace(*change)
    with pytest.raises(CatalogInvalid) as info:
        parse_catalog(text, source="my.toml")
    err = info.value.errors[0]
    assert (err.params["line"], err.params["where"]) == (line, where)
    assert err.message("vi").startswith(f"my.toml, dòng {line}, trường {where}")
    assert err.message("en").startswith(f"my.toml, line {line}, field {where}")


def test_every_error_is_reported_in_one_pass() -> None:
    text = GOOD.replace('form = "original"', 'form = "scan"').replace('days = 3', 'days = 0')
    with pytest.raises(CatalogInvalid) as info:
        parse_catalog(text, source="x.toml")
    assert len(info.value.errors) == 2


def test_syntax_errors_and_empty_catalogues() -> None:
    with pytest.raises(CatalogInvalid) as info:
        parse_catalog("catalog_version = \n", source="bad.toml")
    assert "bad.toml" in info.value.message("vi")
    with pytest.raises(CatalogInvalid):
        parse_catalog('catalog_version = "x"\n')


def test_conditional_documents_need_their_condition() -> None:
    text = GOOD.replace('form = "original"', 'form = "original"\nrequirement = "conditional"')
    with pytest.raises(CatalogInvalid) as info:
        parse_catalog(text)
    assert info.value.errors[0].params["where"] == "procedure.0.documents.0.condition"
