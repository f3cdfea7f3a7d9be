"""The procedure catalogue: data, not code.

A catalogue is a TOML file (format documented in ``docs/catalog.md``)::

    catalog_version = "2026.11"
    [[procedure]]
    code = "1.001193"            # national TTHC code d.dddddd
    name = "Đăng ký khai sinh"
    field = "Hộ tịch"            # lĩnh vực
    handling_body = "desk"       # "desk" or the name of the body it is forwarded to
    legal_basis = "..."
    effective_from = 2025-07-01  # optional effective_to
    verify = "..."               # reminder to check against the province's published list
    source = "..."               # where it was taken from: national TTHC code page or decision
    checked = 2026-12-01         # when a person last compared it with that source
    second_party = "spouse"      # optional: a two-party procedure (spouse | parent_child)
    time = { kind = "same_day", days = 0, verification_days = 5 }
    fee = { kind = "free_on_time", exemptions = ["..."] }
    [[procedure.documents]]
    name = "Tờ khai đăng ký khai sinh"
    form = "original"            # original | certified_copy | photocopy | show
    quantity = 1
    requirement = "required"     # required | optional | conditional (+ condition = "...")
    national_record = "identity" # optional: a national database holds it (docs/verification.md)

Parsing collects *every* error with file, line and field, so one check run lists them all.
Entries without a ``source`` (or never ``checked``) are valid but produce warnings.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

import orjson

from ccdesk.domain.calendar import TimeKind, TimeRule
from ccdesk.domain.errors import CcdeskError, ValidationError
from ccdesk.domain.tomlsource import TomlLocator
from ccdesk.domain.vocabulary import NationalRecord, SecondParty
from ccdesk.text import nfc

PROCEDURE_CODE = re.compile(r"^\d\.\d{6}$")
E = TypeVar("E", bound=StrEnum)
DESK = "desk"


class DocForm(StrEnum):
    ORIGINAL = "original"            # bản chính
    CERTIFIED_COPY = "certified_copy"  # bản sao chứng thực
    PHOTOCOPY = "photocopy"          # bản photo
    SHOW = "show"                    # xuất trình (shown, not kept)


class Requirement(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    CONDITIONAL = "conditional"


class FeeKind(StrEnum):
    FREE = "free"
    FIXED = "fixed"          # one amount per dossier
    PER_COPY = "per_copy"    # amount × copies
    PER_PAGE = "per_page"    # tiers by page number, optional cap per copy
    PROVINCIAL = "provincial"  # set by the provincial council: the officer enters it
    # Free when registered on time; a late registration pays the provincial rate, which the
    # officer enters (Civil Status Law 2014 art. 11(1): only on-time birth and death
    # registration are exempt).
    FREE_ON_TIME = "free_on_time"


@dataclass(frozen=True)
class FeeTier:
    from_page: int
    amount: int
    to_page: int | None = None


@dataclass(frozen=True)
class FeeRule:
    kind: FeeKind
    amount: int = 0
    tiers: tuple[FeeTier, ...] = ()
    cap_per_copy: int | None = None
    exemptions: tuple[str, ...] = ()

    def compute(self, copies: int = 1, pages: int = 1, entered: int | None = None) -> int | None:
        """The fee in đồng; ``None`` when the officer must enter it (provincial rate)."""
        if self.kind == FeeKind.FREE:
            return 0
        if self.kind == FeeKind.FREE_ON_TIME:
            return entered or 0
        if self.kind == FeeKind.FIXED:
            return self.amount
        if self.kind == FeeKind.PER_COPY:
            return self.amount * copies
        if self.kind == FeeKind.PER_PAGE:
            per_copy = sum(self._page_amount(p) for p in range(1, pages + 1))
            if self.cap_per_copy is not None:
                per_copy = min(per_copy, self.cap_per_copy)
            return per_copy * copies
        return entered

    def _page_amount(self, page: int) -> int:
        for tier in self.tiers:
            if page >= tier.from_page and (tier.to_page is None or page <= tier.to_page):
                return tier.amount
        return 0


@dataclass(frozen=True)
class DocumentSpec:
    name: str
    form: DocForm
    quantity: int = 1
    requirement: Requirement = Requirement.REQUIRED
    condition: str = ""
    # The national database record that may stand in for the paper (Resolution 66.7/2025;
    # docs/verification.md), None when the paper itself is needed.
    national_record: NationalRecord | None = None


@dataclass(frozen=True)
class ProcedureSpec:
    code: str
    name: str
    field: str
    handling_body: str
    time: TimeRule
    fee: FeeRule
    legal_basis: str
    documents: tuple[DocumentSpec, ...]
    effective_from: date | None = None
    effective_to: date | None = None
    verify: str = ""
    source: str = ""                 # national TTHC code page or the decision it comes from
    checked: date | None = None      # when a person last compared the entry with its source
    # The other party a two-party procedure names (marriage, parent-child recognition).
    second_party: SecondParty | None = None

    @property
    def handled_at_desk(self) -> bool:
        return self.handling_body == DESK

    def in_force(self, on: date) -> bool:
        """Whether the procedure applies on ``on`` (e.g. the poverty procedures repealed from
        01/01/2027 carry ``effective_to = 2026-12-31``)."""
        return ((self.effective_from is None or self.effective_from <= on)
                and (self.effective_to is None or on <= self.effective_to))

    def content_hash(self) -> str:
        """Identity of this version's rules: a changed procedure gets a new version. Where the
        entry was sourced and when it was checked are provenance, not rules: re-checking an
        entry does not make a new version."""
        rules = {k: v for k, v in asdict(self).items() if k not in ("source", "checked")}
        if rules["second_party"] is None:  # hashed as before the field existed: no new versions
            del rules["second_party"]
        for document in rules["documents"]:  # likewise for a document no database holds
            if document["national_record"] is None:
                del document["national_record"]
        blob = orjson.dumps(rules, option=orjson.OPT_SORT_KEYS, default=str)
        return hashlib.sha256(blob).hexdigest()


@dataclass
class Catalog:
    version: str
    procedures: list[ProcedureSpec] = field(default_factory=list)
    warnings: list[ValidationError] = field(default_factory=list)  # valid, but worth fixing


class CatalogInvalid(CcdeskError):
    """A catalogue file with one or more errors; ``errors`` lists them all."""

    def __init__(self, source: str, errors: list[ValidationError]) -> None:
        self.source = source
        self.errors = errors
        super().__init__("core.err.catalog_invalid", file=source, count=len(errors))

    def message(self, lang: str | None = None) -> str:
        return "\n".join(err.message(lang) for err in self.errors)


class _Reader:
    """Reads typed values out of the parsed TOML, recording errors with their line."""

    def __init__(self, source: str, locator: TomlLocator) -> None:
        self.source = source
        self.locator = locator
        self.errors: list[ValidationError] = []
        self.warnings: list[ValidationError] = []

    def error(self, path: tuple, key: str, **params: Any) -> None:
        self.errors.append(self._located(path, key, **params))

    def warn(self, path: tuple, key: str, **params: Any) -> None:
        self.warnings.append(self._located(path, key, **params))

    def _located(self, path: tuple, key: str, **params: Any) -> ValidationError:
        line = self.locator.line_of(path) or 1
        where = ".".join(str(p) for p in path)
        return ValidationError(key, file=self.source, line=line, where=where, **params)

    def text(self, table: dict, path: tuple, name: str, *, required: bool = True,
             limit: int = 500) -> str:
        value = table.get(name)
        if value is None:
            if required:
                self.error(path + (name,), "core.err.catalog_missing")
            return ""
        if not isinstance(value, str):
            self.error(path + (name,), "core.err.catalog_type", expected="text")
            return ""
        value = nfc(value)
        if required and not value:
            self.error(path + (name,), "core.err.catalog_missing")
        if len(value) > limit:
            self.error(path + (name,), "core.err.catalog_too_long", limit=limit)
        return value

    def integer(self, table: dict, path: tuple, name: str, default: int | None = None,
                minimum: int = 0) -> int:
        value = table.get(name, default)
        if value is None:
            self.error(path + (name,), "core.err.catalog_missing")
            return minimum
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.error(path + (name,), "core.err.catalog_int", minimum=minimum)
            return minimum
        return value

    def choice(self, table: dict, path: tuple, name: str, enum: type[E],
               default: E | None = None) -> E:
        value = table.get(name, default)
        try:
            return enum(str(value))
        except ValueError:
            self.error(path + (name,), "core.err.catalog_choice",
                       allowed=", ".join(e.value for e in enum), value=str(value))
            return next(iter(enum))

    def day(self, table: dict, path: tuple, name: str) -> date | None:
        value = table.get(name)
        if value is None:
            return None
        if isinstance(value, datetime) or not isinstance(value, date):
            self.error(path + (name,), "core.err.catalog_date")
            return None
        return value

    def table(self, parent: dict, path: tuple, name: str) -> dict:
        value = parent.get(name, {})
        if not isinstance(value, dict):
            self.error(path + (name,), "core.err.catalog_type", expected="table")
            return {}
        return value


def parse_catalog(text: str, source: str = "catalog.toml") -> Catalog:
    """Parse and validate a whole catalogue; raise :class:`CatalogInvalid` listing every error."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        err = ValidationError("core.err.toml_syntax", file=source, detail=str(exc))
        raise CatalogInvalid(source, [err]) from exc
    reader = _Reader(source, TomlLocator(text))
    version = reader.text(data, (), "catalog_version", limit=40)
    procedures = data.get("procedure", [])
    if not isinstance(procedures, list) or not procedures:
        reader.error(("procedure",), "core.err.catalog_empty")
        procedures = []
    catalog = Catalog(version=version)
    seen: set[str] = set()
    for index, entry in enumerate(procedures):
        path = ("procedure", index)
        if not isinstance(entry, dict):
            reader.error(path, "core.err.catalog_type", expected="table")
            continue
        spec = _procedure(reader, entry, path)
        if spec.code in seen:
            reader.error(path + ("code",), "core.err.catalog_duplicate", code=spec.code)
        seen.add(spec.code)
        catalog.procedures.append(spec)
    if reader.errors:
        raise CatalogInvalid(source, reader.errors)
    catalog.warnings = reader.warnings
    return catalog


def _procedure(r: _Reader, entry: dict, path: tuple) -> ProcedureSpec:
    code = r.text(entry, path, "code", limit=20)
    if code and not PROCEDURE_CODE.match(code):
        r.error(path + ("code",), "core.err.catalog_code", value=code)
    time_table = r.table(entry, path, "time")
    time_rule = TimeRule(
        kind=r.choice(time_table, path + ("time",), "kind", TimeKind),
        days=r.integer(time_table, path + ("time",), "days", default=0),
        verification_days=r.integer(time_table, path + ("time",), "verification_days", 0),
    )
    if time_rule.kind == TimeKind.WORKING_DAYS and time_rule.days < 1:
        r.error(path + ("time", "days"), "core.err.catalog_int", minimum=1)
    effective_from = r.day(entry, path, "effective_from")
    effective_to = r.day(entry, path, "effective_to")
    if effective_from and effective_to and effective_to < effective_from:
        r.error(path + ("effective_to",), "core.err.catalog_dates")
    source = r.text(entry, path, "source", required=False, limit=500)
    checked = r.day(entry, path, "checked")
    if not source:
        r.warn(path + ("code",), "core.catalog_source.no_source", code=code)
    elif checked is None:
        r.warn(path + ("source",), "core.catalog_source.not_checked", code=code)
    documents = entry.get("documents", [])
    if not isinstance(documents, list) or not documents:
        r.error(path + ("documents",), "core.err.catalog_no_documents")
        documents = []
    return ProcedureSpec(
        code=code,
        name=r.text(entry, path, "name", limit=300),
        field=r.text(entry, path, "field", limit=100),
        handling_body=r.text(entry, path, "handling_body", required=False, limit=255) or DESK,
        time=time_rule,
        fee=_fee(r, r.table(entry, path, "fee"), path + ("fee",)),
        legal_basis=r.text(entry, path, "legal_basis", limit=1000),
        documents=tuple(_document(r, doc, path + ("documents", i))
                        for i, doc in enumerate(documents)),
        effective_from=effective_from,
        effective_to=effective_to,
        verify=r.text(entry, path, "verify", required=False),
        source=source,
        checked=checked,
        second_party=(r.choice(entry, path, "second_party", SecondParty)
                      if "second_party" in entry else None),
    )


def _fee(r: _Reader, table: dict, path: tuple) -> FeeRule:
    kind = r.choice(table, path, "kind", FeeKind)
    tiers: list[FeeTier] = []
    raw_tiers = table.get("tiers", [])
    if kind == FeeKind.PER_PAGE and (not isinstance(raw_tiers, list) or not raw_tiers):
        r.error(path + ("tiers",), "core.err.catalog_missing")
        raw_tiers = []
    for i, tier in enumerate(raw_tiers if isinstance(raw_tiers, list) else []):
        tpath = path + ("tiers", i)
        if not isinstance(tier, dict):
            r.error(tpath, "core.err.catalog_type", expected="table")
            continue
        to_page = tier.get("to_page")
        tiers.append(FeeTier(from_page=r.integer(tier, tpath, "from_page", minimum=1),
                             amount=r.integer(tier, tpath, "amount"),
                             to_page=r.integer(tier, tpath, "to_page", minimum=1)
                             if to_page is not None else None))
    cap = table.get("cap_per_copy")
    exemptions = table.get("exemptions", [])
    if not isinstance(exemptions, list) or not all(isinstance(e, str) for e in exemptions):
        r.error(path + ("exemptions",), "core.err.catalog_type", expected="list of text")
        exemptions = []
    needs_amount = kind in (FeeKind.FIXED, FeeKind.PER_COPY)
    return FeeRule(
        kind=kind,
        amount=r.integer(table, path, "amount", default=None if needs_amount else 0),
        tiers=tuple(tiers),
        cap_per_copy=r.integer(table, path, "cap_per_copy") if cap is not None else None,
        exemptions=tuple(nfc(e) for e in exemptions),
    )


def _document(r: _Reader, doc: object, path: tuple) -> DocumentSpec:
    if not isinstance(doc, dict):
        r.error(path, "core.err.catalog_type", expected="table")
        return DocumentSpec(name="", form=DocForm.ORIGINAL)
    requirement = r.choice(doc, path, "requirement", Requirement, Requirement.REQUIRED)
    condition = r.text(doc, path, "condition", required=requirement == Requirement.CONDITIONAL)
    return DocumentSpec(
        name=r.text(doc, path, "name", limit=300),
        form=r.choice(doc, path, "form", DocForm),
        quantity=r.integer(doc, path, "quantity", default=1, minimum=1),
        requirement=requirement,
        condition=condition,
        national_record=(r.choice(doc, path, "national_record", NationalRecord)
                         if "national_record" in doc else None),
    )
