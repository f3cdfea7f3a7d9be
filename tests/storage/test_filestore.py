"""The content-addressed store of digitised papers (ccdesk/storage/filestore.py)."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from ccdesk.domain.errors import ValidationError
from ccdesk.storage.filestore import FileStore, sniff_type, store_root_for

PDF = b"%PDF-1.4\n" + b"x" * 5000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def test_put_names_the_file_by_its_hash_owner_only(tmp_path):
    store = FileStore(store_root_for(tmp_path / "desk.sqlite3"))
    source = tmp_path / "scan.pdf"
    source.write_bytes(PDF)
    blob = store.put_file(source)
    assert blob.sha256 == hashlib.sha256(PDF).hexdigest()
    assert (blob.size, blob.mime) == (len(PDF), "application/pdf")
    path = store.path_of(blob.sha256)
    assert path.read_bytes() == PDF
    assert path.parent.parent == tmp_path / "desk-files"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
    assert store.verify(blob.sha256)
    assert list(store.hashes()) == [blob.sha256]


def test_the_same_content_twice_is_one_file(tmp_path):
    store = FileStore(tmp_path / "files")
    first = store.put_bytes(PNG, name="a.png")
    second = store.put_bytes(PNG, name="b.png")
    assert first == second
    assert list(store.hashes()) == [first.sha256]
    assert not [p for p in store.root.iterdir() if p.name.startswith(".incoming-")]


@pytest.mark.parametrize("data", [b"GIF89a....", b"MZ\x90\x00", b"<html>"])
def test_a_file_of_another_type_is_refused_whatever_its_name(tmp_path, data):
    source = tmp_path / "scan.pdf"
    source.write_bytes(data)
    store = FileStore(tmp_path / "files")
    with pytest.raises(ValidationError) as caught:
        store.put_file(source)
    assert caught.value.key == "attachments.bad_type"
    assert str(source) in caught.value.params.values()
    assert not list(store.hashes())


def test_a_file_over_the_bound_is_refused_and_nothing_is_left(tmp_path):
    store = FileStore(tmp_path / "files")
    with pytest.raises(ValidationError) as caught:
        store.put_bytes(PDF, name="big.pdf", limit=1000)
    assert caught.value.key == "reliability.security.too_large"
    assert os.listdir(store.root) == []


def test_a_fifo_and_an_empty_file_are_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    store = FileStore(tmp_path / "files")
    with pytest.raises(ValidationError) as caught:
        store.put_file(fifo)
    assert caught.value.key == "reliability.security.not_a_file"
    with pytest.raises(ValidationError) as caught:
        store.put_file(empty)
    assert caught.value.key == "attachments.empty"


def test_verify_notices_a_changed_or_missing_file(tmp_path):
    store = FileStore(tmp_path / "files")
    blob = store.put_bytes(PDF, name="a.pdf")
    store.path_of(blob.sha256).write_bytes(PDF + b"tampered")
    assert not store.verify(blob.sha256)
    store.path_of(blob.sha256).unlink()
    assert not store.verify(blob.sha256)
    assert not store.has(blob.sha256)


def test_only_hash_names_are_accepted(tmp_path):
    store = FileStore(tmp_path / "files")
    with pytest.raises(ValueError):
        store.path_of("../../etc/passwd")
    assert sniff_type(b"%PDF-1.7") == "application/pdf"
    assert sniff_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
