"""``ccdesk report``: form II.06a for a period, as a table, JSON or CSV (for Excel)."""

from __future__ import annotations

import csv
import io
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ccdesk.commands.common import STATE, fail, print_json
from ccdesk.commands.identity import AsOption, acting_officer
from ccdesk.domain.errors import CcdeskError, ValidationError

if TYPE_CHECKING:
    from ccdesk.domain.indicators import Indicators766
    from ccdesk.domain.reports import Counts, Period
    from ccdesk.services.reports import PeriodReport

app = typer.Typer(help="Báo cáo II.06a / period report (form II.06a).")

TABLE_WIDTH = 118
_COUNT_KEYS = ("received", "online", "direct_postal", "carried_over", "resolved", "early",
               "on_time", "late", "in_progress", "within", "overdue")


def _date(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        fail(ValidationError("reports.err.date", field=field, value=value))


def choose_period(period: str | None, start: str | None, end: str | None) -> Period:
    """``--period`` or ``--from``/``--to`` (both), never a mix; errors name the option."""
    from ccdesk.domain.reports import Period, parse_period

    if period and not (start or end):
        return parse_period(period)
    if start and end and not period:
        return Period(_date(start, "from"), _date(end, "to"))
    raise ValidationError("reports.err.period_or_range", field="period")


@app.callback(invoke_without_command=True)
def report(
    period: Annotated[str | None, typer.Option(
        "--period", help="2026-10 | 2026-Q3 | 2026-H1 | 2026-9M | 2026")] = None,
    start: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON: period, rows, total")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV (UTF-8, Excel)")] = False,
    as_pdf: Annotated[bool, typer.Option("--pdf", help="PDF (A4 landscape)")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="write to this file")] = None,
    indicators: Annotated[str | None, typer.Option(
        "--indicators", help="766: the Decision 766 indicators instead of II.06a")] = None,
    as_user: AsOption = None,
) -> None:
    """Tình hình, kết quả giải quyết TTHC (II.06a) / the II.06a period report (the whole
    desk's figures: a lead or IT officer with ``--as``; unattended runs act as the system)."""
    acting_officer(STATE.services(), as_user, "reports_all", system_ok=True)
    if indicators is not None:
        show_indicators(indicators, period, start, end, as_json, output)
        return
    try:
        chosen = choose_period(period, start, end)
        result = STATE.services().reports.period_report(chosen.start, chosen.end)
        pdf = STATE.forms().report_pdf(result) if as_pdf else None
    except CcdeskError as err:
        fail(err)
    if pdf is not None:
        write_pdf(pdf, output, chosen)
    elif as_json:
        if output:
            import orjson

            write_output(output, orjson.dumps(report_json(result), option=orjson.OPT_INDENT_2))
        else:
            print_json(report_json(result))
    elif as_csv:
        data = report_csv(result)
        if output:
            write_output(output, data.encode("utf-8-sig"))
        else:
            sys.stdout.write(data)
    else:
        print_table(result, output)


def write_output(output: Path, data: bytes) -> None:
    """``-o FILE``: written owner-only (the report names officers), or a clear refusal."""
    from ccdesk.i18n import t
    from ccdesk.storage.files import write_private_file

    try:
        write_private_file(output, data)
    except CcdeskError as err:
        fail(err)
    except OSError as exc:
        fail(t("forms.cli.cannot_write", file=str(output),
               detail=exc.strerror or type(exc).__name__))


def write_pdf(pdf: bytes, output: Path | None, period: Period) -> None:
    """``--pdf``: to ``--output`` ('-' = stdout), else saved under the forms folder."""
    from ccdesk.i18n import t

    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(pdf)
        return
    if output is not None:
        write_output(output, pdf)
        typer.echo(t("forms.cli.saved", file=str(output)))
        return
    forms = STATE.forms()
    try:
        output = forms.save(pdf, f"bao-cao-II06a_{period.start:%Y%m%d}-{period.end:%Y%m%d}.pdf")
    except OSError as exc:
        fail(t("forms.cli.cannot_write", file=str(output),
               detail=exc.strerror or type(exc).__name__))
    typer.echo(t("forms.cli.saved", file=str(output)))


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _counts_json(counts: Counts) -> dict[str, Any]:
    return counts.as_json() | {"on_time_rate": _rate(counts.on_time_rate)}


def report_json(r: PeriodReport) -> dict[str, Any]:
    """The ``--json`` object: ``period``, ``rows`` and ``total`` (a contract for scripts)."""
    rows = []
    for i, row in enumerate(r.rows, start=1):
        rows.append({"tt": i, "field": row.field, "procedure_code": row.procedure_code,
                     "procedure_name": row.procedure_name} | _counts_json(row.counts))
    s = r.satisfaction
    satisfaction = {
        "very_satisfied": s.very_satisfied, "satisfied": s.satisfied,
        "dissatisfied": s.dissatisfied, "total": s.total, "rate": _rate(s.rate),
        "citizen": s.total - s.officer_fallback, "officer_fallback": s.officer_fallback,
        "by_officer": [{"officer_id": o.officer_id, "name": o.name,
                        "very_satisfied": o.very_satisfied, "satisfied": o.satisfied,
                        "dissatisfied": o.dissatisfied, "total": o.total,
                        "rate": _rate(o.rate)} for o in s.by_officer]}
    guidance = _counts_json(r.guidance)
    total = _counts_json(r.total) | {
        "channels": r.channels, "satisfaction": satisfaction,
        "fees_collected": r.fees_collected,
        "digitised": r.digitised if r.digitised_tracked else None,
        "reused": r.reused}
    return {
        "period": {"from": r.period.start.isoformat(), "to": r.period.end.isoformat()},
        "generated_at": r.generated_at.isoformat(),
        "rows": rows,
        "fields": [{"field": g.field} | _counts_json(g.counts) for g in r.groups],
        "total": total,
        "channels": r.channels,
        "satisfaction": satisfaction,
        # of the figures above: supplement slip at intake, not completed by the period's end
        "guidance_not_completed": guidance,
        # queue tickets issued in the period: wait from issue to call, per procedure group
        "queue_waits": [{"group": w.group, "issued": w.issued, "called": w.called,
                         "mean_minutes": None if w.mean_minutes is None
                         else round(w.mean_minutes, 1),
                         "max_minutes": None if w.max_minutes is None
                         else round(w.max_minutes, 1)} for w in r.queue_waits],
    }


def show_indicators(which: str, period: str | None, start: str | None, end: str | None,
                    as_json: bool, output: Path | None) -> None:
    """``--indicators 766``: the desk-side Decision 766 indicators, as a list or JSON."""
    from ccdesk.domain.indicators import indicator_lines
    from ccdesk.i18n import t

    try:
        if which.strip() != "766":
            raise ValidationError("reports.indicators.unknown", value=which)
        chosen = choose_period(period, start, end)
        result = STATE.services().reports.indicators_766(chosen.start, chosen.end)
    except CcdeskError as err:
        fail(err)
    if as_json:
        data = indicators_json(result)
        if output:
            import orjson

            output.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        else:
            print_json(data)
        return
    lines = [t("reports.indicators.title", start=_day(result.period.start),
               end=_day(result.period.end))]
    lines += [f"  {label}: {value}" for label, value in indicator_lines(result, _percent)]
    text = "\n".join(lines) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


def _day(value: date) -> str:
    from ccdesk.i18n import fmt_date

    return fmt_date(value)


def indicators_json(r: Indicators766) -> dict[str, Any]:
    """The ``--indicators 766 --json`` object (formulas in docs/reports.md)."""
    o = r.on_time
    return {
        "decision": "766/QĐ-TTg",
        "period": {"from": r.period.start.isoformat(), "to": r.period.end.isoformat()},
        "on_time": {"ended": o.ended, "on_time": o.on_time, "late": o.late,
                    "rate": _rate(o.rate)},
        "channels": {c: {"count": n, "share": _rate(r.channel_share(c))}
                     for c, n in r.channels.items()},
        "received": r.received,
        "online_share": _rate(r.online_share),
        "digitised": r.digitised,
        "digitised_share": _rate(r.digitised_share),
        "reused": r.reused,
        "reused_share": _rate(r.reused_share),
        "satisfaction": {"index": _rate(r.satisfaction), "dissatisfied": r.dissatisfied,
                         "ratings": r.ratings, "officer_fallback": r.officer_fallback,
                         "dissatisfied_rate": _rate(r.dissatisfied_rate)},
    }


def _numbers(counts: Counts) -> list[int]:
    return [counts.received, counts.online, counts.direct_postal, counts.carried_over,
            counts.resolved, counts.early, counts.on_time, counts.late, counts.in_progress,
            counts.within, counts.overdue]


def _headers() -> list[str]:
    from ccdesk.domain.reports import VOCABULARY_HEADINGS
    from ccdesk.i18n import t

    out = []
    current = ""
    for key in _COUNT_KEYS:
        heading = t(VOCABULARY_HEADINGS.get(key, f"reports.table.{key}"))
        if key in ("received", "resolved", "in_progress"):
            current = heading
            out.append(f"{current}: {t(f'reports.table.{key}_total')}")
        else:
            out.append(f"{current}: {heading}")
    return out


def report_csv(r: PeriodReport) -> str:
    """One header row, a row per procedure, a subtotal per field, the total; Excel-friendly."""
    from ccdesk.i18n import t

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([t("vocab.field.tt"), t("reports.search.field"),
                     t("vocab.field.procedure_code"), t("vocab.field.procedure"),
                     *_headers()])
    tt = 0
    for group in r.groups:
        writer.writerow(["", group.field, "", t("reports.table.subtotal"),
                         *_numbers(group.counts)])
        for row in group.rows:
            tt += 1
            writer.writerow([tt, row.field, row.procedure_code, row.procedure_name,
                             *_numbers(row.counts)])
    writer.writerow(["", "", "", t("reports.table.total"), *_numbers(r.total)])
    writer.writerow(["", "", "", t("reports.guidance.line"), *_numbers(r.guidance)])
    return buf.getvalue()


def _percent(value: float | None) -> str:
    from ccdesk.i18n import t

    return t("reports.table.none") if value is None else f"{value * 100:.1f}%".replace(
        ".", ",")


def print_table(r: PeriodReport, output: Path | None = None) -> None:
    """The readable rich table with the figures beside it."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from ccdesk.domain.queue import wait_lines
    from ccdesk.i18n import fmt_date, fmt_money, t

    console = Console(file=io.StringIO() if output else None, width=200 if output else None)
    # Thirteen columns do not fit 80 characters: rather than crop figures away, print the
    # table at the width it needs (a narrow terminal wraps the lines; --csv/--json for scripts).
    console.width = max(console.width, TABLE_WIDTH)
    table = Table(title=t("reports.table.title"), box=box.SIMPLE_HEAD, pad_edge=False,
                  caption=t("reports.table.period", start=fmt_date(r.period.start),
                            end=fmt_date(r.period.end)))
    table.add_column(t("vocab.field.tt"), justify="right")
    table.add_column(t("reports.table.field"), overflow="ellipsis", no_wrap=True,
                     min_width=10, max_width=36)
    for key in _COUNT_KEYS:
        group = key in ("received", "resolved", "in_progress")
        label = (f"{t('reports.short.' + key)}\n{t('reports.short.total')}" if group
                 else f"\n{t('reports.short.' + key)}")
        table.add_column(label, justify="right", no_wrap=True,
                         min_width=max(len(part) for part in label.split("\n")))
    tt = 0
    for group in r.groups:
        table.add_row("", f"[bold]{group.field}[/bold]", *map(str, _numbers(group.counts)))
        for row in group.rows:
            tt += 1
            table.add_row(str(tt), f"  {row.procedure_code} {row.procedure_name}",
                          *map(str, _numbers(row.counts)))
    table.add_row("", f"[bold]{t('reports.table.total')}[/bold]",
                  *(f"[bold]{n}[/bold]" for n in _numbers(r.total)), end_section=True)
    table.add_row("", f"[italic]{t('reports.guidance.line')}[/italic]",
                  *map(str, _numbers(r.guidance)))
    console.print(table)
    console.print(t("reports.short.legend"), style="dim")
    console.print(f"{t('reports.table.on_time_rate')}: {_percent(r.total.on_time_rate)}")
    channels = ", ".join(f"{t('vocab.channel.' + c)} {n}" for c, n in r.channels.items())
    console.print(f"{t('reports.table.channels')}: {channels}")
    s = r.satisfaction
    console.print(f"{t('vocab.field.rating')}: "
                  f"{t('vocab.rating.very_satisfied')} {s.very_satisfied}, "
                  f"{t('vocab.rating.satisfied')} {s.satisfied}, "
                  f"{t('vocab.rating.dissatisfied')} {s.dissatisfied} "
                  f"{t('rating.report.fallback', count=s.officer_fallback)}")
    console.print(f"{t('reports.table.satisfaction_rate')}: {_percent(s.rate)}")
    for o in s.by_officer:
        name = o.name or t("reports.table.unknown_officer")
        console.print(f"  {t('reports.table.by_officer')} — {name}: {o.total}, "
                      f"{_percent(o.rate)}")
    console.print(f"{t('reports.table.fees')}: {fmt_money(r.fees_collected)}")
    console.print(t("attachments.report_line", digitised=r.digitised,
                    received=r.total.received, reused=r.reused))
    if r.queue_waits:
        console.print(f"{t('queue.report.title')}:")
        for line in wait_lines(r.queue_waits):
            console.print(f"  {line}")
    if output:
        write_output(output, console.file.getvalue().encode("utf-8"))
