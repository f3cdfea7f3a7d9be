"""Digitised dossiers: attaching scanned papers to checklist items, reuse, removal, and what the
outbox and the audit trail carry (ccdesk/services/attachments.py)."""

from __future__ import annotations

import hashlib
import stat

import orjson
import pytest
from sqlmodel import select

from ccdesk.domain.errors import NotFound, ValidationError
from ccdesk.domain.lifecycle import Action
from ccdesk.domain.vocabulary import AttachmentSource
from ccdesk.models import Attachment, AuditLog, DossierEvent, Outbox, StoredFile
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from tests.conftest import submit_intake
from tests.services.attach_kit import pdf_bytes, png_bytes, write


def _outbox(desk, code: str) -> list[dict]:
    with desk.db.session() as session:
        rows = session.exec(select(Outbox).where(Outbox.entity_id == code)
                            .order_by(Outbox.device_seq)).all()
    return [orjson.loads(r.payload) | {"_op": r.op} for r in rows]


def test_attach_a_file_stores_it_and_records_event_audit_and_outbox(desk, officer, tmp_path):
    code = submit_intake(desk, officer).dossier.code
    data = pdf_bytes("to khai")
    source = write(tmp_path / "in" / "to-khai.pdf", data)
    before = source.stat()
    files = desk.attachments.attach_path(officer, code, 1, source, AttachmentSource.USB)
    # the user's file is untouched (content and mode)
    assert source.read_bytes() == data and source.stat().st_mode == before.st_mode
    sha = hashlib.sha256(data).hexdigest()
    stored = desk.attachments.path_of(sha)
    assert stored.read_bytes() == data
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    [attached] = files.files
    assert (attached.position, attached.sha256, attached.source, attached.original_name) == (
        1, sha, "usb", "to-khai.pdf")
    assert attached.mime == "application/pdf" and attached.size == len(data)
    assert [i.files for i in files.items] == [1, 0]
    assert not files.digitised  # item 2 was received and is required, without a scan
    with desk.db.session() as session:
        event = session.exec(select(DossierEvent).where(DossierEvent.action == "attach")).one()
        assert orjson.loads(event.data)["files"][0]["sha256"] == sha
        audit = session.exec(select(AuditLog).where(AuditLog.action == "attach")).one()
        assert audit.dossier_code == code and audit.officer_username == "lan"
        assert "to-khai" not in audit.detail
    payload = _outbox(desk, code)[-1]
    assert payload["_op"] == "dossier.event" and payload["event"]["action"] == "attach"
    assert payload["files"] == [{"position": 1, "sha256": sha, "size": len(data),
                                 "mime": "application/pdf", "source": "usb",
                                 "reused_from": "", "pages": 0}]


def test_the_same_scan_twice_is_one_stored_file(desk, officer, tmp_path):
    code = submit_intake(desk, officer).dossier.code
    data = png_bytes(1)
    first = write(tmp_path / "a.png", data)
    second = write(tmp_path / "copy-of-a.png", data)
    desk.attachments.attach_path(officer, code, 1, first)
    files = desk.attachments.attach_path(officer, code, 2, second)
    assert files.digitised and [f.pages for f in files.files] == [1, 1]
    with desk.db.session() as session:
        assert len(session.exec(select(StoredFile)).all()) == 1
        assert len(session.exec(select(Attachment)).all()) == 2
    assert list(desk.attachments.store.hashes()) == [hashlib.sha256(data).hexdigest()]


def test_a_file_of_another_type_or_a_wrong_item_is_refused_and_nothing_written(
        desk, officer, tmp_path):
    code = submit_intake(desk, officer).dossier.code
    fake = write(tmp_path / "scan.pdf", b"GIF89a" + b"\0" * 100)
    with pytest.raises(ValidationError) as caught:
        desk.attachments.attach_path(officer, code, 1, fake)
    assert caught.value.key == "attachments.bad_type"
    good = write(tmp_path / "ok.png", png_bytes(2))
    with pytest.raises(ValidationError) as caught:
        desk.attachments.attach_path(officer, code, 9, good)
    assert caught.value.field == "checklist"
    with desk.db.session() as session:
        assert session.exec(select(Attachment)).all() == []
        assert session.exec(select(DossierEvent).where(DossierEvent.action == "attach")
                            ).all() == []


def test_files_staged_at_intake_ride_in_the_intake_transaction(desk, officer, tmp_path):
    staged = [desk.attachments.stage_file(write(tmp_path / f"p{n}.png", png_bytes(n)), n,
                                          AttachmentSource.FOLDER) for n in (1, 2)]
    request = IntakeRequest("2.000884", Applicant("Trần Thị Bình", "001190012342"),
                            [ChecklistEntry(1, True), ChecklistEntry(2, True)], files=staged)
    code = desk.intake.submit(officer, request, Decision.ACCEPT).dossier.code
    files = desk.attachments.files(code)
    assert files.digitised and [f.source for f in files.files] == ["folder", "folder"]
    [create] = _outbox(desk, code)
    assert create["_op"] == "dossier.create"
    assert [f["position"] for f in create["files"]] == [1, 2]
    assert {f["sha256"] for f in create["files"]} == {s.blob.sha256 for s in staged}
    with desk.db.session() as session:  # no separate attach event: the intake is one change
        assert session.exec(select(DossierEvent).where(DossierEvent.action == "attach")
                            ).all() == []


def test_reuse_an_earlier_result_of_the_same_citizen_only(desk, officer, tmp_path):
    earlier = submit_intake(desk, officer).dossier.code
    desk.attachments.attach_path(officer, earlier, 2, write(tmp_path / "cccd.png",
                                                            png_bytes(3)))
    later = submit_intake(desk, officer).dossier.code
    [choice] = desk.attachments.reusable(later)
    assert choice.dossier_code == earlier and choice.item_name == "Giấy tờ tùy thân của người ký"
    files = desk.attachments.reuse(officer, later, 2, choice.attachment_id)
    [reused] = files.files
    assert (reused.source, reused.reused_from, reused.position) == ("reused", earlier, 2)
    assert files.items[1].reused
    assert _outbox(desk, later)[-1]["files"][0]["reused_from"] == earlier
    stranger = submit_intake(desk, officer, applicant=Applicant("Lê Văn Cường",
                                                                "001090012344")).dossier.code
    assert desk.attachments.reusable(stranger) == []
    with pytest.raises(NotFound):
        desk.attachments.reuse(officer, stranger, 2, choice.attachment_id)


def test_remove_marks_it_removed_audited_and_not_once_final(desk, officer, tmp_path):
    code = submit_intake(desk, officer).dossier.code
    files = desk.attachments.attach_path(officer, code, 1, write(tmp_path / "a.png",
                                                                 png_bytes(4)))
    attachment_id = files.files[0].id
    after = desk.attachments.remove(officer, code, attachment_id)
    assert after.files == []
    with desk.db.session() as session:
        row = session.get(Attachment, attachment_id)
        assert row is not None and row.removed_at is not None
        assert session.exec(select(AuditLog).where(AuditLog.action == "detach")).one()
    assert desk.attachments.store.has(files.files[0].sha256)  # the history still names it
    assert _outbox(desk, code)[-1]["files"] == []
    with pytest.raises(NotFound):
        desk.attachments.remove(officer, code, attachment_id)
    again = desk.attachments.attach_path(officer, code, 1, write(tmp_path / "b.png",
                                                                 png_bytes(5)))
    for action in (Action.MARK_READY, Action.RETURN_RESULT):
        desk.dossiers.act(officer, code, action)
    with pytest.raises(ValidationError) as caught:
        desk.attachments.remove(officer, code, again.files[0].id)
    assert caught.value.key == "attachments.final"
    with pytest.raises(ValidationError):
        desk.attachments.attach_path(officer, code, 2, write(tmp_path / "c.png", png_bytes(6)))

