"""Choosing table columns by priority (screens/widgets/columns.py)."""

from __future__ import annotations

from screens.widgets.columns import (
    CELL_PADDING,
    ColumnSpec,
    choose_columns,
    column_pages,
    fit_cell,
    in_display_order,
    shared_prefix,
)

REGISTER = [ColumnSpec("code", 25), ColumnSpec("status", 27), ColumnSpec("due", 16),
            ColumnSpec("applicant", 20, minimum=12), ColumnSpec("procedure", 8),
            ColumnSpec("received", 16)]


def test_the_first_columns_stay_and_the_rest_follow_priority() -> None:
    chosen = choose_columns(74, REGISTER, required=3)  # 80 columns less padding and scrollbar
    assert list(chosen) == ["code", "status", "due"]  # a long status: no room for a name
    wide = choose_columns(150, REGISTER, required=3)
    assert wide == {"code": 25, "status": 27, "due": 16, "applicant": 20, "procedure": 8,
                    "received": 16}


def test_a_flexible_column_shrinks_before_a_later_one_is_dropped() -> None:
    room = 25 + 27 + 16 + 12 + 4 * CELL_PADDING
    chosen = choose_columns(room, REGISTER, required=3)
    assert chosen["applicant"] == 12 and "procedure" not in chosen
    roomier = choose_columns(room + 8 + CELL_PADDING + 3, REGISTER, required=3)
    assert roomier["procedure"] == 8 and roomier["applicant"] == 15  # leftovers widen it
    assert sum(w + CELL_PADDING for w in roomier.values()) <= room + 8 + CELL_PADDING + 3


def test_display_order_is_not_priority_order() -> None:
    chosen = {"due": 16, "code": 25, "status": 27}
    assert in_display_order(chosen, ("code", "applicant", "status", "due")) == [
        "code", "status", "due"]


def test_pages_of_columns_fit_the_room() -> None:
    widths = [3] * 11
    pages = column_pages(widths, 26)  # five columns of 3 + 2 padding per page
    assert pages == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10]]
    assert column_pages(widths, 200) == [list(range(11))]
    assert column_pages([30], 10) == [[0]]  # too wide for any page: a page of its own


def test_cells_are_cut_with_an_ellipsis_and_codes_lose_their_shared_prefix() -> None:
    assert fit_cell("Nguyễn Thị Phương Thảo", 10) == "Nguyễn Th…"
    assert fit_cell("Lê Lan", 10) == "Lê Lan"
    codes = ["000.17.22.H56-261204-0005", "000.17.22.H56-261123-0001"]
    assert shared_prefix(codes) == "000.17.22.H56-"
    assert shared_prefix(["A-1", "B-1"]) == ""
    assert shared_prefix(codes[:1]) == ""
