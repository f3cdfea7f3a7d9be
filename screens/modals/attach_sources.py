"""The attach dialog's sources (docs/attachments.md): the scanner's folder, USB sticks, the
scanner, a citizen's earlier files, and the item's own; and what keeping or taking off a file
means at intake (staged on the draft) and on the dossier screen (attached at once)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccdesk.domain.vocabulary import AttachmentSource
from ccdesk.services import scan_sources
from ccdesk.services.attachments import AttachedFile, DossierFiles, ReusableFile, StagedFile

if TYPE_CHECKING:
    from ccdesk.services import Actor, Services

# One line of the dialog's file list (screens/modals/attach_lines.py).
Entry = scan_sources.Candidate | ReusableFile | AttachedFile | StagedFile


@dataclass(frozen=True)
class AttachContext:
    """The item being digitised and what to do with each file."""

    position: int
    item_name: str
    stage_file: Callable[[Path, AttachmentSource], StagedFile]
    stage_scan: Callable[[bytes, str], StagedFile]
    keep: Callable[[StagedFile], int]       # ties the file; returns the item's file count
    scan_folder: str = ""
    usb_roots: tuple[str, ...] = ()
    scanner_device: str = ""
    scan_format: str = "jpeg"
    reusable: Callable[[], list[ReusableFile]] | None = None   # None at intake
    reuse: Callable[[ReusableFile], int] | None = None
    # The item's files already there, and taking one off (returns the item's file count).
    attached: Callable[[], list[AttachedFile | StagedFile]] = list
    remove: Callable[[AttachedFile | StagedFile], int] = lambda _f: 0


def source_entries(context: AttachContext, source: str) -> list[Entry]:
    """What one source lists: ``attached``, ``folder``, ``usb`` or ``reuse`` (run in a thread:
    a USB stick can be slow)."""
    if source == "attached":
        return list(context.attached())
    if source == "folder":
        return list(scan_sources.folder_files(context.scan_folder))
    if source == "usb":
        return list(scan_sources.usb_files(scan_sources.usb_roots_from(context.usb_roots)))
    assert context.reusable is not None
    return list(context.reusable())


def _sources(services: Services) -> dict[str, Any]:
    config = services.config
    return {"scan_folder": config.scan_folder, "usb_roots": tuple(config.usb_roots),
            "scanner_device": config.scanner_device, "scan_format": config.scan_format}


def intake_attach_context(services: Services, files: list[StagedFile], position: int,
                          name: str) -> AttachContext:
    """At intake: each file is staged in the store and waits on the draft's request
    (``IntakeRequest.files``) until the intake is recorded."""
    attachments = services.attachments

    def keep(staged: StagedFile) -> int:
        files.append(staged)
        return sum(1 for f in files if f.position == position)

    def drop(staged: AttachedFile | StagedFile) -> int:
        files.remove(staged)  # type: ignore[arg-type]  # only staged files are listed here
        return sum(1 for f in files if f.position == position)

    return AttachContext(
        position, name,
        stage_file=lambda path, source: attachments.stage_file(path, position, source),
        stage_scan=lambda data, scan: attachments.stage_bytes(data, position, name=scan),
        keep=keep, attached=lambda: [f for f in files if f.position == position],
        remove=drop, **_sources(services))


def dossier_attach_context(services: Services, actor: Actor, code: str, position: int,
                           name: str) -> AttachContext:
    """On the dossier screen: each file is attached at once (its own event)."""
    attachments = services.attachments

    def count(files: DossierFiles) -> int:
        return next((i.files for i in files.items if i.position == position), 0)

    return AttachContext(
        position, name,
        stage_file=lambda path, source: attachments.stage_file(path, position, source),
        stage_scan=lambda data, scan: attachments.stage_bytes(data, position, name=scan),
        keep=lambda staged: count(attachments.attach(actor, code, [staged])),
        reusable=lambda: attachments.reusable(code),
        reuse=lambda found: count(attachments.reuse(actor, code, position,
                                                    found.attachment_id)),
        attached=lambda: [f for f in attachments.files(code).files if f.position == position],
        remove=lambda f: count(attachments.remove(actor, code, f.id)),  # type: ignore[union-attr]
        **_sources(services))
