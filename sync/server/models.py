"""Tables of the district server, on their own metadata (``DistrictModel.metadata``).

The same models and migrations serve SQLite (a district with a few communes) and PostgreSQL (a
province with hundreds). Times are naive UTC, taken from the server's clock only (SF-WRONG-CLOCK).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class DistrictModel(SQLModel, registry=registry()):
    """Base of the server tables: a registry of their own, so the desk's never mix in."""


class DistrictMeta(DistrictModel, table=True):
    __tablename__ = "district_meta"

    key: str = Field(primary_key=True)
    value: str = Field(sa_column=Column(Text, nullable=False))


class DistrictDevice(DistrictModel, table=True):
    __tablename__ = "district_device"

    device_id: str = Field(primary_key=True)
    commune_code: str = Field(index=True)
    public_key: str
    status: str = "active"                     # active | revoked
    demo: bool = False
    enrolled_at: datetime = Field(sa_type=DateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime)
    last_push_at: datetime | None = Field(default=None, sa_type=DateTime)
    # For ``district health``: the last signed request, the desk's version and clock offset
    # (seconds, server minus desk), and its own counts as it last reported them on /hello.
    last_seen_at: datetime | None = Field(default=None, sa_type=DateTime)
    app_version: str | None = None
    clock_offset_s: float | None = None
    desk_status: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    desk_status_at: datetime | None = Field(default=None, sa_type=DateTime)


class DistrictEnrollCode(DistrictModel, table=True):
    __tablename__ = "district_enroll_code"

    code_hash: str = Field(primary_key=True)   # sha256 of the code: the code itself is never kept
    commune_code: str
    created_at: datetime = Field(sa_type=DateTime)
    used_at: datetime | None = Field(default=None, sa_type=DateTime)
    device_id: str | None = None
    public_key: str | None = None
    # Set only for a re-key code: the one existing device it may rebind (``enroll-code --device``).
    rebind_device_id: str | None = None


class DistrictNonce(DistrictModel, table=True):
    """Nonces of signed requests seen inside the replay window (docs/relay-security.md)."""

    __tablename__ = "district_nonce"

    device_id: str = Field(primary_key=True)
    nonce: str = Field(primary_key=True)
    seen_at: datetime = Field(sa_type=DateTime, index=True)


class DistrictBatch(DistrictModel, table=True):
    __tablename__ = "district_batch"

    batch_id: str = Field(primary_key=True)
    device_id: str = Field(index=True)
    digest: str
    result: str = Field(sa_column=Column(Text, nullable=False))   # the reply, replayed verbatim
    received_at: datetime = Field(sa_type=DateTime)


class DistrictMutation(DistrictModel, table=True):
    __tablename__ = "district_mutation"
    __table_args__ = (Index("ix_district_mutation_device_seq", "device_id", "device_seq"),)

    # Unique: every mutation is here exactly once (SF-LOST-REPLY).
    mutation_id: str = Field(primary_key=True)
    device_id: str
    device_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    commune_code: str = Field(index=True)
    entity_id: str = Field(index=True)
    op: str
    payload: str = Field(sa_column=Column(Text, nullable=False))
    payload_sha256: str
    result: str                                 # applied | conflict
    batch_id: str
    received_at: datetime = Field(sa_type=DateTime)


class DistrictDossier(DistrictModel, table=True):
    """The district's view of a commune's dossier, built from the mutations."""

    __tablename__ = "district_dossier"

    code: str = Field(primary_key=True)
    commune_code: str = Field(index=True)
    status: str
    last_device_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    district_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    events: int = 0
    snapshot: str = Field(sa_column=Column(Text, nullable=False))   # the create payload
    updated_at: datetime = Field(sa_type=DateTime)


class DistrictChange(DistrictModel, table=True):
    """An upstream change for a commune (result back, status change, correction): pulled."""

    __tablename__ = "district_change"
    __table_args__ = (Index("ix_district_change_commune_seq", "commune_code", "seq"),)

    seq: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True,
                                                           autoincrement=True))
    change_id: str = Field(unique=True)
    commune_code: str
    dossier_code: str
    kind: str                                   # result | status | correction
    base_status: str
    status: str
    data: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_type=DateTime)


class DistrictFile(DistrictModel, table=True):
    """A file (a scanned paper) a pushed dossier referenced, named by its SHA-256: how much of
    it has arrived, and when it was complete and verified (docs/sync.md, "Files"). The first
    reference decides the commune, device and dossier it is accepted from."""

    __tablename__ = "district_file"
    __table_args__ = (Index("ix_district_file_device", "device_id", "complete_at"),)

    sha256: str = Field(primary_key=True)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    mime: str
    received_bytes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False,
                                                            server_default="0"))
    complete_at: datetime | None = Field(default=None, sa_type=DateTime)
    commune_code: str
    device_id: str
    dossier_code: str
    referenced_at: datetime = Field(sa_type=DateTime)


class DistrictFileRef(DistrictModel, table=True):
    """A dossier lists a file (its checklist item's position and the paper's name)."""

    __tablename__ = "district_file_ref"

    dossier_code: str = Field(primary_key=True)
    sha256: str = Field(primary_key=True, index=True)
    position: int = 0
    name: str = ""
