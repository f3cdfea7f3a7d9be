"""SQLModel tables of the desk database.

Times of dossiers (received, due, returned…) are the office's local wall-clock time
(Asia/Ho_Chi_Minh, no DST), stored naive because that is what the printed forms and the law use.
Outbox and audit times that must be compared across machines are UTC. All are stored naive
through plain ``DateTime`` columns, stated explicitly so SQLModel's own defaults never change them.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import ConfigDict
from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# Pydantic builds a table's validator and serializer when first used rather than when this
# module is imported: the login screen needs none of them, and 14 of them cost ~40 ms at start.
DEFERRED = ConfigDict(defer_build=True)


class Office(SQLModel, table=True):
    """Settings of this desk: one row (id = 1)."""

    model_config = DEFERRED

    id: int = Field(default=1, primary_key=True)
    governing_body: str = ""          # "UBND XÃ …"
    unit_name: str = ""               # "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG"
    agency_code: str = ""             # QCVN 102:2016 code, e.g. 000.17.22.H56
    # this machine's part of codes when several desks share one agency code
    device_prefix: str = ""
    place_name: str = ""              # for "<place>, ngày … tháng … năm …"
    regime: str = "2025"
    code_pattern: str = "{agency}-{yymmdd}-{seq:04}"
    commune_code: str = ""            # 5-digit commune code (Decision 19/2025), for sync
    device_id: str = ""               # UUID of this installation, for the outbox and sync
    is_training: bool = False         # training sandbox: never writes outbox rows, never syncs
    is_demo: bool = False             # filled by `demo seed`: syncs only to --accept-demo upstreams
    setup_done: bool = False


class Officer(SQLModel, table=True):
    model_config = DEFERRED

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True)
    full_name: str
    role: str = "officer"             # officer | lead | it | trainer
    title: str = ""                   # printed under signatures
    phone: str = ""                   # contact phone printed on Mẫu 02/03
    pin_hash: str = ""                # argon2id; never the PIN itself
    active: bool = True
    failed_attempts: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=DateTime)
    created_at: datetime = Field(default_factory=datetime.now, sa_type=DateTime)


class Procedure(SQLModel, table=True):
    """A procedure of the catalogue; its content lives in immutable versions."""

    model_config = DEFERRED

    code: str = Field(primary_key=True)
    name: str
    field: str = Field(index=True)
    name_folded: str = ""
    current_version_id: int | None = None
    active: bool = True


class ProcedureVersion(SQLModel, table=True):
    model_config = DEFERRED

    __table_args__ = (UniqueConstraint("procedure_code", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    procedure_code: str = Field(foreign_key="procedure.code", index=True)
    version: int
    catalog_version: str
    content_hash: str
    name: str
    field: str
    handling_body: str
    time_kind: str
    time_days: int
    verification_days: int = 0
    second_party: str = ""            # vocabulary.SecondParty of a two-party procedure, or ""
    fee_rule: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    legal_basis: str = ""
    effective_from: date | None = None
    effective_to: date | None = None
    verify_note: str = ""
    imported_at: datetime = Field(default_factory=datetime.now, sa_type=DateTime)


class ProcedureDocument(SQLModel, table=True):
    model_config = DEFERRED

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="procedureversion.id", index=True)
    position: int
    name: str
    form: str
    quantity: int = 1
    requirement: str = "required"
    condition: str = ""
    # vocabulary.NationalRecord a national database holds in place of this paper, or ""
    # (migration 0023; docs/verification.md)
    national_record: str = ""


class Dossier(SQLModel, table=True):
    model_config = DEFERRED

    __table_args__ = (
        Index("ix_dossier_received", "received_at"),
        Index("ix_dossier_status_due", "status", "due_at"),
        Index("ix_dossier_applicant_id", "applicant_id_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)
    procedure_version_id: int = Field(foreign_key="procedureversion.id")
    procedure_code: str = Field(index=True)
    field: str = ""
    regime: str = "2025"
    applicant_name: str
    applicant_id_number: str
    applicant_id_type: str = "cccd"
    applicant_dob: date | None = None
    applicant_phone: str = ""
    applicant_email: str = ""
    applicant_address: str = ""
    # the rest of the chip ID card (migration 0012): old CMND number, sex, issue date
    applicant_old_id: str = ""
    applicant_sex: str = ""           # Sex: male | female; "" when not recorded
    applicant_id_issued: date | None = None
    # Whose dossier it is when not the applicant's own (migration 0013; ccdesk.domain.parties):
    applicant_kind: str = "citizen"   # vocabulary.ApplicantKind
    owner_name: str = ""              # the represented person or the organisation
    owner_address: str = ""
    owner_id_type: str = "cccd"
    owner_id_number: str = ""         # the represented person's ID number
    owner_tax_code: str = ""          # the organisation's tax code
    authorisation: str = ""           # the paper the applicant acts under
    # The other party of a two-party procedure (the catalogue's second_party), "" when none.
    party2_name: str = ""
    party2_id_type: str = "cccd"
    party2_id_number: str = ""
    party2_dob: date | None = None
    channel: str = "direct"           # direct | postal | online_full | online_partial
    sets: int = 1
    needs_verification: bool = False
    # when the citizen first handed the dossier in
    received_at: datetime = Field(sa_type=DateTime)
    # when it was complete and accepted: the clock starts
    accepted_at: datetime | None = Field(default=None, sa_type=DateTime)
    due_at: datetime | None = Field(default=None, sa_type=DateTime)    # None until accepted
    original_due_at: datetime | None = Field(default=None, sa_type=DateTime)
    status: str = Field(index=True)
    # when the current supplement wait began
    paused_at: datetime | None = Field(default=None, sa_type=DateTime)
    resume_status: str | None = None   # the state to go back to after a supplement
    supplement_rounds: int = 0
    handling_body: str = ""
    handed_off_at: datetime | None = Field(default=None, sa_type=DateTime)
    result_back_at: datetime | None = Field(default=None, sa_type=DateTime)
    ready_at: datetime | None = Field(default=None, sa_type=DateTime)
    returned_at: datetime | None = Field(default=None, sa_type=DateTime)
    # refused, stopped, withdrawn or returned
    closed_at: datetime | None = Field(default=None, sa_type=DateTime)
    delivery: str = "desk"            # how the result is collected: desk | post | online
    fee_amount: int = 0
    received_by: int | None = Field(default=None, foreign_key="officer.id")
    extensions: int = 0
    search_text: str = ""             # folded name, ID, phone and code for search
    # the portal's code of a dossier filed online (migration 0017), "" for a desk intake:
    # the upstream knows the dossier by it (docs/upstream.md, "Online filings")
    portal_code: str = ""
    updated_at: datetime = Field(default_factory=datetime.now, sa_type=DateTime)


class OnlineFiling(SQLModel, table=True):
    """A dossier filed on the portal, come down from the relay, waiting for reception until an
    intake takes it (``dossier_code`` set). Times are the office's local time; ``pulled_at``
    is UTC (when this desk got it)."""

    model_config = DEFERRED

    __tablename__ = "online_filing"
    __table_args__ = (Index("ix_online_filing_waiting", "dossier_code", "filed_at"),)

    portal_code: str = Field(primary_key=True)
    procedure_code: str
    procedure_name: str = ""
    applicant_name: str
    applicant_id_number: str = ""
    applicant_phone: str = ""
    applicant_email: str = ""
    applicant_address: str = ""
    summary: str = ""
    channel: str = "online_full"
    filed_at: datetime | None = Field(default=None, sa_type=DateTime)
    pulled_at: datetime = Field(sa_type=DateTime)
    change_id: str = ""
    dossier_code: str = ""            # ours, once an intake took it
    taken_at: datetime | None = Field(default=None, sa_type=DateTime)
    # Closed at the relay (migration 0027): received at another desk (its dossier code and
    # desk), or withdrawn / refused / cancelled on the portal. Kept, never shown as waiting.
    closed_why: str = ""
    closed_dossier_code: str = ""
    closed_desk: str = ""
    closed_at: datetime | None = Field(default=None, sa_type=DateTime)   # UTC, when pulled


class ChecklistItem(SQLModel, table=True):
    model_config = DEFERRED

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(foreign_key="dossier.id", index=True)
    position: int
    name: str
    form: str                         # the form the catalogue asks for
    quantity: int = 1
    requirement: str = "required"
    condition: str = ""
    received: bool = False
    received_form: str = ""
    received_quantity: int = 0
    note: str = ""


class StoredFile(SQLModel, table=True):
    """One file in the desk's store (ccdesk/storage/filestore.py), named by its SHA-256.

    ``sent_bytes``/``sent_at`` are how far the file has travelled to the relay: file transfers
    resume from ``sent_bytes`` and never hold up the dossier records (docs/attachments.md)."""

    model_config = DEFERRED

    __tablename__ = "stored_file"

    sha256: str = Field(primary_key=True)
    size: int
    mime: str
    stored_at: datetime = Field(sa_type=DateTime)          # UTC
    sent_bytes: int = 0
    sent_at: datetime | None = Field(default=None, sa_type=DateTime)   # UTC, once the relay has it


class Attachment(SQLModel, table=True):
    """A digitised paper of a dossier: a stored file tied to one checklist item (or to the
    dossier as a whole when ``checklist_item_id`` is None). ``source`` says where it came from
    (vocabulary.AttachmentSource); ``reused_from`` names the earlier dossier whose result is
    reused instead of a new paper. Local wall-clock ``added_at`` as other dossier times."""

    model_config = DEFERRED

    __table_args__ = (Index("ix_attachment_dossier", "dossier_id", "checklist_item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(foreign_key="dossier.id")
    checklist_item_id: int | None = Field(default=None, foreign_key="checklistitem.id")
    sha256: str = Field(foreign_key="stored_file.sha256", index=True)
    source: str = "file"
    original_name: str = ""           # the file's own name, no folder, at most 120 characters
    pages: int = 0                    # 0 when not counted
    reused_from: str = ""
    added_at: datetime = Field(sa_type=DateTime)
    officer_id: int | None = Field(default=None, foreign_key="officer.id")
    removed_at: datetime | None = Field(default=None, sa_type=DateTime)


class DossierEvent(SQLModel, table=True):
    """Append-only history: who did what, when and why (a trigger refuses edits)."""

    model_config = DEFERRED

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(foreign_key="dossier.id", index=True)
    at: datetime = Field(sa_type=DateTime)
    officer_id: int | None = Field(default=None, foreign_key="officer.id")
    action: str
    from_status: str | None = None
    to_status: str | None = None
    reason: str = ""
    data: str = "{}"                  # JSON details (body, new due, rating…)


class SupplementRound(SQLModel, table=True):
    model_config = DEFERRED

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(foreign_key="dossier.id", index=True)
    round_no: int
    requested_at: datetime = Field(sa_type=DateTime)
    requested_by: int | None = Field(default=None, foreign_key="officer.id")
    items: str = "[]"                 # JSON list of {name, reason}
    note: str = ""
    received_at: datetime | None = Field(default=None, sa_type=DateTime)


class Verification(SQLModel, table=True):
    """A checklist item to confirm in a national database instead of on paper (migration 0023,
    docs/verification.md): queued at intake, checked when the desk is online. No personal data:
    the dossier holds whose record it is. Times are the office's local time."""

    model_config = DEFERRED

    __table_args__ = (UniqueConstraint("dossier_id", "position"),
                      Index("ix_verification_state_next", "state", "next_attempt_at"))

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(foreign_key="dossier.id")
    position: int                     # the checklist item's position
    record: str                       # vocabulary.NationalRecord
    state: str = "pending"            # vocabulary.VerificationState
    attempts: int = 0                 # tries that did not reach an answer
    last_error: str = ""              # the kind of the last failure (never a reply's content)
    requested_at: datetime = Field(sa_type=DateTime)
    next_attempt_at: datetime = Field(sa_type=DateTime)
    checked_at: datetime | None = Field(default=None, sa_type=DateTime)
    officer_id: int | None = Field(default=None, foreign_key="officer.id")  # who marked it
    reference: str = ""               # the database's reference of the answering look-up
    supplement_round: int | None = None  # the supplement round that asks for the paper


class Extension(SQLModel, table=True):
    model_config = DEFERRED

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(foreign_key="dossier.id", index=True)
    seq: int
    original_due: datetime = Field(sa_type=DateTime)
    new_due: datetime = Field(sa_type=DateTime)
    reason: str
    late_body: str = ""               # which body has not returned the result
    signer_id: int | None = Field(default=None, foreign_key="officer.id")
    at: datetime = Field(sa_type=DateTime)


class Rating(SQLModel, table=True):
    model_config = DEFERRED

    dossier_id: int = Field(primary_key=True, foreign_key="dossier.id")
    level: str                        # very_satisfied | satisfied | dissatisfied
    officer_id: int | None = Field(default=None, foreign_key="officer.id")
    at: datetime = Field(sa_type=DateTime)
    source: str = "officer"           # citizen | officer (the fallback), RatingSource


class RatingRequest(SQLModel, table=True):
    """The rating question open for a dossier just returned (migration 0016): the rating page
    shows it and must send its one-time ``token`` back."""

    __tablename__ = "rating_request"
    model_config = DEFERRED

    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(foreign_key="dossier.id")
    token: str = Field(unique=True)
    officer_id: int | None = Field(default=None, foreign_key="officer.id")
    created_at: datetime = Field(sa_type=DateTime)
    expires_at: datetime = Field(sa_type=DateTime)
    closed_at: datetime | None = Field(default=None, sa_type=DateTime)


class QueueTicket(SQLModel, table=True):
    """A waiting-room ticket: number ``number`` of ``group_key`` on ``day`` (migration 0016)."""

    __tablename__ = "queue_ticket"
    model_config = DEFERRED
    __table_args__ = (UniqueConstraint("day", "group_key", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date
    group_key: str
    number: int
    issued_at: datetime = Field(sa_type=DateTime)
    called_at: datetime | None = Field(default=None, sa_type=DateTime)
    called_by: int | None = Field(default=None, foreign_key="officer.id")


class CodeCounter(SQLModel, table=True):
    model_config = DEFERRED

    key: str = Field(primary_key=True)
    last_seq: int = 0


class BookNumber(SQLModel, table=True):
    """A number given in one of the unit's books (docs/forms.md, "Numbers on paper"): the
    register's row for an accepted dossier (Mẫu 01 cites it), or an outgoing letter's number
    (Mẫu 04, 05). Numbers restart each year, are given inside the transaction that records the
    act, and are never reused."""

    __tablename__ = "book_number"
    model_config = DEFERRED
    __table_args__ = (
        UniqueConstraint("book", "year", "number", name="uq_book_number"),
        UniqueConstraint("book", "dossier_id", "ref", name="uq_book_number_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    book: str                         # register | letter
    year: int
    number: int
    dossier_id: int = Field(foreign_key="dossier.id", index=True)
    ref: str = ""                     # what was numbered: accept, extension:2, stop, withdraw
    issued_at: datetime = Field(sa_type=DateTime)


class Outbox(SQLModel, table=True):
    """The transactional outbox: one immutable row per domain change
    (docs/design/sync-failures.md)."""

    model_config = DEFERRED

    __table_args__ = {"sqlite_autoincrement": True}

    device_seq: int | None = Field(default=None, primary_key=True)  # AUTOINCREMENT: never reused
    mutation_id: str = Field(unique=True)
    entity: str
    entity_id: str
    op: str
    payload: str = Field(sa_column=Column(Text, nullable=False))
    payload_sha256: str
    changed_fields: str = "[]"
    client_time: datetime = Field(sa_type=DateTime)             # UTC
    state: str = Field(default="pending", index=True)
    attempts: int = 0
    last_error: str = ""
    batch_id: str | None = None
    acked_at: datetime | None = Field(default=None, sa_type=DateTime)


class AuditLog(SQLModel, table=True):
    """Append-only trail: who did what to which dossier, when, from which terminal."""

    model_config = DEFERRED

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=DateTime)                      # UTC
    officer_id: int | None = Field(default=None, foreign_key="officer.id", index=True)
    officer_username: str = ""
    action: str
    dossier_code: str | None = Field(default=None, index=True)
    terminal: str = ""
    detail: str = ""                  # never personal data
    chain: str | None = None          # keyed hash chain (storage/auditchain.py)


class LinkedGroup(SQLModel, table=True):
    """One intake of a linked procedure group (liên thông; migration 0024, docs/linked.md):
    its members are ordinary dossiers (``LinkedMember``); its state is derived from theirs and
    never stored here. ``subject_*`` is the child or the deceased the members share, entered
    once. ``due_at`` is the combined due time the decision sets, given at intake."""

    __tablename__ = "linked_group"
    model_config = DEFERRED

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)    # LT-<the dossier code pattern>, its own daily counter
    group_code: str                   # the group of ccdesk/data/linked.toml: LT-KS, LT-KT
    kind: str                         # GroupKind: birth | death
    subject_name: str = ""
    subject_date: date | None = None  # the child's birth or the deceased's death
    received_at: datetime = Field(sa_type=DateTime)
    due_at: datetime = Field(sa_type=DateTime)
    received_by: int | None = Field(default=None, foreign_key="officer.id")


class LinkedMember(SQLModel, table=True):
    """A dossier's place in a linked group and the agency that handles it."""

    __tablename__ = "linked_member"
    model_config = DEFERRED

    dossier_id: int = Field(primary_key=True, foreign_key="dossier.id")
    group_id: int = Field(foreign_key="linked_group.id", index=True)
    position: int
    agency: str                       # Agency: justice | police | social_insurance | ...
