"""Who hands a demo dossier in, when it is not simply the citizen's own: a representative under
an authorisation, an organisation, and the other party of a two-party procedure.

The choice is made from the dossier's own (already drawn) ID number and a generator seeded by
it, never from the seed's main stream: adding parties left every other invented dossier as it
was (the screenshots, the wire dictionary's training data and the benchmarks' databases).
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from stdnum.vn import mst

from ccdesk.demo.people import People
from ccdesk.services.catalog import ProcedureInfo

# Shares of desk dossiers (assumed, for training: a few in a hundred by a representative, and
# organisations only where they file at a commune: certifications and land).
REPRESENTED_PER_100 = 6
ORGANISATION_PER_100 = 12
ORGANISATION_FIELDS = ("Chứng thực", "Đất đai")
COMPANIES = ("Công ty TNHH Thương mại An Bình", "Hợp tác xã Nông nghiệp Đồng Tâm",
             "Công ty Cổ phần Xây dựng Phú Lợi", "Doanh nghiệp tư nhân Minh Phát",
             "Công ty TNHH Vận tải Hòa Thịnh")


def add_parties(d: dict[str, Any], info: ProcedureInfo, this_year: int) -> None:
    """Fill ``d``'s owner and second-party columns where this dossier has them."""
    number = d["applicant_id_number"]
    roll = int(number[-4:]) % 100
    rng: random.Random | None = None
    if info.second_party is not None:
        rng = random.Random(number)
        _second_party(d, People(rng, this_year), info)
    if info.field in ORGANISATION_FIELDS and roll < ORGANISATION_PER_100:
        rng = rng or random.Random(number)
        _organisation(d, rng)
    elif roll >= 100 - REPRESENTED_PER_100:
        rng = rng or random.Random(number)
        _representative(d, People(rng, this_year))


def _second_party(d: dict[str, Any], people: People, info: ProcedureInfo) -> None:
    # a marriage the law registers is between a man and a woman
    opposite = d["applicant_sex"] == "male"
    name, number, born = people.person(female=opposite if info.second_party == "spouse" else None)
    d.update(party2_name=name, party2_id_number=number, party2_dob=born)


def _representative(d: dict[str, Any], people: People) -> None:
    name, number, _ = people.person()
    d.update(applicant_kind="representative", owner_name=name, owner_id_number=number,
             owner_address=people.address(),
             authorisation=f"Văn bản ủy quyền ngày {_day(people.rng, d).strftime('%d/%m/%Y')}")


def _organisation(d: dict[str, Any], rng: random.Random) -> None:
    d.update(applicant_kind="organisation", owner_name=rng.choice(COMPANIES),
             owner_tax_code=_tax_code(rng),
             owner_address=f"Số {rng.randrange(1, 300)}, {rng.choice(('Thôn Đông', 'Khu phố 1'))}, "
                           "xã An Bình",
             authorisation="Giấy giới thiệu của tổ chức")


def _tax_code(rng: random.Random) -> str:
    """Ten digits whose last is the check digit (a base whose check would be 10 has none)."""
    while True:
        base = f"{rng.randrange(1, 10)}{rng.randrange(10**8):08d}"
        check = mst.calc_check_digit(base)
        if len(check) == 1:
            return base + check


def _day(rng: random.Random, d: dict[str, Any]) -> date:
    """The authorisation's date: up to a month before the dossier was handed in."""
    received = d["received_at"].date()
    return date.fromordinal(received.toordinal() - rng.randrange(0, 31))
