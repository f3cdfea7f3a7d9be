"""The forwarder's tables in the relay's database (migrations ``d0003_upstream_forwarder``,
``d0005_forward``).

Core tables on the district server's metadata, so one Alembic history serves both. Times are
naive UTC from the relay's clock, like every district table.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from sync.server.models import DistrictModel

METADATA = DistrictModel.metadata

# The one upstream this relay forwards to (row id 1); the password lives here, in the relay's
# owner-only database, and is never printed or logged.
CONFIG = Table(
    "upstream_config", METADATA,
    Column("id", Integer, primary_key=True),
    Column("profile", String, nullable=False),
    Column("version", String, nullable=False),
    Column("url", Text, nullable=False),
    Column("unit_code", String, nullable=False),
    Column("username", String, nullable=False),
    Column("password", Text, nullable=False),
    Column("accept_demo", Boolean, nullable=False, default=False),
    Column("settings", Text, nullable=False, default="{}"),
    Column("updated_at", DateTime, nullable=False),
    Column("last_success_at", DateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_error_at", DateTime, nullable=True),
    Column("lock_owner", String, nullable=True),
    Column("lock_until", DateTime, nullable=True),
)

# One row per dossier the forwarder has seen: the snapshot's delivery state.
DOSSIER = Table(
    "upstream_dossier", METADATA,
    Column("code", String, primary_key=True),
    Column("commune_code", String, nullable=False),
    Column("demo", Boolean, nullable=False, default=False),
    Column("known_upstream", Boolean, nullable=False, default=False),
    # pending | sending | sent | dead: ``sending`` survives a crash and means "outcome unknown".
    Column("snapshot_state", String, nullable=False),
    Column("sent_hash", String, nullable=False, default=""),
    Column("pending_since", DateTime, nullable=True),
    Column("delivered_at", DateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Index("ix_upstream_dossier_state", "snapshot_state"),
)

# The step ledger: one row per relay mutation (our event id), sent exactly once.
STEP = Table(
    "upstream_step", METADATA,
    Column("mutation_id", String, primary_key=True),
    Column("dossier_code", String, nullable=False),
    Column("sort_key", String, nullable=False),
    # pending | sending | sent | dead | dropped
    Column("state", String, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime, nullable=True),
    Index("ix_upstream_step_dossier", "dossier_code", "sort_key"),
    Index("ix_upstream_step_state", "state"),
)

# What needs a human: one row per rejected item, open until retried or dropped.
DEAD = Table(
    "upstream_dead_letter", METADATA,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("dossier_code", String, nullable=False),
    Column("kind", String, nullable=False),            # snapshot | step
    Column("item_id", String, nullable=False),         # the code or the mutation id
    Column("reason_code", String, nullable=False),     # rejected | preflight | in_doubt
    Column("message", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("resolved_at", DateTime, nullable=True),
    Column("resolution", String, nullable=True),       # retry | drop
    Column("resolution_reason", Text, nullable=True),
    Index("ix_upstream_dead_open", "dossier_code", "resolved_at"),
)

# Every human decision and configuration change, append-only.
AUDIT = Table(
    "upstream_audit", METADATA,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("action", String, nullable=False),
    Column("dossier_code", String, nullable=True),
    Column("detail", Text, nullable=False, default=""),
)

# The monthly satisfaction aggregate (DongBoDanhGia), one row per month ("YYYY-MM") of the
# configured unit: sent once when the month is over, again (an update) if its ratings change.
RATING = Table(
    "upstream_rating", METADATA,
    Column("month", String, primary_key=True),
    # sending | sent: ``sending`` after a crash means "maybe stored": sent again as an update.
    Column("state", String, nullable=False),
    Column("known_upstream", Boolean, nullable=False, default=False),
    Column("sent_hash", String, nullable=False, default=""),
    Column("sent_at", DateTime, nullable=True),
)
