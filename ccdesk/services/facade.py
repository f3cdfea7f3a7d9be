"""The services facade: ``Services.open(db_path)`` prepares a database file (private folder,
migrations with a backup first, office row) and wires every service to one :class:`DeskContext`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import DatabaseError as SQLAlchemyDatabaseError

from ccdesk.config import Config
from ccdesk.paths import Paths, ensure_private_dir
from ccdesk.services.context import DeskContext
from ccdesk.services.office import OfficeService
from ccdesk.services.officers import OfficerService
from ccdesk.storage import deskkey
from ccdesk.storage.deskkey import open_desk_key
from ccdesk.storage.engine import Database, storage_error
from ccdesk.storage.integrity import WRITE, request_full_check
from ccdesk.storage.migrate import migrate
from ccdesk.storage.soundness import (
    damaged_error,
    file_error,
    is_damage,
    prepare_database_file,
)

if TYPE_CHECKING:
    from ccdesk.services.attachments import AttachmentService
    from ccdesk.services.catalog import CatalogService
    from ccdesk.services.citizen_rating import CitizenRatingService
    from ccdesk.services.dossiers import DossierService
    from ccdesk.services.intake import IntakeService
    from ccdesk.services.linked import LinkedService
    from ccdesk.services.online_filings import OnlineFilingService
    from ccdesk.services.queue import QueueService
    from ccdesk.services.reports import ReportService
    from ccdesk.services.search import SearchService
    from ccdesk.services.verification import VerificationService


@dataclass
class Services:
    ctx: DeskContext
    paths: Paths
    config: Config

    def __post_init__(self) -> None:
        # The login screen needs only these two; the others load on first use (start-up time).
        self.office = OfficeService(self.ctx)
        self.officers = OfficerService(self.ctx)

    @cached_property
    def catalog(self) -> CatalogService:
        from ccdesk.services.catalog import CatalogService

        return CatalogService(self.ctx)

    @cached_property
    def intake(self) -> IntakeService:
        from ccdesk.services.intake import IntakeService

        return IntakeService(self.ctx)

    @cached_property
    def linked(self) -> LinkedService:
        from ccdesk.services.linked import LinkedService

        return LinkedService(self.ctx, self.intake)

    @cached_property
    def online_filings(self) -> OnlineFilingService:
        from ccdesk.services.online_filings import OnlineFilingService

        return OnlineFilingService(self.ctx)

    @cached_property
    def dossiers(self) -> DossierService:
        from ccdesk.services.dossiers import DossierService

        return DossierService(self.ctx)

    @cached_property
    def search(self) -> SearchService:
        from ccdesk.services.search import SearchService

        return SearchService(self.ctx)

    @cached_property
    def reports(self) -> ReportService:
        from ccdesk.services.reports import ReportService

        return ReportService(self.ctx)

    @cached_property
    def citizen_rating(self) -> CitizenRatingService:
        from ccdesk.services.citizen_rating import CitizenRatingService

        return CitizenRatingService(self.ctx)

    @cached_property
    def queue(self) -> QueueService:
        from ccdesk.services.queue import QueueService

        return QueueService(self.ctx)

    @cached_property
    def attachments(self) -> AttachmentService:
        from ccdesk.services.attachments import AttachmentService

        return AttachmentService(self.ctx)

    @cached_property
    def verification(self) -> VerificationService:
        from ccdesk.services.verification import VerificationService

        return VerificationService(self.ctx)

    @property
    def db(self) -> Database:
        return self.ctx.db

    @classmethod
    def open(cls, db_path: Path, paths: Paths, *, config: Config | None = None,
             clock: Callable[[], datetime] | None = None, training: bool = False) -> Services:
        config = config or Config.load(paths.config_file)
        try:
            ensure_private_dir(db_path.parent)
            # Owner-only before SQLite opens it: the -wal/-shm files inherit the file's mode.
            # A 0-byte or foreign file is reported as damaged, never made a new desk.
            prepare_database_file(db_path, paths.backups_dir)
            desk_key = open_desk_key(paths.key_file, db_path)  # PIN pepper, audit chain
            database = Database(db_path, on_damage=lambda: request_full_check(
                paths.data_dir, db_path, WRITE))
            deskkey.register(str(database.path), desk_key)
            migrate(db_path, paths.backups_dir, database.engine, desk_key)
        except (sqlite3.DatabaseError, SQLAlchemyDatabaseError) as exc:
            if is_damage(exc):
                raise damaged_error(db_path, paths.backups_dir) from exc
            raise storage_error(exc, db_path) from exc
        except OSError as exc:
            raise file_error(exc, db_path) from exc
        from ccdesk.services.official_calendar import build_calendar

        ctx = DeskContext(db=database, calendar=build_calendar(database, paths, config))
        if clock is not None:
            ctx.clock = clock
        services = cls(ctx=ctx, paths=paths, config=config)
        services.office.ensure(training=training)
        return services

    def close(self) -> None:
        self.ctx.db.dispose()
