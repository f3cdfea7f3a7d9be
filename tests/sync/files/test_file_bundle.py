"""Scans travel by USB bundle too (docs/sync.md, "Files"): carried with their records, checked
against their names on import, kept by the relay, and marked sent by the ack."""

from __future__ import annotations

import io
import zipfile

import orjson
import pytest

from sync import bundle, service
from sync.bundle import BundleError
from sync.server.bundles import import_bundle
from tests.sync.files.kit import intake_with_scans, scan, sent
from tests.sync.helpers import COMMUNE, Desk, ServerThread


def test_a_bundle_carries_scans_and_the_ack_marks_them_sent(
        desk: Desk, relay: ServerThread, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001
    service.enroll(desk.services, relay.url, relay.store.issue_enroll_code(COMMUNE))
    scans = [scan(200_000, 41), scan(50_000, 42)]
    _code, hashes = intake_with_scans(desk, monkeypatch, scans)
    path, count, _first, _last, files = bundle.export_bundle(desk.services.db, tmp_path / "usb")
    assert (count, files) == (1, 2)
    assert sent(desk) == {h: (0, False) for h in hashes}      # exporting changes nothing
    ack = import_bundle(relay.store, path.read_bytes())
    assert sorted(orjson.loads(orjson.loads(ack)["ack"])["files"]) == sorted(hashes)
    for h, data in zip(hashes, scans, strict=True):
        assert relay.store.files.path_of(h).read_bytes() == data
    counts = bundle.import_ack(desk.services.db, ack)
    assert (counts["acked"], counts["files"]) == (1, 2)
    assert sent(desk) == {h: (len(s), True) for h, s in zip(hashes, scans, strict=True)}
    # Importing the same bundle again changes nothing and acks the same.
    again = orjson.loads(orjson.loads(import_bundle(relay.store, path.read_bytes()))["ack"])
    assert sorted(again["files"]) == sorted(hashes)
    # Nothing left to send: the next bundle only asks for the commune's changes.
    _path, count, _first, _last, files = bundle.export_bundle(desk.services.db, tmp_path / "usb2")
    assert (count, files) == (0, 0)


def test_a_scan_that_does_not_match_its_name_refuses_the_bundle(
        desk: Desk, relay: ServerThread, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001
    service.enroll(desk.services, relay.url, relay.store.issue_enroll_code(COMMUNE))
    _code, (h,) = intake_with_scans(desk, monkeypatch, [scan(30_000, 43)])
    path, *_ = bundle.export_bundle(desk.services.db, tmp_path / "usb")
    # Swap the scan's bytes inside the zip (the signed manifest still names the original).
    damaged = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as src, \
            zipfile.ZipFile(damaged, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, scan(30_000, 44) if info.filename == f"files/{h}"
                         else data)
    with pytest.raises(BundleError, match="bad_bundle"):
        import_bundle(relay.store, damaged.getvalue())
    assert not relay.store.files.path_of(h).exists()
    assert [s["dossiers"] for s in relay.store.stats()] == [0]   # nothing imported at all
