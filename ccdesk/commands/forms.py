"""``ccdesk forms render|register``: the printed forms from the command line (IT reprints,
scripts). The forms themselves are printed in Vietnamese; messages follow ``--lang``."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ccdesk.commands.common import STATE, fail
from ccdesk.commands.identity import AsOption, acting_officer
from ccdesk.domain.errors import CcdeskError

if TYPE_CHECKING:
    from ccdesk.forms.service import PrintOutcome

app = typer.Typer(help="Mẫu in / printed forms.", no_args_is_help=True)

OutOption = Annotated[Path | None, typer.Option(
    "--out", help="Tệp PDF ('-' = stdout) / PDF file ('-' = stdout)")]
TextOption = Annotated[bool, typer.Option(
    "--text", help="In dạng văn bản thuần / print as plain text")]
RegimeOption = Annotated[str | None, typer.Option(
    "--regime", help="2018 | 2025 (mặc định: của hồ sơ / default: the dossier's)")]


@app.command("render")
def render(
    dossier: Annotated[str, typer.Option("--dossier", help="Mã hồ sơ / dossier code")],
    form: Annotated[str, typer.Option("--form", help="01..07 (2025), 01..06 (2018)")],
    regime: RegimeOption = None,
    out: OutOption = None,
    text: TextOption = False,
    to_printer: Annotated[bool, typer.Option(
        "--print", help="Gửi tới máy in đã cấu hình và ghi nhận in lại / send to the "
                        "configured printer and record a reprint")] = False,
    as_user: AsOption = None,
    paper: Annotated[str | None, typer.Option(
        "--paper", help="A5 | A4 (mặc định: khổ giấy theo thông tư / default: the circular's "
                        "sheet)")] = None,
) -> None:
    """Render one form of a dossier: to a PDF file, as text, or to the printer (the reprint
    event names the ``--as`` officer)."""
    from ccdesk.i18n import t

    if sum(map(bool, (out, text, to_printer))) > 1:
        fail(t("forms.cli.out_and_text"))
    actor = acting_officer(STATE.services(), as_user, "desk", system_ok=True)
    forms = STATE.forms()
    try:
        if text:
            typer.echo(forms.render_text(dossier, form, regime), nl=False)
            return
        if to_printer:
            _report(forms.output(actor, dossier, form, reprint=True, regime=regime,
                                 paper=paper))
            return
        document = forms.document(dossier, form, regime, paper=paper)
        data = forms.pdf(document)
    except CcdeskError as err:
        fail(err)
    _deliver(data, out, forms.filename(dossier, document))


@app.command("register")
def register(
    start: Annotated[str, typer.Option("--from", help="YYYY-MM-DD | dd/mm/yyyy")],
    end: Annotated[str, typer.Option("--to", help="YYYY-MM-DD | dd/mm/yyyy")],
    out: OutOption = None,
    regime: Annotated[str | None, typer.Option(
        "--regime", help="2018 | 2025 (mặc định: của cơ quan / default: the office's)")] = None,
    text: TextOption = False,
    as_user: AsOption = None,
) -> None:
    """Render the register (Sổ theo dõi hồ sơ) of dossiers received in a date range."""
    from ccdesk.i18n import t

    if out and text:
        fail(t("forms.cli.out_and_text"))
    acting_officer(STATE.services(), as_user, "desk", system_ok=True)
    first, last = _date("--from", start), _date("--to", end)
    forms = STATE.forms()
    try:
        if text:
            typer.echo(forms.register_text(first, last, regime), nl=False)
            return
        document = forms.register_document(first, last, regime)
        data = forms.pdf(document)
    except CcdeskError as err:
        fail(err)
    _deliver(data, out, f"so-theo-doi_{first:%Y%m%d}-{last:%Y%m%d}_mau{document.form_id}.pdf")


def _date(option: str, value: str) -> date:
    from ccdesk.i18n import t

    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value.strip(), pattern).date()
        except ValueError:
            continue
    fail(t("forms.cli.bad_date", option=option, value=value))


def _deliver(data: bytes, out: Path | None, default_name: str) -> None:
    """Write to ``out`` ('-' = stdout); without ``--out`` save under the forms folder."""
    from ccdesk.i18n import t

    if out is not None and str(out) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    from ccdesk.storage.files import write_private_file

    forms = STATE.forms()
    try:
        if out is None:
            path = forms.save(data, default_name)
        else:  # owner-only: forms carry the citizen's name, ID number and phone
            write_private_file(out, data)
            path = out
    except CcdeskError as err:
        fail(err)
    except OSError as exc:
        fail(t("forms.cli.cannot_write", file=str(out or default_name),
               detail=exc.strerror or type(exc).__name__))
    typer.echo(t("forms.cli.saved", file=str(path)))


def _report(outcome: PrintOutcome) -> None:
    from ccdesk.i18n import t

    if outcome.printed:
        typer.echo(t("forms.cli.printed", form=outcome.form_id, code=outcome.code,
                     printer=outcome.printer, job=outcome.job))
    else:
        typer.echo(t("forms.cli.saved_instead", form=outcome.form_id, code=outcome.code,
                     file=str(outcome.path)))
