"""``ccdesk dossier search|show``: find dossiers from scripts and the shell (IT staff)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ccdesk.commands.common import STATE, fail, print_json
from ccdesk.commands.identity import AsOption, acting_officer
from ccdesk.domain.errors import CcdeskError, ValidationError

if TYPE_CHECKING:
    from ccdesk.services.dossiers import DossierDetail

# Column and fact labels: the dossier's own fields are labelled once in the vocabulary; the
# search adds a few of its own.
_LABELS = {"code": "vocab.field.code", "applicant": "vocab.field.applicant",
           "id_number": "reports.search.id_number", "phone": "reports.search.phone",
           "procedure": "vocab.field.procedure", "status": "vocab.field.status",
           "received_at": "vocab.field.received_at", "due_at": "vocab.field.due_at",
           "returned_at": "reports.search.returned_at", "channel": "reports.search.channel",
           "field": "reports.search.field"}

app = typer.Typer(help="Hồ sơ: tra cứu, xem / dossiers: search, show.", no_args_is_help=True)


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="tên, số giấy tờ, điện thoại, mã hồ sơ / "
                                              "name, ID number, phone, code")],
    limit: Annotated[int, typer.Option("--limit", "-n", help="1–1000")] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    as_user: AsOption = None,
) -> None:
    """Accent-insensitive search ("dang thi" finds "Đặng Thị"), newest first; ID numbers,
    phones and codes also match by prefix."""
    from ccdesk.services.search import match_expression

    acting_officer(STATE.services(), as_user, "desk", system_ok=True)
    try:
        if match_expression(query) is None:
            raise ValidationError("reports.err.no_query", field="query")
        rows = STATE.services().search.search(query, limit=limit)
    except CcdeskError as err:
        fail(err)
    if as_json:
        print_json([row.as_json() for row in rows])
        return
    from rich.console import Console
    from rich.table import Table

    from ccdesk.i18n import fmt_date, fmt_datetime, t

    console = Console()
    if not rows:
        console.print(t("reports.search.no_results"))
        return
    table = Table()
    for key in ("code", "applicant", "id_number", "phone", "procedure", "status",
                "received_at", "due_at"):
        table.add_column(t(_LABELS[key]))
    for r in rows:
        table.add_row(r.code, r.applicant_name, r.applicant_id_number, r.applicant_phone,
                      f"{r.procedure_code} {r.procedure_name}", t(f"vocab.status.{r.status}"),
                      fmt_date(r.received_at), fmt_datetime(r.due_at) if r.due_at else "")
    console.print(table)


def detail_json(detail: DossierDetail, procedure_name: str) -> dict[str, Any]:
    """Everything ``dossier show --json`` prints (ISO times)."""
    d = detail.dossier

    def iso(value: Any) -> Any:
        return value.isoformat() if hasattr(value, "isoformat") else value

    import orjson

    return {
        "code": d.code, "applicant_name": d.applicant_name,
        "applicant_id_number": d.applicant_id_number, "applicant_id_type": d.applicant_id_type,
        "applicant_phone": d.applicant_phone, "applicant_address": d.applicant_address,
        "applicant_old_id": d.applicant_old_id, "applicant_sex": d.applicant_sex,
        "applicant_id_issued": iso(d.applicant_id_issued),
        "applicant_kind": d.applicant_kind, "owner_name": d.owner_name,
        "owner_address": d.owner_address, "owner_id_type": d.owner_id_type,
        "owner_id_number": d.owner_id_number, "owner_tax_code": d.owner_tax_code,
        "authorisation": d.authorisation, "party2_name": d.party2_name,
        "party2_id_type": d.party2_id_type, "party2_id_number": d.party2_id_number,
        "party2_dob": iso(d.party2_dob), "procedure_code": d.procedure_code,
        "procedure_name": procedure_name, "field": d.field, "regime": d.regime,
        "status": d.status, "channel": d.channel, "delivery": d.delivery,
        "received_at": iso(d.received_at), "accepted_at": iso(d.accepted_at),
        "due_at": iso(d.due_at), "original_due_at": iso(d.original_due_at),
        "returned_at": iso(d.returned_at), "closed_at": iso(d.closed_at),
        "handling_body": d.handling_body, "fee_amount": d.fee_amount,
        "supplement_rounds": d.supplement_rounds, "extension_count": d.extensions,
        "checklist": [{"position": i.position, "name": i.name, "form": i.form,
                       "quantity": i.quantity, "requirement": i.requirement,
                       "received": i.received, "received_form": i.received_form,
                       "received_quantity": i.received_quantity} for i in detail.checklist],
        "events": [{"at": iso(e.at), "action": e.action, "from_status": e.from_status,
                    "to_status": e.to_status, "reason": e.reason,
                    "data": orjson.loads(e.data or "{}")} for e in detail.events],
        "extensions": [{"seq": x.seq, "at": iso(x.at), "original_due": iso(x.original_due),
                        "new_due": iso(x.new_due), "reason": x.reason,
                        "late_body": x.late_body} for x in detail.extensions],
        "rating": ({"level": detail.rating.level, "at": iso(detail.rating.at),
                    "source": detail.rating.source}
                   if detail.rating else None),
    }


@app.command("show")
def show(code: Annotated[str, typer.Argument(help="mã hồ sơ / dossier code")],
         as_json: Annotated[bool, typer.Option("--json")] = False,
         as_user: AsOption = None) -> None:
    """One dossier with its documents, history, extensions and rating."""
    acting_officer(STATE.services(), as_user, "desk", system_ok=True)
    try:
        services = STATE.services()
        detail = services.dossiers.detail(code)
        procedure_name = services.dossiers.procedure_of(detail.dossier).name
    except CcdeskError as err:
        fail(err)
    data = detail_json(detail, procedure_name)
    if as_json:
        print_json(data)
        return
    _print_detail(data)


def _print_detail(data: dict[str, Any]) -> None:
    from datetime import datetime

    from rich.console import Console
    from rich.table import Table

    from ccdesk.i18n import fmt_datetime, fmt_money, t

    def when(value: str | None) -> str:
        return fmt_datetime(datetime.fromisoformat(value)) if value else ""

    console = Console()
    console.print(f"[bold]{t('reports.show.title', code=data['code'])}[/bold]")
    facts = [("applicant", data["applicant_name"]), ("id_number", data["applicant_id_number"]),
             ("phone", data["applicant_phone"]),
             ("procedure", f"{data['procedure_code']} {data['procedure_name']}"),
             ("field", data["field"]), ("status", t(f"vocab.status.{data['status']}")),
             ("channel", t(f"vocab.channel.{data['channel']}")),
             ("received_at", when(data["received_at"])), ("due_at", when(data["due_at"])),
             ("returned_at", when(data["returned_at"]))]
    for key, value in facts:
        console.print(f"{t(_LABELS[key])}: {value}")
    console.print(f"{t('vocab.field.fee_amount')}: {fmt_money(data['fee_amount'])}")
    table = Table(title=t("vocab.field.checklist"))
    table.add_column("#", justify="right")
    table.add_column(t("vocab.field.checklist"))
    table.add_column("")
    for item in data["checklist"]:
        mark = t("reports.show.received_mark") if item["received"] else (
            t("reports.show.missing_mark") if item["requirement"] == "required" else "")
        table.add_row(str(item["position"]), item["name"], mark)
    console.print(table)
    events = Table(title=t("reports.show.events"))
    for column in ("event_at", "event", "status", "reason"):
        events.add_column(t(f"vocab.field.{column}"))
    for e in data["events"]:
        status = t(f"vocab.status.{e['to_status']}") if e["to_status"] else ""
        events.add_row(when(e["at"]), t(f"vocab.action.{e['action']}"), status, e["reason"])
    console.print(events)
    for x in data["extensions"]:
        console.print(f"{t('reports.show.extensions')} #{x['seq']}: {when(x['original_due'])} → "
                      f"{when(x['new_due'])} ({x['reason']})")
    if data["rating"]:
        console.print(f"{t('reports.show.rating')}: "
                      f"{t('vocab.rating.' + data['rating']['level'])}")
