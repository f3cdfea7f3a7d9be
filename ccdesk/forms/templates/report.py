"""The II.06a period report (Tình hình, kết quả giải quyết TTHC, form II.06a/VPCP/KSTT) as a
printable landscape page: the reports component computes the figures, this lays them out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccdesk.forms.document import (
    Align,
    Column,
    FormDocument,
    Page,
    Paragraph,
    SignatureBlock,
    Signatures,
    Spacer,
    Table,
    Title,
)
from ccdesk.forms.templates.common import header
from ccdesk.forms.words import Words
from ccdesk.i18n import fmt_date, fmt_money
from ccdesk.models import Office

if TYPE_CHECKING:
    from ccdesk.domain.reports import Counts
    from ccdesk.services.reports import PeriodReport

REPORT_FORM_ID = "II.06a"
_RECEIVED = ("received", "online", "direct_postal", "carried_over")
_RESOLVED = ("resolved", "early", "on_time", "late")
_IN_PROGRESS = ("in_progress", "within", "overdue")


def period_report(office: Office, report: PeriodReport, words: Words) -> FormDocument:
    """Thirteen columns: TT, field/procedure, received (4), resolved (4), in progress (3)."""
    columns = (Column(words("report.tt"), 0.5, Align.CENTER),
               Column(words("report.procedure"), 4.2),
               *(Column(words(f"report.col_{key}"), 0.95, Align.CENTER)
                 for key in (*_RECEIVED, *_RESOLVED, *_IN_PROGRESS)))
    rows: list[tuple[str, ...]] = []
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
    period = report.period
    s = report.satisfaction
    channels = "; ".join(f"{words.core('channel.' + c)}: {n}" for c, n in report.channels.items())
    blocks = (
        header(words, office, report.generated_at),
        Title(words("report.title"), (
            words("report.period", start=fmt_date(period.start), end=fmt_date(period.end)),
            words("report.form"))),
        Table(columns, tuple(rows), group_headers=(
            (columns[0].header, 1), (columns[1].header, 1),
            (words("report.received"), len(_RECEIVED)),
            (words("report.resolved"), len(_RESOLVED)),
            (words("report.in_progress"), len(_IN_PROGRESS))), bold_rows=frozenset(bold)),
        Paragraph(words("report.on_time_rate", rate=_percent(words, report.total.on_time_rate))),
        Paragraph(words("report.channels", channels=channels)),
        Paragraph(words("report.satisfaction",
                        very=s.very_satisfied, satisfied=s.satisfied, dis=s.dissatisfied,
                        rate=_percent(words, s.rate, "report.no_rating"))),
        Paragraph(words("report.fees", amount=fmt_money(report.fees_collected))),
        Paragraph(words("report.generated", at=words.time_date(report.generated_at)),
                  style="I"),
        Spacer(2),
        Signatures((SignatureBlock(words("sign.preparer"), words("sign.hint")),
                    SignatureBlock(words("sign.head"), words("sign.head_hint")))),
    )
    return FormDocument(form_id=REPORT_FORM_ID, regime=office.regime, dated=report.generated_at,
                        pages=(Page(blocks, landscape=True),),
                        title=f"{words('report.title')} {period.label()}")


def _numbers(counts: Counts) -> tuple[str, ...]:
    values = (counts.received, counts.online, counts.direct_postal, counts.carried_over,
              counts.resolved, counts.early, counts.on_time, counts.late,
              counts.in_progress, counts.within, counts.overdue)
    return tuple(str(v) for v in values)


def _percent(words: Words, value: float | None, missing: str = "report.no_rate") -> str:
    if value is None:
        return words(missing)
    return f"{value * 100:.1f}%".replace(".", ",")
