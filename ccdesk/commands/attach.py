"""``ccdesk attach add|list|remove|check``: digitised papers of dossiers from scripts (IT staff,
bulk digitising of papers scanned elsewhere). docs/attachments.md."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ccdesk.commands.common import STATE, fail, print_json
from ccdesk.commands.identity import AsOption, acting_officer
from ccdesk.domain.errors import CcdeskError, ValidationError
from ccdesk.domain.vocabulary import AttachmentSource

if TYPE_CHECKING:
    from ccdesk.services.attachments import DossierFiles

app = typer.Typer(help="Hồ sơ số hóa: đính kèm bản quét / digitised papers of dossiers.",
                  no_args_is_help=True)
# A person names where a file came from; "reused" is set by reusing, never typed.
_SOURCES = tuple(s.value for s in AttachmentSource if s != AttachmentSource.REUSED)


@app.command("add")
def add(
    code: Annotated[str, typer.Argument(help="mã hồ sơ / dossier code")],
    item: Annotated[int, typer.Argument(help="số thứ tự thành phần hồ sơ / checklist position")],
    paths: Annotated[list[Path], typer.Argument(help="tệp PDF, JPEG, PNG / files")],
    source: Annotated[str, typer.Option("--source", help="scanner | folder | usb | file")]
    = AttachmentSource.FILE.value,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    as_user: AsOption = None,
) -> None:
    """Attach files to one checklist item of a dossier (one event for all of them)."""
    from ccdesk.i18n import t

    services = STATE.services()
    actor = acting_officer(services, as_user, "digitise", system_ok=True)
    try:
        if source not in _SOURCES:
            raise ValidationError("core.err.choice", field="source", allowed=", ".join(_SOURCES))
        staged = [services.attachments.stage_file(p.expanduser(), item, AttachmentSource(source))
                  for p in paths]
        files = services.attachments.attach(actor, code, staged)
    except CcdeskError as err:
        fail(err)
    if as_json:
        print_json(files_json(files))
        return
    for s in staged:
        typer.echo(t("attachments.cli.added", name=s.original_name, position=item,
                     code=files.code))


@app.command("reuse")
def reuse(
    code: Annotated[str, typer.Argument(help="mã hồ sơ / dossier code")],
    item: Annotated[int, typer.Argument(help="số thứ tự thành phần hồ sơ / checklist position")],
    attachment: Annotated[int, typer.Argument(help="số tệp ở hồ sơ trước / earlier file's id")],
    as_user: AsOption = None,
) -> None:
    """Reuse the citizen's earlier digitised result (``list --reusable`` shows the ids)."""
    services = STATE.services()
    actor = acting_officer(services, as_user, "digitise", system_ok=True)
    try:
        files = services.attachments.reuse(actor, code, item, attachment)
    except CcdeskError as err:
        fail(err)
    print_json(files_json(files))


@app.command("list")
def list_(
    code: Annotated[str, typer.Argument(help="mã hồ sơ / dossier code")],
    reusable: Annotated[bool, typer.Option(
        "--reusable", help="kết quả số hóa ở hồ sơ trước / the citizen's earlier results")]
    = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    as_user: AsOption = None,
) -> None:
    """The dossier's digitised papers, and which checklist items have one."""
    services = STATE.services()
    acting_officer(services, as_user, "digitise", system_ok=True)
    try:
        if reusable:
            earlier = services.attachments.reusable(code)
            print_json([{"id": r.attachment_id, "dossier": r.dossier_code, "item": r.item_name,
                         "sha256": r.sha256, "size": r.size, "mime": r.mime} for r in earlier])
            return
        files = services.attachments.files(code)
    except CcdeskError as err:
        fail(err)
    if as_json:
        print_json(files_json(files))
        return
    _print_files(files)


@app.command("remove")
def remove(
    code: Annotated[str, typer.Argument(help="mã hồ sơ / dossier code")],
    attachment: Annotated[int, typer.Argument(help="số tệp / the file's id (list)")],
    as_user: AsOption = None,
) -> None:
    """Take a file off a dossier (kept in the store and in the history)."""
    from ccdesk.i18n import t

    services = STATE.services()
    actor = acting_officer(services, as_user, "digitise", system_ok=True)
    try:
        files = services.attachments.remove(actor, code, attachment)
    except CcdeskError as err:
        fail(err)
    typer.echo(t("attachments.cli.removed", id=attachment, code=files.code))


@app.command("check")
def check(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every file the database names: present and matching its hash; exit 1 when not."""
    from ccdesk.i18n import t
    from ccdesk.storage.store_copies import check_store

    found = check_store(STATE.services().db.path)
    if as_json:
        print_json({"named": found.named, "missing": list(found.missing),
                    "damaged": list(found.damaged), "orphans": list(found.orphans)})
    else:
        if found.sound:
            typer.echo(t("attachments.cli.check_ok", named=found.named))
        for sha256 in found.missing:
            typer.echo(t("attachments.cli.check_missing", sha256=sha256))
        for sha256 in found.damaged:
            typer.echo(t("attachments.cli.check_damaged", sha256=sha256))
        if found.orphans:
            typer.echo(t("attachments.cli.check_orphans", count=len(found.orphans)))
    if not found.sound:
        raise typer.Exit(1)


def files_json(files: DossierFiles) -> dict[str, Any]:
    """The ``attach list --json`` object."""
    return {
        "code": files.code, "digitised": files.digitised,
        "items": [{"position": i.position, "name": i.name, "requirement": i.requirement,
                   "received": i.received, "files": i.files, "reused": i.reused}
                  for i in files.items],
        "files": [{"id": f.id, "position": f.position, "sha256": f.sha256, "size": f.size,
                   "mime": f.mime, "source": f.source, "name": f.original_name,
                   "pages": f.pages, "reused_from": f.reused_from,
                   "added_at": f.added_at.isoformat()} for f in files.files],
    }


def _print_files(files: DossierFiles) -> None:
    from rich.console import Console
    from rich.table import Table

    from ccdesk.i18n import fmt_size, t

    console = Console()
    if not files.files:
        console.print(t("attachments.cli.none", code=files.code))
        return
    table = Table()
    for key in ("id", "item", "file", "size", "source"):
        table.add_column(t("vocab.field.checklist" if key == "item"
                           else f"attachments.cli.head_{key}"))
    for f in files.files:
        source = AttachmentSource(f.source).label()
        if f.reused_from:
            source += " · " + t("attachments.screen.reused_from", code=f.reused_from)
        table.add_row(str(f.id), f"{f.position}. {f.item_name}", f.original_name,
                      fmt_size(f.size), source)
    console.print(table)
    console.print(t("attachments.screen.digitised") if files.digitised else t(
        "attachments.screen.partly", count=_undigitised(files)))


def _undigitised(files: DossierFiles) -> int:
    return sum(1 for i in files.items
               if i.received and i.requirement == "required" and not i.files)
