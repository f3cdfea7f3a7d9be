"""Invented people for demo data: Vietnamese names by real family-name frequency, citizen ID
numbers that pass the desk's check, mobile numbers on prefixes in use, and hamlets."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from datetime import date
from typing import Any

from ccdesk.domain.validation import CCCD_PROVINCES

# Family names by their share of the population (approximate published frequencies; "Hoàng /
# Huỳnh" and "Vũ / Võ" are one name written differently in the North and the South).
FAMILY_NAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 38.4), ("Trần", 12.1), ("Lê", 9.5), ("Phạm", 7.0), ("Hoàng", 3.0),
    ("Huỳnh", 2.1), ("Phan", 4.5), ("Vũ", 2.0), ("Võ", 1.9), ("Đặng", 2.1), ("Bùi", 2.0),
    ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1.0), ("Lý", 0.5), ("Đinh", 0.9),
    ("Trương", 0.9), ("Đào", 0.6), ("Mai", 0.5), ("Lương", 0.5), ("Lâm", 0.4), ("Hà", 0.5),
    ("Tạ", 0.3), ("Cao", 0.3), ("Chu", 0.3), ("Trịnh", 0.6), ("Quách", 0.2), ("Kiều", 0.1),
)
MIDDLE_MALE = ("Văn", "Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Thành", "Xuân",
               "Ngọc", "Tuấn", "Đình", "Trọng")
MIDDLE_FEMALE = ("Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Hồng", "Phương", "Kim",
                 "Bảo", "Diệu", "Thùy")
GIVEN_MALE = ("Anh", "Hùng", "Dũng", "Cường", "Hải", "Long", "Nam", "Quân", "Sơn", "Tuấn",
              "Việt", "Đức", "Thắng", "Hòa", "Hoà", "Khoa", "Phúc", "Tài", "Trung", "Huy",
              "Đạt", "Bình", "Khánh", "Lộc", "Toàn", "Thịnh", "Hiếu", "Đông")
GIVEN_FEMALE = ("Hoa", "Lan", "Hương", "Mai", "Linh", "Trang", "Thảo", "Ngọc", "Hà", "Hằng",
                "Nhung", "Yến", "Vy", "Hòa", "Oanh", "Dung", "Thủy", "Tuyết", "Nga", "Hạnh",
                "Huyền", "Quỳnh", "Ánh", "Loan", "Đào", "Nhi")
# Mobile prefixes in use (Viettel, Vinaphone, MobiFone, Vietnamobile, Gmobile).
MOBILE_PREFIXES = ("032", "033", "034", "035", "036", "037", "038", "039", "070", "076", "077",
                   "078", "079", "081", "082", "083", "084", "085", "086", "088", "089", "090",
                   "091", "093", "094", "096", "097", "098", "056", "058", "059")
HAMLETS = ("Thôn Đông", "Thôn Tây", "Thôn Trung", "Thôn Hạ", "Xóm Mới", "Thôn Đồng Tâm",
           "Thôn An Phú", "Khu phố 1", "Khu phố 2", "Tổ dân phố 3", "Ấp Bình Lợi")

_PROVINCES = tuple(sorted(CCCD_PROVINCES))

Weighted = tuple[list[Any], list[float]]


def weighted(pairs: Sequence[tuple[Any, float]]) -> Weighted:
    """Values and their cumulative weights, for :func:`pick`."""
    values = [v for v, _ in pairs]
    cumulative = list(itertools.accumulate(w for _, w in pairs))
    return values, cumulative


def pick(rng: random.Random, choices: Weighted) -> Any:
    """One value, drawn by its weight."""
    values, cumulative = choices
    return values[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


class People:
    """Draws applicants from ``rng`` (the same draws in the same order for one seed)."""

    def __init__(self, rng: random.Random, this_year: int) -> None:
        self.rng, self.this_year = rng, this_year
        self._family = weighted(FAMILY_NAMES)

    def person(self, female: bool | None = None) -> tuple[str, str, date]:
        """Full name, citizen ID number and date of birth of an adult (of the sex asked for,
        else drawn)."""
        rng = self.rng
        if female is None:
            female = rng.random() < 0.52
        family = pick(rng, self._family)
        middle = rng.choice(MIDDLE_FEMALE if female else MIDDLE_MALE)
        given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
        name = f"{family} {middle} {given}" if rng.random() < 0.93 else f"{family} {given}"
        year = rng.randint(max(1935, self.this_year - 85), self.this_year - 16)
        born = date(year, rng.randint(1, 12), rng.randint(1, 28))
        century_digit = (0 if year < 2000 else 2) + (1 if female else 0)
        province = rng.choice(_PROVINCES)
        number = f"{province}{century_digit}{year % 100:02d}{rng.randrange(1_000_000):06d}"
        return name, number, born

    def phone(self) -> str:
        """A mobile number, or none (some citizens give none)."""
        if self.rng.random() < 0.15:
            return ""
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10_000_000):07d}"

    def address(self) -> str:
        return f"{self.rng.choice(HAMLETS)}, xã An Bình"
