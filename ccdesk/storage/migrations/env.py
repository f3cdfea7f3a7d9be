"""Alembic environment: runs on the connection ccdesk hands over (see storage/migrate.py)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import ccdesk.models  # noqa: F401 - registers the tables on SQLModel.metadata

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    from sqlalchemy import create_engine

    connection = create_engine(context.config.get_main_option("sqlalchemy.url")).connect()

context.configure(connection=connection, target_metadata=target_metadata,
                  render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
