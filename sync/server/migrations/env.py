"""Alembic environment of the district server (its own version table)."""

from __future__ import annotations

from alembic import context

from sync.server.models import DistrictModel

VERSION_TABLE = "district_alembic_version"
connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=DistrictModel.metadata,
                  version_table=VERSION_TABLE, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
