"""The official schedule of days off in force at this desk: stored editions, import, relay seam.

The package ships an edition (``ccdesk/data/official_calendar.toml``); a newer one arrives
without a release from ``ccdesk calendar import FILE`` or from the relay (change feed, USB
bundle). Either way it is validated whole, stored whole in ``official_calendar`` with an audit
line in the same transaction, and the running calendar is rebuilt, so the next due time counts
it. Due times already given never change (dossiers store theirs).

The relay seam is :func:`apply_schedule_payload`: the sync pull and the bundle import hand it
the payload as received (wire shape in docs/calendar.md) and get back what happened.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlmodel import Session

from ccdesk.domain.calendar import WorkCalendar, load_calendar
from ccdesk.domain.errors import ValidationError
from ccdesk.domain.official_calendar import (
    MAX_BYTES,
    OfficialSchedule,
    ScheduleInvalid,
    bundled_schedule,
    newest,
    parse_schedule,
)
from ccdesk.services.context import SYSTEM, Actor
from ccdesk.services.recording import audit, load_office
from ccdesk.storage.files import read_bounded_text
from ccdesk.storage.outbox import utcnow

if TYPE_CHECKING:
    from ccdesk.config import Config
    from ccdesk.paths import Paths
    from ccdesk.services import Services
    from ccdesk.storage.engine import Database

log = logging.getLogger(__name__)
PAYLOAD_KIND = "official_calendar"
ORIGINS = ("import", "relay", "usb")


class Outcome(StrEnum):
    APPLIED = "applied"        # stored; now in force
    UNCHANGED = "unchanged"    # this very edition is already in force
    OLDER = "older"            # an older edition than the one in force: ignored


@dataclass(frozen=True)
class ScheduleResult:
    outcome: Outcome
    version: date              # the edition offered
    in_force: date             # the edition in force afterwards


def decide(in_force: OfficialSchedule | None, offered: OfficialSchedule) -> Outcome:
    """Pure rule: a newer edition replaces the one in force; the same one changes nothing; an
    older one is ignored. The same version with other content is refused (two different
    schedules must not share an edition date)."""
    if in_force is None or offered.version > in_force.version:
        return Outcome.APPLIED
    if offered.version < in_force.version:
        return Outcome.OLDER
    if offered.digest == in_force.digest:
        return Outcome.UNCHANGED
    raise ValidationError("core.official_calendar.same_version",
                          version=offered.version.isoformat())


def stored_schedule(session: Session) -> OfficialSchedule | None:
    """The newest edition stored in the database, if any, re-validated as it is read. One this
    version of ccdesk cannot read (stored by a newer one before a downgrade) is skipped with a
    log line: the bundled edition then applies, never a desk that cannot start."""
    row = session.execute(text(
        "SELECT content FROM official_calendar ORDER BY version DESC, id DESC LIMIT 1")).first()
    if row is None:
        return None
    try:
        return parse_schedule(row[0], source="official_calendar (database)")
    except ScheduleInvalid as err:
        log.warning("stored official schedule unreadable, using the bundled one: %s",
                    err.message("en"))
        return None


def schedule_in_force(db: Database) -> OfficialSchedule | None:
    with db.session() as session:
        return newest(stored_schedule(session), bundled_schedule())


def build_calendar(db: Database, paths: Paths, config: Config) -> WorkCalendar:
    """The desk's calendar: package, the official schedule in force, the office's file."""
    return load_calendar(paths.calendar_file, config.hours(), config.language,
                         official=schedule_in_force(db))


def apply_schedule(services: Services, schedule: OfficialSchedule, *, origin: str,
                   actor: Actor = SYSTEM) -> ScheduleResult:
    """Store ``schedule`` if it is newer than the one in force, in one transaction with its
    audit line, then rebuild the running calendar. An import from a file is audited whatever
    the outcome; a relay resending what the desk has writes nothing."""
    if origin not in ORIGINS:
        raise ValueError(f"unknown origin {origin!r}")

    def work(session: Session) -> ScheduleResult:
        office = load_office(session)
        actor.require("calendar", training=office.is_training)
        in_force = newest(stored_schedule(session), bundled_schedule())
        outcome = decide(in_force, schedule)
        if outcome == Outcome.APPLIED:
            session.execute(text(
                "INSERT INTO official_calendar (version, sha256, content, origin, imported_at,"
                " imported_by) VALUES (:version, :sha, :content, :origin, :at, :by)"),
                {"version": schedule.version, "sha": schedule.digest, "content": schedule.text,
                 "origin": origin, "at": utcnow(), "by": actor.username})
        if outcome != Outcome.APPLIED and origin != "import":
            return ScheduleResult(outcome, schedule.version, in_force.version)  # a resend
        audit(session, services.ctx, actor, "calendar.import",
              detail=f"version={schedule.version.isoformat()} outcome={outcome.value} "
                     f"origin={origin} sha256={schedule.digest[:16]}")
        current = schedule.version if outcome == Outcome.APPLIED else in_force.version
        return ScheduleResult(outcome, schedule.version, current)

    result = services.db.write(work)
    if result.outcome == Outcome.APPLIED:
        services.ctx.calendar = build_calendar(services.db, services.paths, services.config)
    return result


def import_schedule_file(services: Services, path: Path, actor: Actor) -> ScheduleResult:
    """``ccdesk calendar import FILE``: validated whole (errors name file, line and field), all
    or nothing; an edition older than the one in force is refused with a message."""
    schedule = read_schedule_file(path)
    result = apply_schedule(services, schedule, origin="import", actor=actor)
    if result.outcome == Outcome.OLDER:
        raise ValidationError("core.official_calendar.older",
                              version=result.version.isoformat(),
                              current=result.in_force.isoformat())
    return result


def read_schedule_file(path: Path) -> OfficialSchedule:
    """The schedule in ``path``, read bounded like every import: a file over ``MAX_BYTES``, a
    FIFO, a device or a folder is refused with a message naming it before anything is parsed."""
    return parse_schedule(read_bounded_text(path, MAX_BYTES), source=str(path))


def schedule_payload(schedule: OfficialSchedule) -> dict[str, object]:
    """The wire shape the relay sends (docs/calendar.md)."""
    return {"kind": PAYLOAD_KIND, "format": 1, "version": schedule.version.isoformat(),
            "sha256": schedule.digest, "toml": schedule.text}


def parse_payload(payload: object) -> OfficialSchedule:
    """Validate and bound a relayed payload before anything is written (pure)."""
    if not isinstance(payload, Mapping) or payload.get("kind") != PAYLOAD_KIND:
        raise ValidationError("core.official_calendar.bad_payload", detail="kind")
    body = payload.get("toml")
    if not isinstance(body, str) or len(body) > MAX_BYTES:
        raise ValidationError("core.official_calendar.bad_payload", detail="toml")
    if payload.get("sha256") != hashlib.sha256(body.encode("utf-8")).hexdigest():
        raise ValidationError("core.official_calendar.bad_payload", detail="sha256")
    schedule = parse_schedule(body, source="official_calendar (relay)")
    if payload.get("version") != schedule.version.isoformat():
        raise ValidationError("core.official_calendar.bad_payload", detail="version")
    return schedule


def apply_schedule_payload(services: Services, payload: object,
                           origin: str = "relay") -> ScheduleResult:
    """The seam for the sync pull and the USB bundle import: validate ``payload`` and apply it
    (an older edition is ignored, not an error: the relay may resend what the desk has)."""
    return apply_schedule(services, parse_payload(payload), origin=origin)
