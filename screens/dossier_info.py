"""The dossier screen's head: whose dossier, which procedure, how it came in, and when it is due."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccdesk.domain.lifecycle import Status
from ccdesk.domain.vocabulary import ApplicantKind
from ccdesk.i18n import fmt_datetime, fmt_money, t
from screens.linked_group import member_lines

if TYPE_CHECKING:
    from datetime import datetime

    from textual.widgets import Static

    from ccdesk.domain.calendar import WorkCalendar
    from ccdesk.domain.vocabulary import SecondParty
    from ccdesk.models import Dossier
    from ccdesk.services import Services
    from ccdesk.services.dossiers import DossierDetail

NEAR_DAYS = 1  # colour the due time as "close" at this many working days left or fewer


def info_lines(services: Services, detail: DossierDetail) -> list[str]:
    """The head's lines: code and status, procedure, applicant, intake, parties, group, rating."""
    d = detail.dossier
    procedure = services.dossiers.procedure_of(d)
    lines = [
        f"[b]{d.code}[/b]  ·  [reverse] {t('vocab.status.' + d.status)} [/reverse]",
        f"{procedure.code} · {procedure.name}",
        *([t("tui.dossier.portal", code=d.portal_code)] if d.portal_code else []),
        t("tui.dossier.applicant", name=d.applicant_name, id_number=d.applicant_id_number),
        t("tui.dossier.contact", phone=d.applicant_phone or "—",
          address=d.applicant_address or "—"),
        t("tui.dossier.intake", channel=t(f"vocab.channel.{d.channel}"), sets=d.sets,
          received=fmt_datetime(d.received_at), fee=fmt_money(d.fee_amount)),
    ]
    lines.extend(party_lines(d, procedure.second_party))
    if d.handling_body and d.handling_body != "desk":
        lines.append(t("tui.dossier.body", body=d.handling_body))
    lines.extend(member_lines(services, d.code))   # a linked group's member (G opens it)
    if detail.rating is not None:
        lines.append(t("tui.dossier.rating", level=t(f"vocab.rating.{detail.rating.level}"))
                     + f" · {t(f'rating.report.source_{detail.rating.source}')}")
    return lines


def party_lines(d: Dossier, second_party: SecondParty | None) -> list[str]:
    """Whose dossier it is when not the applicant's own, and a two-party dossier's other party."""
    lines = []
    if d.applicant_kind == ApplicantKind.ORGANISATION:
        lines.append(t("tui.dossier.organisation", name=d.owner_name,
                       tax_code=d.owner_tax_code or "—", address=d.owner_address or "—"))
    elif d.owner_name:
        lines.append(t("tui.dossier.owner", name=d.owner_name,
                       id_number=d.owner_id_number or "—", address=d.owner_address or "—"))
    if d.authorisation:
        lines.append(t("tui.dossier.authorisation", text=d.authorisation))
    if d.party2_name:
        role = second_party.label() if second_party else t("vocab.field.party2_name")
        lines.append(t("tui.dossier.party2", role=role, name=d.party2_name,
                       id_number=d.party2_id_number or "—"))
    return lines


def show_due(due: Static, d: Dossier, now: datetime, calendar: WorkCalendar) -> None:
    """The due line, coloured late / near / ok (screens/styles/dossier.tcss)."""
    due.remove_class("-late", "-near", "-ok")
    if d.due_at is None:
        due.update(t("tui.dossier.no_due"))
        return
    if Status(d.status).is_final:
        due.update(t("tui.dossier.due_closed", due=fmt_datetime(d.due_at)))
        return
    left = calendar.working_days_left(now, d.due_at)
    late = now > d.due_at
    key = "tui.dossier.due_late" if late else "tui.dossier.due_left"
    due.update(t(key, due=fmt_datetime(d.due_at), days=abs(left)))
    due.add_class("-late" if late else "-near" if left <= NEAR_DAYS else "-ok")
