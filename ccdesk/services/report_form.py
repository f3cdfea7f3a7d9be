"""Form II.06a/VPCP/KSTT as a printable document, drawn by the forms component's renderers.

The report's numbers come from :class:`ccdesk.services.reports.PeriodReport`; this module only
lays them out as the form prints them: the standard heading, the title and period, the
13-column table under its three column groups (received / resolved / in progress), then the
figures the report carries beside the table, and the signature of the head of the unit.
"""

from __future__ import annotations

from datetime import datetime, time

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
from ccdesk.i18n import fmt_date, fmt_money, t
from ccdesk.models import Office
from ccdesk.services.reports import PeriodReport

FORM_ID = "II.06a"


def _numbers(counts) -> tuple[str, ...]:  # noqa: ANN001 - domain.reports.Counts
    return tuple(str(n) for n in (
        counts.received, counts.online, counts.direct_postal, counts.carried_over,
        counts.resolved, counts.early, counts.on_time, counts.late, counts.in_progress,
        counts.within, counts.overdue))


def _percent(value: float | None, lang: str) -> str:
    if value is None:
        return t("reports.table.none", lang=lang)
    return f"{value * 100:.1f}%".replace(".", ",") if lang == "vi" else f"{value * 100:.1f}%"


def report_document(report: PeriodReport, office: Office, lang: str = "vi") -> FormDocument:
    """The II.06a of ``report`` for ``office``, landscape A4, in ``lang``."""
    def w(key: str, **params: object) -> str:
        return t(f"reports.{key}", lang=lang, **params)

    columns = (Column(w("table.tt"), 0.5, Align.CENTER), Column(w("table.field"), 4.2),
               *(Column(w(f"table.{key}"), 0.9, Align.CENTER) for key in (
                   "received_total", "online", "direct_postal", "carried_over",
                   "resolved_total", "early", "on_time", "late", "in_progress_total",
                   "within", "overdue")))
    rows: list[tuple[str, ...]] = []
    number = 0
    for group in report.groups:
        rows.append(("", group.field.upper(), *_numbers(group.counts)))
        for row in group.rows:
            number += 1
            rows.append((str(number), f"{row.procedure_code} {row.procedure_name}",
                         *_numbers(row.counts)))
    rows.append(("", w("table.total").upper(), *_numbers(report.total)))
    s = report.satisfaction
    channels = "; ".join(f"{w('channel.' + c)}: {n}" for c, n in report.channels.items())
    lines = [
        f"{w('table.on_time_rate')}: {_percent(report.total.on_time_rate, lang)}",
        f"{w('table.channels')}: {channels}",
        f"{w('table.satisfaction')}: {w('rating.very_satisfied')} {s.very_satisfied}; "
        f"{w('rating.satisfied')} {s.satisfied}; {w('rating.dissatisfied')} {s.dissatisfied}"
        f" — {w('table.satisfaction_rate')}: {_percent(s.rate, lang)}",
        *(f"    {w('table.by_officer')} {o.name or w('table.unknown_officer')}: {o.total}, "
          f"{_percent(o.rate, lang)}" for o in s.by_officer),
        f"{w('table.fees')}: {fmt_money(report.fees_collected)}",
        f"{w('table.digitised')}: " + (str(report.digitised) if report.digitised_tracked
                                       else w("table.digitised_untracked")),
    ]
    dated = datetime.combine(report.period.end, time(0, 0))
    words = Words(lang)
    blocks = (
        header(words, office, dated),
        Title(w("table.title"), (w("table.period", start=fmt_date(report.period.start),
                                   end=fmt_date(report.period.end)),)),
        Table(columns, tuple(rows), group_headers=(
            (columns[0].header, 1), (columns[1].header, 1), (w("table.received"), 4),
            (w("table.resolved"), 4), (w("table.in_progress"), 3))),
        Spacer(2),
        *(Paragraph(line) for line in lines),
        Spacer(3),
        Signatures((SignatureBlock(w("table.signer"), w("table.sign_hint")),)),
    )
    return FormDocument(form_id=FORM_ID, regime=office.regime,
                        title=f"{FORM_ID} {report.period.label()}", dated=dated,
                        pages=(Page(blocks, landscape=True),))
