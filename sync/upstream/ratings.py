"""The monthly satisfaction aggregate (``DongBoDanhGia``) of one unit (docs/upstream.md,
"Monthly satisfaction").

What public sources show [I]: one aggregate per unit and month, ``NgayTongHop`` as ``M-YYYY``,
percentages as strings like ``"57%"``. The element's other keys are ours until the province's
document names them (docs/upstream.md lists them as a question): counts per level of the three
levels used at desks, their total, and the rates. A month is sent once it is over (Vietnam
time); a rating recorded later for it (a desk that was offline) sends the month again as an
update. Pure: no database, no network.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

import orjson

from ccdesk.domain.vocabulary import RatingLevel

RATING_REQUIRED = ("NgayTongHop", "TongSoDanhGia", "SoRatHaiLong", "SoHaiLong",
                   "SoKhongHaiLong", "TyLeHaiLong", "TyLeKhongHaiLong")


def month_of(at: str) -> str:
    """``YYYY-MM`` of an event time (the desk's ISO wall-clock time, Vietnam)."""
    return str(at)[:7]


def percent(part: int, total: int) -> str:
    """``"57%"``, ``"3,5%"``: one decimal at most, a decimal comma (Vietnamese usage) [I]."""
    value = round(100 * part / total, 1) if total else 0.0
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") + "%"


def aggregate(month: str, levels: Iterable[str]) -> dict[str, str] | None:
    """The ``DongBoDanhGia`` element of ``month`` (``YYYY-MM``) from its ratings' levels; None
    when the month has no rating (nothing to report)."""
    counts = Counter(levels)
    very = counts[RatingLevel.VERY_SATISFIED.value]
    satisfied = counts[RatingLevel.SATISFIED.value]
    unhappy = counts[RatingLevel.DISSATISFIED.value]
    total = very + satisfied + unhappy
    if not total:
        return None
    year, number = month.split("-")
    return {"NgayTongHop": f"{int(number)}-{year}", "TongSoDanhGia": str(total),
            "SoRatHaiLong": str(very), "SoHaiLong": str(satisfied),
            "SoKhongHaiLong": str(unhappy), "TyLeRatHaiLong": percent(very, total),
            "TyLeHaiLong": percent(very + satisfied, total),
            "TyLeKhongHaiLong": percent(unhappy, total)}


def monthly(ratings: Iterable[tuple[str, str]], now: datetime) -> dict[str, dict[str, str]]:
    """The aggregate of every month that is over (before ``now``'s month) and has ratings, from
    ``(event time, level)`` pairs."""
    by_month: dict[str, list[str]] = {}
    current = f"{now:%Y-%m}"
    for at, level in ratings:
        month = month_of(at)
        if len(month) == 7 and month < current:
            by_month.setdefault(month, []).append(level)
    out = {}
    for month, levels in sorted(by_month.items()):
        element = aggregate(month, levels)
        if element is not None:
            out[month] = element
    return out


def digest(element: dict[str, str]) -> str:
    return hashlib.sha256(orjson.dumps(element, option=orjson.OPT_SORT_KEYS)).hexdigest()
