"""The office's own settings: headers printed on every form, regime and code pattern."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session

from ccdesk.domain.codes import (
    check_agency_code,
    check_device_prefix,
    check_office_codes,
    check_pattern,
)
from ccdesk.domain.errors import InvalidInput, ValidationError
from ccdesk.domain.lifecycle import Regime
from ccdesk.domain.validation import clean_text
from ccdesk.models import Office
from ccdesk.services.context import SYSTEM, Actor, DeskContext
from ccdesk.services.recording import audit


@dataclass
class OfficeSettings:
    governing_body: str
    unit_name: str
    agency_code: str
    place_name: str
    regime: str = Regime.R2025.value
    device_prefix: str = ""
    commune_code: str = ""
    code_pattern: str = "{agency}-{yymmdd}-{seq:04}"


def validate_settings(settings: OfficeSettings) -> OfficeSettings:
    errors: list[ValidationError] = []
    out = OfficeSettings(**vars(settings))
    for name, limit in (("governing_body", 150), ("unit_name", 150), ("place_name", 100)):
        try:
            setattr(out, name, clean_text(getattr(settings, name), name, required=True,
                                          limit=limit))
        except ValidationError as err:
            errors.append(err)
    checks = (("agency_code", lambda: check_agency_code(settings.agency_code)),
              ("code_pattern", lambda: check_pattern(settings.code_pattern)),
              ("regime", lambda: Regime(settings.regime).value),
              ("device_prefix", lambda: check_device_prefix(settings.device_prefix)))
    for name, check in checks:
        try:
            setattr(out, name, check())
        except ValidationError as err:
            errors.append(err)
        except ValueError:
            errors.append(ValidationError("core.err.choice", field=name,
                                          allowed=", ".join(r.value for r in Regime)))
    if settings.commune_code and not (settings.commune_code.isdigit()
                                      and len(settings.commune_code) == 5):
        errors.append(ValidationError("core.err.commune_code", field="commune_code"))
    if errors:
        raise InvalidInput(errors)
    return out


class OfficeService:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    def get(self) -> Office:
        with self.ctx.db.session() as session:
            return session.get(Office, 1) or Office()

    def ensure(self, *, training: bool = False) -> Office:
        """Create the office row on a new database (with this device's id)."""
        def work(session: Session) -> Office:
            office = session.get(Office, 1)
            if office is None:
                office = Office(device_id=str(uuid.uuid4()), is_training=training)
                session.add(office)
            return office

        return self.ctx.db.write(work)

    def update(self, actor: Actor, settings: OfficeSettings, *, complete_setup: bool = False,
               ) -> Office:
        clean = validate_settings(settings)

        def work(session: Session) -> Office:
            office = session.get(Office, 1) or Office(device_id=str(uuid.uuid4()))
            if office.setup_done or actor is not SYSTEM:
                actor.require("settings", training=office.is_training)
            if office.commune_code and office.setup_done:  # enrolled: codes are the commune's
                check_office_codes(clean.agency_code, office.commune_code, office.agency_code)
                clean.commune_code = office.commune_code
            for key, value in vars(clean).items():
                setattr(office, key, value)
            office.setup_done = office.setup_done or complete_setup
            session.add(office)
            audit(session, self.ctx, actor, "office.update")
            return office

        return self.ctx.db.write(work)

    def mark_demo(self) -> None:
        def work(session: Session) -> None:
            office = session.get(Office, 1)
            office.is_demo = True
            session.add(office)

        self.ctx.db.write(work)
