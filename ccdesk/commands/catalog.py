"""``ccdesk catalog check|import|list``: the procedure catalogue from a TOML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ccdesk.commands.common import STATE, fail, print_json
from ccdesk.commands.identity import AsOption, acting_officer
from ccdesk.domain.errors import CcdeskError

app = typer.Typer(help="Danh mục thủ tục / procedure catalogue.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="catalog.toml")]


def _read(path: Path):  # noqa: ANN202 - Catalog
    from ccdesk.domain.catalog import parse_catalog
    from ccdesk.storage.files import MAX_TEXT_FILE_BYTES, read_bounded_text

    try:  # bounded: /dev/full or /dev/zero once made this hang while memory grew
        text = read_bounded_text(path, MAX_TEXT_FILE_BYTES)
    except CcdeskError as err:  # names the file and what is wrong with it
        fail(err)
    try:
        return parse_catalog(text, source=str(path))
    except CcdeskError as err:
        fail(err, code=1)


@app.command("check")
def check(file: FileArg) -> None:
    """Validate a catalogue file; every error names the file, line and field. Entries without
    a source (or a date they were checked) are warned about; they do not fail the check."""
    from ccdesk.i18n import t

    catalog = _read(file)
    for warning in catalog.warnings:
        typer.echo(t("cli.catalog_warning.line", message=warning.message()))
    typer.echo(t("cli.catalog.ok", file=str(file), count=len(catalog.procedures),
                 version=catalog.version))
    if catalog.warnings:
        typer.echo(t("cli.catalog_warning.count", count=len(catalog.warnings)))


@app.command("import")
def import_(file: FileArg, as_user: AsOption = None) -> None:
    """Import a catalogue, all or nothing. Changed procedures get a new version; dossiers
    already received keep theirs. Needs a lead or IT officer (--as) once IT is enrolled."""
    from ccdesk.i18n import t

    catalog = _read(file)
    services = STATE.services()
    actor = acting_officer(services, as_user, "catalog", bootstrap=True)
    try:
        report = services.catalog.import_catalog(catalog, actor)
    except CcdeskError as err:
        fail(err)
    typer.echo(t("cli.catalog.imported", added=report.added, updated=report.updated,
                 unchanged=report.unchanged, version=report.catalog_version))


@app.command("list")
def list_(query: Annotated[str, typer.Argument()] = "",
          as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Procedures in the database, optionally filtered (accent-insensitive)."""
    rows = STATE.services().catalog.search(query, limit=10_000)
    if as_json:
        print_json([{"code": p.code, "name": p.name, "field": p.field} for p in rows])
        return
    for p in rows:
        typer.echo(f"{p.code}  {p.field:<16}  {p.name}")
