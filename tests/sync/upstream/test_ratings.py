"""The monthly satisfaction aggregate (sync/upstream/ratings.py): counts, shares and which
months are over."""

from __future__ import annotations

from datetime import datetime

from sync.upstream.ratings import aggregate, monthly, percent


def test_percentages_have_one_decimal_at_most_and_a_decimal_comma() -> None:
    assert [percent(1, 3), percent(2, 3), percent(1, 2), percent(0, 5), percent(0, 0)] == \
        ["33,3%", "66,7%", "50%", "0%", "0%"]


def test_an_aggregate_counts_each_level_and_satisfied_includes_very_satisfied() -> None:
    element = aggregate("2026-03", ["very_satisfied", "satisfied", "satisfied", "dissatisfied"])
    assert element == {"NgayTongHop": "3-2026", "TongSoDanhGia": "4", "SoRatHaiLong": "1",
                       "SoHaiLong": "2", "SoKhongHaiLong": "1", "TyLeRatHaiLong": "25%",
                       "TyLeHaiLong": "75%", "TyLeKhongHaiLong": "25%"}
    assert aggregate("2026-03", []) is None
    assert aggregate("2026-03", ["unknown-level"]) is None


def test_only_months_that_are_over_are_reported() -> None:
    ratings = [("2026-01-31T23:59:00", "satisfied"), ("2026-02-01T00:00:00", "satisfied"),
               ("2026-03-05T08:00:00", "dissatisfied"), ("", "satisfied")]
    months = monthly(ratings, datetime(2026, 3, 10))
    assert list(months) == ["2026-01", "2026-02"]
    assert months["2026-02"]["TongSoDanhGia"] == "1"
