"""The compiled catalogues (``<area>.json`` beside each ``<area>.toml``): shipped up to date,
read only when made from exactly the TOML text beside them, and never shown stale."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccdesk import i18n

LOCALES = Path(i18n.__file__).parent / "locales"


def test_every_catalogue_has_an_up_to_date_compiled_twin() -> None:
    sources = sorted(LOCALES.glob("*/*.toml"))
    assert len(sources) >= 2 * 13
    stale = [str(f.relative_to(LOCALES)) for f in sources
             if not f.with_suffix(".json").is_file()
             or f.with_suffix(".json").read_text(encoding="utf-8") != i18n.compiled_twin(f)]
    assert not stale, f"out of date: {stale}; run `python -m ccdesk.i18n`"
    assert not {f.with_suffix(".toml") for f in LOCALES.glob("*/*.json")} - set(sources)


@pytest.fixture
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "vi").mkdir()
    monkeypatch.setattr(i18n, "_LOCALES", tmp_path)
    i18n._area.cache_clear()
    yield tmp_path / "vi"
    i18n._area.cache_clear()


def _twin(toml: Path, messages: dict[str, str], made_from: bytes) -> None:
    twin = {"source": toml.name, "source_sha256": i18n._digest(made_from), "messages": messages}
    toml.with_suffix(".json").write_text(json.dumps(twin), encoding="utf-8")


def test_a_twin_made_from_the_same_text_is_read_instead_of_the_toml(locales: Path) -> None:
    toml = locales / "demo.toml"
    toml.write_text('[a]\nb = "từ TOML"\n', encoding="utf-8")
    _twin(toml, {"demo.a.b": "từ bản biên dịch"}, toml.read_bytes())
    assert i18n._area("vi", "demo") == {"demo.a.b": "từ bản biên dịch"}


@pytest.mark.parametrize("twin", [
    "stale", "not json {", '["a list"]', '{"source_sha256": "SHA", "messages": {"demo.a.b": 1}}',
])
def test_an_edited_toml_or_a_broken_twin_is_read_from_the_toml(locales: Path, twin: str) -> None:
    toml = locales / "demo.toml"
    toml.write_text('[a]\nb = "sửa rồi"\n', encoding="utf-8")
    if twin == "stale":
        _twin(toml, {"demo.a.b": "cũ"}, b'[a]\nb = "cu"\n')
    else:
        digest = i18n._digest(toml.read_bytes())
        toml.with_suffix(".json").write_text(twin.replace("SHA", digest), encoding="utf-8")
    assert i18n._area("vi", "demo") == {"demo.a.b": "sửa rồi"}


def test_compiling_writes_only_what_changed(locales: Path) -> None:
    toml = locales / "demo.toml"
    toml.write_text('[a]\nb = "một"\n', encoding="utf-8")
    assert i18n.compile_catalogues() == [toml.with_suffix(".json")]
    assert i18n.compile_catalogues() == []
    toml.write_text('[a]\nb = "hai"\n', encoding="utf-8")
    assert i18n.compile_catalogues() == [toml.with_suffix(".json")]
    assert i18n._area("vi", "demo") == {"demo.a.b": "hai"}
