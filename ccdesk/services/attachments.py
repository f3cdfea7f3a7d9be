"""Digitised dossiers (Circular 01/2023/TT-VPCP): scanned papers tied to a dossier's checklist
items, and earlier digitised results reused instead of a new scan (docs/attachments.md).

A file is first *staged*: copied into the desk's content-addressed store (bounded, typed by
content, named by its SHA-256; ``storage/filestore.py``). Tying it to a dossier is then one
transaction: the ``stored_file`` row (once per content), the ``attachment`` row, the dossier's
event, its audit line and its outbox row, which carries the dossier's files as metadata
(``files``: item position, hash, size, type, source, reuse, pages); the bytes travel apart.
At intake the dossier does not exist yet: the staged files ride on the ``IntakeRequest`` and
are tied inside the intake's own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from ccdesk.domain.errors import NotFound, ValidationError
from ccdesk.domain.lifecycle import Action, Status
from ccdesk.domain.vocabulary import AttachmentSource
from ccdesk.models import Attachment, ChecklistItem, Dossier, Office, StoredFile
from ccdesk.services.context import Actor, DeskContext
from ccdesk.services.recording import load_office, record_event
from ccdesk.storage.filestore import FileStore, StoredBlob, store_root_for
from ccdesk.storage.outbox import utcnow

MAX_NAME = 120   # the file's own name as kept (no folder)
MAX_PER_ITEM = 50


@dataclass(frozen=True)
class StagedFile:
    """A file already in the store, waiting to be tied to checklist item ``position``."""

    position: int
    blob: StoredBlob
    source: AttachmentSource
    original_name: str = ""
    pages: int = 0
    reused_from: str = ""


@dataclass(frozen=True)
class AttachedFile:
    """One live attachment of a dossier, as lists and screens show it."""

    id: int
    position: int | None
    item_name: str
    sha256: str
    size: int
    mime: str
    source: str
    original_name: str
    pages: int
    reused_from: str
    added_at: datetime


@dataclass(frozen=True)
class ItemState:
    """A checklist item and whether it is digitised (a live attachment, scanned or reused)."""

    position: int
    name: str
    requirement: str
    received: bool
    files: int
    reused: bool


@dataclass(frozen=True)
class DossierFiles:
    code: str
    items: list[ItemState]
    files: list[AttachedFile]

    @property
    def digitised(self) -> bool:
        """docs/attachments.md, "Digitised dossier": some file, and every received required
        item has one (scanned or reused)."""
        needed = [i for i in self.items if i.received and i.requirement == "required"]
        return bool(self.files) and all(i.files for i in needed)


@dataclass(frozen=True)
class ReusableFile:
    """A digitised result of an earlier dossier of the same citizen."""

    dossier_code: str
    received_at: datetime
    attachment_id: int
    item_name: str
    sha256: str
    mime: str
    size: int


def pages_of(blob: StoredBlob) -> int:
    """An image is one page; a PDF's pages are not counted (0)."""
    return 0 if blob.mime == "application/pdf" else 1


def clean_name(name: str) -> str:
    """The file's own name as kept: no folder, no control characters, bounded."""
    base = Path(name).name
    return "".join(ch for ch in base if ch.isprintable())[:MAX_NAME]


class AttachmentService:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx
        self.store = FileStore(store_root_for(ctx.db.path))

    # ---- staging: into the store, not yet tied to a dossier ---------------------------------
    def stage_file(self, path: Path, position: int,
                   source: AttachmentSource = AttachmentSource.FILE) -> StagedFile:
        blob = self.store.put_file(path)
        return StagedFile(position, blob, source, clean_name(path.name), pages_of(blob))

    def stage_bytes(self, data: bytes, position: int, *, name: str,
                    source: AttachmentSource = AttachmentSource.SCANNER) -> StagedFile:
        blob = self.store.put_bytes(data, name=name)
        return StagedFile(position, blob, source, clean_name(name), pages_of(blob))

    # ---- tying files to a dossier -------------------------------------------------------------
    def attach(self, actor: Actor, code: str, staged: list[StagedFile]) -> DossierFiles:
        """Tie staged files to the dossier ``code`` (one transaction, one event)."""
        if not staged:
            raise ValidationError("attachments.nothing", field="file")

        def work(session: Session) -> None:
            office = load_office(session)
            actor.require("digitise", training=office.is_training)
            dossier = _open_dossier(session, code)
            record_files(session, self.ctx, actor, dossier, staged)
            _record(session, self.ctx, actor, office, dossier, Action.ATTACH,
                    {"files": [_brief(s) for s in staged]})

        self.ctx.db.write(work)
        return self.files(code)

    def attach_path(self, actor: Actor, code: str, position: int, path: Path,
                    source: AttachmentSource = AttachmentSource.FILE) -> DossierFiles:
        return self.attach(actor, code, [self.stage_file(path, position, source)])

    def remove(self, actor: Actor, code: str, attachment_id: int) -> DossierFiles:
        """Mark an attachment removed (its file stays in the store: the history names it)."""
        def work(session: Session) -> None:
            office = load_office(session)
            actor.require("digitise", training=office.is_training)
            dossier = _open_dossier(session, code)
            row = session.get(Attachment, attachment_id)
            if row is None or row.dossier_id != dossier.id or row.removed_at is not None:
                raise NotFound("attachments.no_attachment", id=attachment_id, code=code)
            row.removed_at = self.ctx.now()
            session.add(row)
            session.flush()
            _record(session, self.ctx, actor, office, dossier, Action.DETACH,
                    {"attachment": attachment_id, "sha256": row.sha256})

        self.ctx.db.write(work)
        return self.files(code)

    def reusable(self, code: str) -> list[ReusableFile]:
        """Digitised results of the same citizen's earlier dossiers (by ID number)."""
        with self.ctx.db.session() as session:
            dossier = _by_code(session, code)
            rows = session.exec(
                select(Attachment, Dossier, StoredFile, ChecklistItem)
                .join(Dossier, col(Dossier.id) == Attachment.dossier_id)
                .join(StoredFile, col(StoredFile.sha256) == Attachment.sha256)
                .outerjoin(ChecklistItem,
                           col(ChecklistItem.id) == Attachment.checklist_item_id)
                .where(Dossier.applicant_id_number == dossier.applicant_id_number,
                       Dossier.id != dossier.id, col(Attachment.removed_at).is_(None))
                .order_by(col(Dossier.received_at).desc(), col(Attachment.id))
                .limit(200)).all()
        return [ReusableFile(d.code, d.received_at, a.id or 0, item.name if item else "",
                             a.sha256, f.mime, f.size) for a, d, f, item in rows]

    def reuse(self, actor: Actor, code: str, position: int, attachment_id: int) -> DossierFiles:
        """Tie an earlier dossier's digitised result to item ``position`` of ``code``."""
        choices = {r.attachment_id: r for r in self.reusable(code)}
        found = choices.get(attachment_id)
        if found is None:
            raise NotFound("attachments.not_reusable", id=attachment_id, code=code)
        blob = StoredBlob(found.sha256, found.size, found.mime)
        staged = StagedFile(position, blob, AttachmentSource.REUSED, found.item_name[:MAX_NAME],
                            pages_of(blob), reused_from=found.dossier_code)
        return self.attach(actor, code, [staged])

    # ---- reading --------------------------------------------------------------------------
    def files(self, code: str) -> DossierFiles:
        with self.ctx.db.session() as session:
            dossier = _by_code(session, code)
            return dossier_files(session, dossier)

    def path_of(self, sha256: str) -> Path:
        return self.store.path_of(sha256)


# ---- inside a transaction (also called by the intake) -------------------------------------------

def record_files(session: Session, ctx: DeskContext, actor: Actor, dossier: Dossier,
                 staged: list[StagedFile]) -> None:
    """Write the ``stored_file`` and ``attachment`` rows of ``staged`` for ``dossier``."""
    items = {i.position: i for i in session.exec(
        select(ChecklistItem).where(ChecklistItem.dossier_id == dossier.id))}
    counts: dict[int, int] = {}
    for row in session.exec(select(Attachment.checklist_item_id).where(
            Attachment.dossier_id == dossier.id, col(Attachment.removed_at).is_(None))):
        if row is not None:
            counts[row] = counts.get(row, 0) + 1
    now = ctx.now()
    for s in staged:
        item = items.get(s.position)
        if item is None:
            raise ValidationError("core.err.checklist_position", field="checklist",
                                  positions=str(s.position))
        counts[item.id or 0] = counts.get(item.id or 0, 0) + 1
        if counts[item.id or 0] > MAX_PER_ITEM:
            raise ValidationError("attachments.too_many", field="file", limit=MAX_PER_ITEM)
        if session.get(StoredFile, s.blob.sha256) is None:
            session.add(StoredFile(sha256=s.blob.sha256, size=s.blob.size, mime=s.blob.mime,
                                   stored_at=utcnow()))
            session.flush()  # before the attachment naming it (no ORM relationship orders them)
        session.add(Attachment(dossier_id=dossier.id or 0, checklist_item_id=item.id,
                               sha256=s.blob.sha256, source=s.source.value,
                               original_name=clean_name(s.original_name), pages=s.pages,
                               reused_from=s.reused_from, added_at=now,
                               officer_id=actor.officer_id))
    session.flush()


def files_payload(session: Session, dossier: Dossier) -> list[dict[str, Any]]:
    """The dossier's live files as the outbox carries them (metadata only; docs/attachments.md,
    "What travels")."""
    return [{"position": f.position, "sha256": f.sha256, "size": f.size, "mime": f.mime,
             "source": f.source, "reused_from": f.reused_from, "pages": f.pages}
            for f in dossier_files(session, dossier).files]


def dossier_files(session: Session, dossier: Dossier) -> DossierFiles:
    items = list(session.exec(select(ChecklistItem).where(
        ChecklistItem.dossier_id == dossier.id).order_by(col(ChecklistItem.position))))
    by_id = {i.id: i for i in items}
    rows = session.exec(
        select(Attachment, StoredFile)
        .join(StoredFile, col(StoredFile.sha256) == Attachment.sha256)
        .where(Attachment.dossier_id == dossier.id, col(Attachment.removed_at).is_(None))
        .order_by(col(Attachment.id))).all()
    files = []
    for a, f in rows:
        item = by_id.get(a.checklist_item_id)
        files.append(AttachedFile(a.id or 0, item.position if item else None,
                                  item.name if item else "", a.sha256, f.size, f.mime,
                                  a.source, a.original_name, a.pages, a.reused_from,
                                  a.added_at))
    states = []
    for item in items:
        mine = [f for f in files if f.position == item.position]
        states.append(ItemState(item.position, item.name, item.requirement, item.received,
                                len(mine), any(f.source == AttachmentSource.REUSED
                                               for f in mine)))
    return DossierFiles(dossier.code, states, files)


def _record(session: Session, ctx: DeskContext, actor: Actor, office: Office, dossier: Dossier,
            action: Action, data: dict[str, Any]) -> None:
    record_event(session, ctx, actor, office, dossier, action.value, from_status=dossier.status,
                 changes={}, data=data, files=files_payload(session, dossier))


def _brief(s: StagedFile) -> dict[str, Any]:
    return {"position": s.position, "sha256": s.blob.sha256, "source": s.source.value,
            **({"reused_from": s.reused_from} if s.reused_from else {})}


def _by_code(session: Session, code: str) -> Dossier:
    dossier = session.exec(select(Dossier).where(Dossier.code == code.strip())).first()
    if dossier is None:
        raise NotFound("core.err.no_dossier", code=code)
    return dossier


def _open_dossier(session: Session, code: str) -> Dossier:
    """The dossier, refused once it is closed (its record is final: docs/attachments.md)."""
    dossier = _by_code(session, code)
    if Status(dossier.status).is_final:
        raise ValidationError("attachments.final", code=dossier.code)
    return dossier
