"""The Decision 766 on-time indicator as the national portal computes it from what it holds,
written from the published formula sheet (docs/upstream-double.md, "KPI"), independently of
ccdesk's own report code so that each checks the other:

* a dossier counts once its processing ended (``NgayKetThucXuLy``) inside the period and it
  reached a result (status 9 or 10); refused (3), withdrawn (7) and stopped (8) dossiers are
  listed apart, not counted;
* on time when ``NgayKetThucXuLy - supplement waiting time <= NgayHenTra`` [V]; the due date is
  the one set before the first supplement (``NgayHenTraTruoc`` of the first round) when the
  sender gives it, else ``NgayHenTra``;
* waiting time of a round = ``NgayTiepNhanBoSung - NgayBoSung`` (the round's request date to
  the date the papers came back; an open round waits until the end) [I: field names];
* more than one supplement round = late, whatever the dates [V].
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sync.upstream.double.rules import parse_stamp

RESULT_STATUSES = frozenset({"9", "10"})
ROUNDS, ASKED, BACK, DUE_BEFORE = ("DanhSachHoSoBoSung", "NgayBoSung", "NgayTiepNhanBoSung",
                                   "NgayHenTraTruoc")


def _stamp(value: Any) -> datetime | None:
    return parse_stamp(value) if isinstance(value, str) else None


def judge(snapshot: dict[str, Any]) -> tuple[bool, str]:
    """(on time, why) for one finished dossier."""
    end, due = _stamp(snapshot.get("NgayKetThucXuLy")), _stamp(snapshot.get("NgayHenTra"))
    rounds = snapshot.get(ROUNDS) if isinstance(snapshot.get(ROUNDS), list) else []
    rounds = [r for r in rounds if isinstance(r, dict)]
    if len(rounds) > 1:
        return False, "more_than_one_supplement"
    if end is None or due is None:
        return False, "missing_dates"
    waited = timedelta()
    if rounds:
        asked, back = _stamp(rounds[0].get(ASKED)), _stamp(rounds[0].get(BACK))
        due = _stamp(rounds[0].get(DUE_BEFORE)) or due
        if asked is not None:
            waited = max(timedelta(), (back or end) - asked)
    if end - waited <= due:
        return True, "supplement_wait_subtracted" if waited else "before_due"
    return False, "after_due"


def on_time_indicator(snapshots: Iterable[dict[str, Any]], start: date,
                      end: date) -> dict[str, Any]:
    counted, excluded = [], []
    for snap in snapshots:
        finished = _stamp(snap.get("NgayKetThucXuLy"))
        if finished is None or not start <= finished.date() <= end:
            continue
        code = snap.get("MaHoSo")
        if snap.get("TrangThaiHoSo") not in RESULT_STATUSES:
            excluded.append({"MaHoSo": code, "TrangThaiHoSo": snap.get("TrangThaiHoSo")})
            continue
        on_time, why = judge(snap)
        counted.append({"MaHoSo": code, "on_time": on_time, "reason": why})
    on_time_count = sum(d["on_time"] for d in counted)
    rate = round(100 * on_time_count / len(counted), 2) if counted else None
    return {"from": start.isoformat(), "to": end.isoformat(), "processed": len(counted),
            "on_time": on_time_count, "late": len(counted) - on_time_count,
            "on_time_rate": rate, "dossiers": counted, "excluded": excluded}
