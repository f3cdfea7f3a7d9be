"""Linked procedure groups (liên thông): the rules, as pure functions over data.

A group (``ccdesk/data/linked.toml``, docs/linked.md) is one intake at the desk for several
procedures of different agencies: birth registration + permanent residence registration + a
health-insurance card for a child under 6, or death registration + removal of permanent
residence + funeral allowance + burial cost support (Decree 63/2024/NĐ-CP; Decision
296/QĐ-VPCP). Each member becomes a dossier of its own, handled and tracked by its agency; the
group gives them one slip and one combined due time, and its state is derived from theirs.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from ccdesk.domain.calendar import TimeKind, TimeRule
from ccdesk.domain.catalog import PROCEDURE_CODE, CatalogInvalid, Requirement
from ccdesk.domain.errors import ValidationError
from ccdesk.domain.vocabulary import Status
from ccdesk.i18n import t
from ccdesk.text import fold, nfc

BUNDLED_GROUPS = Path(__file__).resolve().parent.parent / "data" / "linked.toml"
MAX_GROUPS = 50
MAX_MEMBERS = 8


class LinkedFieldError(ValidationError):
    """A general check (a name, a date) failed on a field only the linked intake has: its
    label lives in the ``linked`` area (``linked.field.*``), not in the dossier's vocabulary."""

    def field_label(self, lang: str | None = None) -> str:
        return t(f"linked.field.{self.field}", lang=lang)


class Agency(StrEnum):
    """Who handles a member: the commune's civil-status officer (justice), the commune police
    (residence), social insurance (the health-insurance card, the funeral allowance), the
    social-affairs officer (burial cost support for social-protection beneficiaries)."""

    JUSTICE = "justice"
    POLICE = "police"
    SOCIAL_INSURANCE = "social_insurance"
    SOCIAL_AFFAIRS = "social_affairs"

    def label(self, lang: str | None = None) -> str:
        return t(f"linked.agency.{self.value}", lang=lang)


# Agencies outside the commune's People's Committee: their procedures are received at this desk
# only inside a linked group (residence belongs to the commune police; domain-rules.md).
OUTSIDE = frozenset({Agency.POLICE, Agency.SOCIAL_INSURANCE})


class GroupKind(StrEnum):
    BIRTH = "birth"     # the child's data is shared by the members
    DEATH = "death"     # the deceased's data is shared by the members


class GroupState(StrEnum):
    """Derived from the members' statuses, never stored (docs/linked.md, "State")."""

    IN_PROGRESS = "in_progress"   # a member is still being handled
    DONE = "done"                 # every member's result is back (or the member was closed)
    RETURNED = "returned"         # every result has been handed to the citizen

    def label(self, lang: str | None = None) -> str:
        return t(f"linked.state.{self.value}", lang=lang)


# A member whose result is back: ready at the desk, or already handed to the citizen.
RESULT_BACK = frozenset({Status.RESULT_READY, Status.RETURNED})
# A member closed without a result (refused, stopped, withdrawn) does not hold the group open.
CLOSED = frozenset({Status.REFUSED, Status.STOPPED, Status.WITHDRAWN})


@dataclass(frozen=True)
class MemberSpec:
    procedure: str
    agency: Agency
    optional: bool = False
    # Documents of the member's own list that the group produces itself (the lead member's
    # result, e.g. the birth extract the health-insurance card needs): not asked of the citizen.
    from_group: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupSpec:
    code: str
    kind: GroupKind
    name: str
    name_en: str
    legal_basis: str
    time: TimeRule
    members: tuple[MemberSpec, ...]
    source: str = ""
    verify: str = ""

    def title(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name

    def chosen(self, skipped: Iterable[str] = ()) -> tuple[MemberSpec, ...]:
        """The members the citizen asks for: all but the optional ones left out. A required
        member cannot be left out."""
        skip = set(skipped)
        for member in self.members:
            if member.procedure in skip and not member.optional:
                raise ValidationError("linked.err.required_member", field="members",
                                      code=member.procedure)
        unknown = skip - {m.procedure for m in self.members}
        if unknown:
            raise ValidationError("linked.err.unknown_member", field="members",
                                  codes=", ".join(sorted(unknown)))
        return tuple(m for m in self.members if m.procedure not in skip)


class DocumentLike(Protocol):
    position: int
    name: str
    form: str
    quantity: int
    requirement: str
    condition: str


@dataclass(frozen=True)
class CombinedItem:
    """One line of the combined checklist: a paper asked once even when several members need
    it (``holders``: each member's procedure code and the paper's position in its list)."""

    name: str
    form: str
    quantity: int
    requirement: str
    condition: str
    holders: tuple[tuple[str, int], ...] = field(default_factory=tuple)

    @property
    def required(self) -> bool:
        return self.requirement == Requirement.REQUIRED.value


def _key(doc: DocumentLike) -> tuple[str, str]:
    return fold(doc.name), str(doc.form)


def combined_checklist(members: Sequence[tuple[MemberSpec, Sequence[DocumentLike]]]
                       ) -> list[CombinedItem]:
    """The papers of the chosen members, each asked once (same name and form), in the order
    the members and their lists give; the papers the group produces itself are left out."""
    items: dict[tuple[str, str], CombinedItem] = {}
    for member, documents in members:
        produced = {fold(name) for name in member.from_group}
        for doc in documents:
            if fold(doc.name) in produced:
                continue
            key = _key(doc)
            holder = (member.procedure, doc.position)
            found = items.get(key)
            if found is None:
                items[key] = CombinedItem(doc.name, str(doc.form), doc.quantity,
                                          str(doc.requirement), doc.condition, (holder,))
            else:   # the strictest requirement and the largest quantity win
                required = found.required or doc.requirement == Requirement.REQUIRED.value
                items[key] = CombinedItem(
                    found.name, found.form, max(found.quantity, doc.quantity),
                    Requirement.REQUIRED.value if required else found.requirement,
                    found.condition, found.holders + (holder,))
    return list(items.values())


def produced_positions(member: MemberSpec, documents: Sequence[DocumentLike]) -> list[int]:
    """Positions, in the member's own list, of the papers the group produces itself."""
    produced = {fold(name) for name in member.from_group}
    return [doc.position for doc in documents if fold(doc.name) in produced]


def group_only(groups: Iterable[GroupSpec]) -> frozenset[str]:
    """Codes of the procedures the desk receives only inside a group (another agency's)."""
    return frozenset(m.procedure for g in groups for m in g.members if m.agency in OUTSIDE)


def group_state(statuses: Iterable[str]) -> GroupState:
    """The group's state from its members' statuses (an empty group is in progress)."""
    states = [Status(s) for s in statuses]
    if not states or any(s not in RESULT_BACK | CLOSED for s in states):
        return GroupState.IN_PROGRESS
    if all(s == Status.RETURNED or s in CLOSED for s in states):
        return GroupState.RETURNED
    return GroupState.DONE


# ---- the data file -------------------------------------------------------------------------

def parse_groups(text: str, source: str = "linked.toml") -> tuple[GroupSpec, ...]:
    """Parse and check the groups; ``CatalogInvalid`` lists every error with its place."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        err = ValidationError("core.err.toml_syntax", file=source, detail=str(exc))
        raise CatalogInvalid(source, [err]) from exc
    errors: list[ValidationError] = []
    raw = data.get("group", [])
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_GROUPS:
        errors.append(ValidationError("linked.err.file", file=source, where="group"))
        raw = []
    groups = [_group(entry, f"group.{i}", source, errors) for i, entry in enumerate(raw)]
    codes = [g.code for g in groups]
    if len(set(codes)) != len(codes):
        errors.append(ValidationError("linked.err.file", file=source, where="group.code"))
    if errors:
        raise CatalogInvalid(source, errors)
    return tuple(groups)


def _text(entry: dict[str, Any], key: str, where: str, source: str,
          errors: list[ValidationError], *, required: bool = True, limit: int = 500) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        errors.append(ValidationError("linked.err.file", file=source, where=f"{where}.{key}"))
        return ""
    return nfc(value.strip())


def _group(entry: Any, where: str, source: str, errors: list[ValidationError]) -> GroupSpec:
    if not isinstance(entry, dict):
        errors.append(ValidationError("linked.err.file", file=source, where=where))
        entry = {}
    time = entry.get("time", {})
    days = time.get("days") if isinstance(time, dict) else None
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
        errors.append(ValidationError("linked.err.file", file=source, where=f"{where}.time"))
        days = 1
    try:
        kind = GroupKind(entry.get("kind"))
    except ValueError:
        errors.append(ValidationError("linked.err.file", file=source, where=f"{where}.kind"))
        kind = GroupKind.BIRTH
    raw_members = entry.get("members", [])
    if not isinstance(raw_members, list) or not 2 <= len(raw_members) <= MAX_MEMBERS:
        errors.append(ValidationError("linked.err.file", file=source, where=f"{where}.members"))
        raw_members = []
    members = tuple(_member(m, f"{where}.members.{i}", source, errors)
                    for i, m in enumerate(raw_members))
    if members and members[0].optional:   # the lead member (civil status) is never optional
        errors.append(ValidationError("linked.err.file", file=source,
                                      where=f"{where}.members.0.optional"))
    return GroupSpec(
        code=_text(entry, "code", where, source, errors, limit=20), kind=kind,
        name=_text(entry, "name", where, source, errors),
        name_en=_text(entry, "name_en", where, source, errors, required=False),
        legal_basis=_text(entry, "legal_basis", where, source, errors),
        time=TimeRule(TimeKind.WORKING_DAYS, days), members=members,
        source=_text(entry, "source", where, source, errors, required=False),
        verify=_text(entry, "verify", where, source, errors, required=False))


def _member(entry: Any, where: str, source: str, errors: list[ValidationError]) -> MemberSpec:
    if not isinstance(entry, dict):
        errors.append(ValidationError("linked.err.file", file=source, where=where))
        entry = {}
    code = entry.get("procedure", "")
    if not isinstance(code, str) or not PROCEDURE_CODE.match(code):
        errors.append(ValidationError("linked.err.file", file=source,
                                      where=f"{where}.procedure"))
        code = ""
    try:
        agency = Agency(entry.get("agency"))
    except ValueError:
        errors.append(ValidationError("linked.err.file", file=source, where=f"{where}.agency"))
        agency = Agency.JUSTICE
    produced = entry.get("from_group", [])
    if not isinstance(produced, list) or not all(isinstance(p, str) for p in produced):
        errors.append(ValidationError("linked.err.file", file=source,
                                      where=f"{where}.from_group"))
        produced = []
    return MemberSpec(procedure=code, agency=agency, optional=entry.get("optional") is True,
                      from_group=tuple(nfc(p) for p in produced))


@cache
def bundled_groups() -> tuple[GroupSpec, ...]:
    """The groups shipped with ccdesk (read once)."""
    return parse_groups(BUNDLED_GROUPS.read_text(encoding="utf-8"), BUNDLED_GROUPS.name)
