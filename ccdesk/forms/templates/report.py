"""The II.06a period report (Tình hình, kết quả giải quyết TTHC, form II.06a/VPCP/KSTT) as a
printable landscape page: the reports component computes the figures, this lays them out.

As the form is printed: its code top-left, the title and period in the middle, the reporting
and receiving units top-right (communes report to the province since the two-level local
government of 07/2025), "Đơn vị tính", the three column groups and the row of column numbers
(1)…(13); the line "guidance given, not completed" under the total (docs/reports.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ccdesk.domain.reports import VOCABULARY_HEADINGS
from ccdesk.forms.document import (
    Align,
    Column,
    FormDocument,
    Page,
    Paragraph,
    ReportHeading,
    SignatureBlock,
    Signatures,
    Spacer,
    Table,
)
from ccdesk.forms.words import Words
from ccdesk.i18n import fmt_date, fmt_money, t
from ccdesk.models import Office

if TYPE_CHECKING:
    from ccdesk.domain.reports import Counts, Period
    from ccdesk.services.reports import PeriodReport

REPORT_FORM_ID = "II.06a"
_RECEIVED = ("received", "online", "direct_postal", "carried_over")
_RESOLVED = ("resolved", "early", "on_time", "late")
_IN_PROGRESS = ("in_progress", "within", "overdue")
_SHARED_HEADINGS = {"online": "reports.table.online", **VOCABULARY_HEADINGS}


def period_report(office: Office, report: PeriodReport, words: Words) -> FormDocument:
    """Thirteen columns: TT, field/procedure, received (4), resolved (4), in progress (3)."""
    columns = (Column(words.vocab("field.tt"), 0.5, Align.CENTER),
               Column(words("report.procedure"), 4.2),
               *(Column(_heading(words, key), 0.95, Align.CENTER)
                 for key in (*_RECEIVED, *_RESOLVED, *_IN_PROGRESS)))
    rows: list[tuple[str, ...]] = [tuple(f"({n})" for n in range(1, len(columns) + 1))]
    bold: set[int] = set()
    number = 0
    for group in report.groups:
        bold.add(len(rows))
        rows.append(("", group.field, *_numbers(group.counts)))
        for row in group.rows:
            number += 1
            rows.append((str(number), f"{row.procedure_code} {row.procedure_name}",
                         *_numbers(row.counts)))
    bold.add(len(rows))
    rows.append(("", words("report.total"), *_numbers(report.total)))
    rows.append(("", t("reports.guidance.line", lang=words.lang), *_numbers(report.guidance)))
    period = report.period
    s = report.satisfaction
    channels = "; ".join(f"{words.vocab('channel.' + c)}: {n}" for c, n in report.channels.items())
    blocks = (
        ReportHeading(
            code=t("reports.ii06a.code", lang=words.lang),
            title=(t("reports.ii06a.title", lang=words.lang),),
            period=(t("reports.ii06a.period", lang=words.lang, label=_label(words, period)),
                    t("reports.ii06a.range", lang=words.lang, start=fmt_date(period.start),
                      end=fmt_date(period.end))),
            units=(t("reports.ii06a.reporting", lang=words.lang),
                   " ".join(filter(None, (office.unit_name, office.governing_body))) or "…",
                   t("reports.ii06a.receiving", lang=words.lang),
                   t("reports.ii06a.province", lang=words.lang))),
        Paragraph(t("reports.ii06a.unit", lang=words.lang), style="I", align=Align.RIGHT),
        Table(columns, tuple(rows), group_headers=(
            (columns[0].header, 1), (columns[1].header, 1),
            (words.shared("reports.table.received"), len(_RECEIVED)),
            (words("report.resolved"), len(_RESOLVED)),
            (words("report.in_progress"), len(_IN_PROGRESS))), bold_rows=frozenset(bold)),
        Paragraph(t("reports.guidance.note", lang=words.lang), style="I"),
        Paragraph(words("report.on_time_rate", rate=_percent(words, report.total.on_time_rate))),
        Paragraph(words("report.channels", channels=channels)),
        Paragraph(words("report.satisfaction",
                        very=s.very_satisfied, satisfied=s.satisfied, dis=s.dissatisfied,
                        rate=_percent(words, s.rate, "report.no_rating"))
                  + " " + t("rating.report.fallback", lang=words.lang,
                            count=s.officer_fallback)),
        Paragraph(words("report.fees", amount=fmt_money(report.fees_collected))),
        Paragraph(t("attachments.report_line", lang=words.lang, digitised=report.digitised,
                    received=report.total.received, reused=report.reused)),
        Paragraph(words("report.generated", at=words.time_date(report.generated_at)),
                  style="I"),
        Spacer(2),
        Signatures((SignatureBlock(words("sign.preparer"), words("sign.hint")),
                    SignatureBlock(words("sign.head"), words("sign.head_hint")))),
    )
    return FormDocument(form_id=REPORT_FORM_ID, regime=office.regime, dated=report.generated_at,
                        pages=(Page(blocks, landscape=True),),
                        title=f"{words('report.title')} {period.label()}")


def _heading(words: Words, key: str) -> str:
    """A count column's heading: the circular's wording (``forms.report.col_*``) where it is
    the form's own, else the word the report and the vocabulary already hold."""
    shared = _SHARED_HEADINGS.get(key)
    return words.shared(shared) if shared else words(f"report.col_{key}")


def _label(words: Words, period: Period) -> str:
    """"tháng 11 năm 2026", "quý III năm 2026", "6 tháng năm 2026", "năm 2026", or the dates."""
    start, end = period.start, period.end
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    whole = start.day == 1 and (end + timedelta(days=1)).day == 1
    key, params = "custom", {}
    if whole and start.year == end.year:
        if months == 1:
            key, params = "month", {"month": start.month}
        elif months == 3 and start.month % 3 == 1:
            key, params = "quarter", {"quarter": ("I", "II", "III", "IV")[start.month // 3]}
        elif start.month == 1 and months in (6, 9, 12):
            key, params = ("year" if months == 12 else "months"), {"months": months}
        elif start.month == 7 and months == 6:
            key = "second_half"
    return t(f"reports.ii06a.kind_{key}", lang=words.lang, year=start.year, **params)


def _numbers(counts: Counts) -> tuple[str, ...]:
    values = (counts.received, counts.online, counts.direct_postal, counts.carried_over,
              counts.resolved, counts.early, counts.on_time, counts.late,
              counts.in_progress, counts.within, counts.overdue)
    return tuple(str(v) for v in values)


def _percent(words: Words, value: float | None, missing: str = "report.no_rate") -> str:
    if value is None:
        return words(missing)
    return f"{value * 100:.1f}%".replace(".", ",")
