"""The procedure catalogue in the database: import (all or nothing, versioned) and look-up."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import orjson
from sqlmodel import Session, select

from ccdesk.domain.calendar import TimeKind, TimeRule
from ccdesk.domain.catalog import (
    Catalog,
    FeeKind,
    FeeRule,
    FeeTier,
    ProcedureSpec,
    parse_catalog,
)
from ccdesk.domain.errors import NotFound
from ccdesk.domain.vocabulary import SecondParty
from ccdesk.models import Procedure, ProcedureDocument, ProcedureVersion
from ccdesk.services.context import SYSTEM, Actor, DeskContext
from ccdesk.services.recording import audit, load_office
from ccdesk.text import fold

BUNDLED_CATALOG = Path(__file__).resolve().parent.parent / "data" / "catalog.toml"


@dataclass(frozen=True)
class ImportReport:
    added: int
    updated: int
    unchanged: int
    catalog_version: str


@dataclass(frozen=True)
class ProcedureInfo:
    """A procedure as the desk uses it: its current version and required documents."""

    code: str
    name: str
    field: str
    version_id: int
    handling_body: str
    time: TimeRule
    fee: FeeRule
    legal_basis: str
    verify_note: str
    documents: tuple[ProcedureDocument, ...]
    second_party: SecondParty | None = None   # a two-party procedure's other party


def fee_rule_from_json(raw: str) -> FeeRule:
    data = orjson.loads(raw)
    return FeeRule(kind=FeeKind(data["kind"]), amount=data.get("amount", 0),
                   tiers=tuple(FeeTier(**t) for t in data.get("tiers", [])),
                   cap_per_copy=data.get("cap_per_copy"),
                   exemptions=tuple(data.get("exemptions", [])))


def version_info(session: Session, version: ProcedureVersion) -> ProcedureInfo:
    docs = session.exec(select(ProcedureDocument).where(
        ProcedureDocument.version_id == version.id).order_by(ProcedureDocument.position)).all()
    return ProcedureInfo(
        code=version.procedure_code, name=version.name, field=version.field,
        version_id=version.id, handling_body=version.handling_body,
        time=TimeRule(TimeKind(version.time_kind), version.time_days, version.verification_days),
        fee=fee_rule_from_json(version.fee_rule), legal_basis=version.legal_basis,
        verify_note=version.verify_note, documents=tuple(docs),
        second_party=SecondParty(version.second_party) if version.second_party else None)


class CatalogService:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    def check_file(self, path: Path) -> Catalog:
        """Parse and validate a catalogue file; raises ``CatalogInvalid`` listing every error."""
        return parse_catalog(path.read_text(encoding="utf-8"), source=str(path))

    def import_file(self, path: Path, actor: Actor = SYSTEM) -> ImportReport:
        return self.import_catalog(self.check_file(path), actor)

    def import_catalog(self, catalog: Catalog, actor: Actor = SYSTEM) -> ImportReport:
        """Store a validated catalogue in one transaction.

        A changed procedure gets a new version; dossiers keep the version (and the copied
        checklist) they were received under, so nothing already received changes.
        """
        def work(session: Session) -> ImportReport:
            office = load_office(session)
            actor.require("catalog", training=office.is_training)
            counts = {"added": 0, "updated": 0, "unchanged": 0}
            for spec in catalog.procedures:
                counts[self._store(session, spec, catalog.version)] += 1
            audit(session, self.ctx, actor, "catalog.import",
                  detail=f"version={catalog.version} " + " ".join(
                      f"{k}={v}" for k, v in counts.items()))
            return ImportReport(catalog_version=catalog.version, **counts)

        return self.ctx.db.write(work)

    def _store(self, session: Session, spec: ProcedureSpec, catalog_version: str) -> str:
        digest = spec.content_hash()
        procedure = session.get(Procedure, spec.code)
        latest = None
        if procedure is not None and procedure.current_version_id is not None:
            latest = session.get(ProcedureVersion, procedure.current_version_id)
            if latest is not None and latest.content_hash == digest:
                return "unchanged"
        version = ProcedureVersion(
            procedure_code=spec.code, version=(latest.version + 1) if latest else 1,
            catalog_version=catalog_version, content_hash=digest, name=spec.name,
            field=spec.field, handling_body=spec.handling_body, time_kind=spec.time.kind.value,
            time_days=spec.time.days, verification_days=spec.time.verification_days,
            fee_rule=orjson.dumps(asdict(spec.fee)).decode(), legal_basis=spec.legal_basis,
            effective_from=spec.effective_from, effective_to=spec.effective_to,
            verify_note=spec.verify,
            second_party=spec.second_party.value if spec.second_party else "")
        if procedure is None:
            procedure = Procedure(code=spec.code, name=spec.name, field=spec.field)
        procedure.name, procedure.field = spec.name, spec.field
        procedure.name_folded = fold(f"{spec.code} {spec.name} {spec.field}")
        procedure.active = True
        session.add(procedure)
        session.flush()
        session.add(version)
        session.flush()
        for position, doc in enumerate(spec.documents, start=1):
            session.add(ProcedureDocument(version_id=version.id, position=position,
                                          name=doc.name, form=doc.form.value,
                                          quantity=doc.quantity,
                                          requirement=doc.requirement.value,
                                          condition=doc.condition,
                                          national_record=(doc.national_record.value
                                                           if doc.national_record else "")))
        procedure.current_version_id = version.id
        return "updated" if latest else "added"

    def search(self, query: str = "", limit: int = 50) -> list[Procedure]:
        """Procedures in force today whose code, name or field contain every word of ``query``,
        accents ignored: "khai sinh" and "dang ky" both find "Đăng ký khai sinh"."""
        words = fold(query).split()
        today = self.ctx.now().date()
        with self.ctx.db.session() as session:
            rows = session.exec(
                select(Procedure, ProcedureVersion.effective_to)
                .join(ProcedureVersion, ProcedureVersion.id == Procedure.current_version_id)
                .where(Procedure.active).order_by(Procedure.field, Procedure.code)).all()
        # A procedure past its effective_to (e.g. repealed from 01/01/2027) is not offered for
        # new dossiers; dossiers already received keep their version.
        hits = [p for p, ends in rows if (ends is None or today <= ends)
                and all(w in p.name_folded for w in words)]
        return hits[:limit]

    def procedure(self, code: str) -> ProcedureInfo:
        with self.ctx.db.session() as session:
            procedure = session.get(Procedure, code)
            if procedure is None or procedure.current_version_id is None:
                raise NotFound("core.err.no_procedure", code=code)
            return version_info(session, session.get(ProcedureVersion,
                                                     procedure.current_version_id))

    def version(self, version_id: int) -> ProcedureInfo:
        with self.ctx.db.session() as session:
            version = session.get(ProcedureVersion, version_id)
            if version is None:
                raise NotFound("core.err.no_procedure", code=str(version_id))
            return version_info(session, version)

    def count(self) -> int:
        with self.ctx.db.session() as session:
            return len(session.exec(select(Procedure.code)).all())
