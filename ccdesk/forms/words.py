"""Words and numbers as the forms print them: catalogue look-ups and Vietnamese date phrases.

Administrative documents write dates as "<place>, ngày 05 tháng 9 năm 2026": days below 10 and
months 1 and 2 take a leading zero, other months none (Decree 30/2020/NĐ-CP, appendix I, on the
place-and-date line), and times as "08 giờ 30 phút".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ccdesk.domain.bodies import is_own_unit
from ccdesk.domain.calendar import TimeKind, TimeRule
from ccdesk.i18n import fmt_date, t

# Printed where the law leaves a blank for the officer to fill in by hand.
BLANK = "……………"


@dataclass(frozen=True)
class Words:
    """Catalogue look-ups for one language: ``words("slip.title")`` -> ``forms.slip.title``."""

    lang: str = "vi"

    def __call__(self, key: str, **params: object) -> str:
        return t(f"forms.{key}", lang=self.lang, **params)

    def vocab(self, key: str, **params: object) -> str:
        """A label of the dossier's vocabulary (statuses, channels, document forms, fields) in the
        same language: ``words.vocab("status.returned")`` -> ``vocab.status.returned``."""
        return t(f"vocab.{key}", lang=self.lang, **params)

    def shared(self, key: str, **params: object) -> str:
        """A message another subject owns, by its full key (the II.06a column headings the
        screen, the CLI and the printed report share live under ``reports.table``)."""
        return t(key, lang=self.lang, **params)

    def place_date(self, place: str, day: date) -> str:
        return self("fmt.place_date", place=place or BLANK, **date_parts(day))

    def long_date(self, day: date) -> str:
        """``ngày 05 tháng 9 năm 2026`` (Decree 30/2020 spelling; see :func:`date_parts`)."""
        return self("fmt.long_date", **date_parts(day))

    def time_date(self, moment: datetime | None) -> str:
        """``08 giờ 30 phút, ngày 23/11/2026``; a blank when there is no such time yet."""
        if moment is None:
            return BLANK
        return self("fmt.time_date", hour=f"{moment.hour:02d}", minute=f"{moment.minute:02d}",
                    date=fmt_date(moment))

    def short(self, moment: datetime | None) -> str:
        """``08:30 23/11/2026`` for table cells."""
        if moment is None:
            return ""
        return f"{moment:%H:%M} {fmt_date(moment)}"

    def statutory(self, rule: TimeRule, needs_verification: bool) -> str:
        """The processing time the law sets, as the slip states it."""
        if rule.kind == TimeKind.SAME_DAY:
            text = self("fmt.same_day")
            if needs_verification and rule.verification_days:
                text += self("fmt.plus_verification", days=rule.verification_days)
            return text
        return self("fmt.working_days", days=rule.total_days(needs_verification))

    def body(self, name: str, unit_name: str) -> str:
        """A handling body: "desk" (the word the data uses) means this unit itself and never
        reaches paper."""
        return unit_name if is_own_unit(name) else name


def date_parts(day: date) -> dict[str, str]:
    """Day, month and year as Decree 30/2020/NĐ-CP writes them on documents: a leading zero for
    days below 10 and for months 1 and 2 only ("ngày 05 tháng 02", "ngày 15 tháng 9")."""
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return {"day": f"{day.day:02d}", "month": month, "year": str(day.year)}
