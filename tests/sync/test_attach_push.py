"""A dossier with digitised papers pushes to a real relay: the ``files`` metadata the desk adds
to its records (docs/attachments.md, "What travels") is accepted and kept as sent."""

from __future__ import annotations

import orjson
from sqlalchemy import select

from ccdesk.domain.vocabulary import AttachmentSource
from ccdesk.services.intake import Applicant, ChecklistEntry, Decision, IntakeRequest
from sync.server.store import M as MUTATIONS
from tests.services.attach_kit import pdf_bytes, png_bytes, write
from tests.sync.helpers import Desk, ServerThread, assert_invariants
from tests.sync.test_push import engine, enrol


def test_records_carrying_files_are_acked_and_kept(desk: Desk, server: ServerThread,
                                                   tmp_path) -> None:  # noqa: ANN001
    svc = desk.services
    staged = svc.attachments.stage_file(write(tmp_path / "don.pdf", pdf_bytes("don")), 1,
                                        AttachmentSource.FOLDER)
    request = IntakeRequest("1.004873", Applicant("Đặng Văn Đức", "001085012345"),
                            [ChecklistEntry(1, True)], fee_amount=5000, files=[staged])
    code = svc.intake.submit(desk.actor, request, Decision.ACCEPT).dossier.code
    svc.attachments.attach_path(desk.actor, code, 1, write(tmp_path / "p2.png", png_bytes(2)),
                                AttachmentSource.USB)
    enrol(desk, server)
    result = engine(desk).push()
    assert result.exit_code == 0, result
    assert result.acked == result.records_sent == 2
    assert_invariants(desk, server.store)
    with server.store.engine.connect() as conn:
        payloads = [orjson.loads(p) for (p,) in conn.execute(
            select(MUTATIONS.c.payload).where(MUTATIONS.c.entity_id == code))]
    files = sorted(len(p.get("files", [])) for p in payloads)
    assert files == [1, 2]
    assert all(f["sha256"] and f["mime"] for p in payloads for f in p["files"])
