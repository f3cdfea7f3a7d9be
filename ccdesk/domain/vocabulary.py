"""The desk's vocabulary, defined once: the values a dossier's fields take, shared by the desk's
services, the CLI, the screens, the sync client and the reference server.

They are ``StrEnum`` members, so each *is* the string stored in SQLite, sent on the wire and
printed in ``--json`` output (``Channel.DIRECT == "direct"``): changing a value here changes
stored data and the protocol, so values never change; labels go through :meth:`label`
(``vocab.<subject>.<value>`` in ``ccdesk/locales``).

Imports nothing of the desk but the translations, so the server can use it too.
"""

from __future__ import annotations

from enum import StrEnum

from ccdesk.i18n import t


class _Vocabulary(StrEnum):
    @classmethod
    def values(cls) -> tuple[str, ...]:
        """The stored strings as plain ``str``, in declaration order (for messages listing what
        is allowed, and dictionary keys orjson writes)."""
        return tuple(member.value for member in cls)


class _Labelled(_Vocabulary):
    """A value with a label in the user's language: ``vocab.<table>.<value>``."""

    def label(self, lang: str | None = None) -> str:
        return t(f"vocab.{_LABEL_TABLES[type(self).__name__]}.{self.value}", lang=lang)


class Regime(_Vocabulary):
    """The legal regime a dossier was received under."""

    R2025 = "2025"  # Decree 118/2025/NĐ-CP, Circular 03/2025/TT-VPCP
    R2018 = "2018"  # Decree 61/2018/NĐ-CP (amended by 107/2021), Circular 01/2018/TT-VPCP


class Status(_Labelled):
    """Where a dossier stands (the state machine is :mod:`ccdesk.domain.lifecycle`)."""

    RECEIVED = "received"
    WAITING_SUPPLEMENT = "waiting_supplement"
    REFUSED = "refused"
    IN_PROGRESS = "in_progress"
    HANDED_OFF = "handed_off"
    RESULT_READY = "result_ready"
    RETURNED = "returned"
    STOPPED = "stopped"
    WITHDRAWN = "withdrawn"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES

    @property
    def is_open(self) -> bool:
        return not self.is_final


FINAL_STATUSES = frozenset({Status.REFUSED, Status.RETURNED, Status.STOPPED, Status.WITHDRAWN})
# States in which the desk still owes the citizen a result within the due time.
RUNNING_STATUSES = frozenset({Status.RECEIVED, Status.IN_PROGRESS, Status.HANDED_OFF,
                              Status.RESULT_READY})


class Channel(_Labelled):
    """How the dossier reached the desk (the II.06a report splits its counts by these)."""

    DIRECT = "direct"
    POSTAL = "postal"
    ONLINE_FULL = "online_full"
    ONLINE_PARTIAL = "online_partial"

    @property
    def is_online(self) -> bool:
        return self in ONLINE_CHANNELS


ONLINE_CHANNELS = frozenset({Channel.ONLINE_FULL, Channel.ONLINE_PARTIAL})


class Delivery(_Labelled):
    """How the citizen gets the result."""

    DESK = "desk"
    POST = "post"
    ONLINE = "online"


class Sex(_Labelled):
    """The applicant's sex as the chip ID card states it (its QR writes Nam / Nữ)."""

    MALE = "male"
    FEMALE = "female"


class ApplicantKind(_Labelled):
    """Who hands the dossier in, for whom (docs/design/domain-rules.md, "Applicants")."""

    CITIZEN = "citizen"                # a citizen for themself
    REPRESENTATIVE = "representative"  # a person authorised by the dossier's owner
    ORGANISATION = "organisation"      # an organisation's or business's representative


class SecondParty(_Labelled):
    """The other party a two-party procedure names beside the applicant (the catalogue's
    ``second_party``): the spouse in a marriage registration, the parent or child in a
    parent-child recognition."""

    SPOUSE = "spouse"
    PARENT_CHILD = "parent_child"


class RatingLevel(_Labelled):
    """The citizen's satisfaction with the handling of the dossier."""

    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    DISSATISFIED = "dissatisfied"

    @property
    def is_satisfied(self) -> bool:
        return self in SATISFIED_RATINGS


SATISFIED_RATINGS = frozenset({RatingLevel.VERY_SATISFIED, RatingLevel.SATISFIED})


class RatingSource(_Vocabulary):
    """Who gave a rating: the citizen (rating page or USB keypad), or the officer's own 1/2/3
    when the citizen did not answer (reports mark those as the officer's fallback)."""

    CITIZEN = "citizen"
    OFFICER = "officer"


class CorrectableField(_Labelled):
    """The dossier fields the district may correct (a ``correction`` change pulled by the desk);
    anything else in a correction is refused by the server and ignored by the desk."""

    DUE_AT = "due_at"
    HANDLING_BODY = "handling_body"
    FEE_AMOUNT = "fee_amount"
    DELIVERY = "delivery"


class ChangeKind(_Vocabulary):
    """What a change recorded by the district tells the desk (``GET /changes``)."""

    RESULT = "result"
    STATUS = "status"
    CORRECTION = "correction"


class AttachmentSource(_Labelled):
    """Where a digitised paper of a dossier came from (docs/attachments.md)."""

    SCANNER = "scanner"     # scanned at the desk through SANE
    FOLDER = "folder"       # picked from the folder a network scanner writes into
    USB = "usb"             # copied from a USB stick the citizen brought
    FILE = "file"           # any other file the officer named
    REUSED = "reused"       # an earlier dossier's result, reused instead of a new paper


class NationalRecord(_Labelled):
    """What a national database can confirm in place of a paper (Resolution 66.7/2025/NQ-CP;
    docs/verification.md): the catalogue's ``national_record`` on a document."""

    IDENTITY = "identity"              # the citizen's identity (the ID card's data)
    RESIDENCE = "residence"            # place of residence (the residence confirmation)
    BIRTH = "birth"                    # the birth registration (civil-status database)
    MARITAL_STATUS = "marital_status"  # marital status (civil-status database)
    DEATH = "death"                    # the death registration (civil-status database)


class VerificationState(_Labelled):
    """Where one checklist item's national-database check stands (docs/verification.md)."""

    PENDING = "pending"        # queued: checked when the desk is online
    VERIFIED = "verified"      # the database confirmed it: the item is satisfied
    NOT_FOUND = "not_found"    # the database has no such record: the paper is asked for
    MISMATCH = "mismatch"      # a record exists but does not confirm the dossier's data
    CANCELLED = "cancelled"    # the dossier closed before the check was made

    @property
    def is_final(self) -> bool:
        return self is not VerificationState.PENDING

    @property
    def needs_paper(self) -> bool:
        """The data could not be retrieved or confirmed: a supplement asks for the paper."""
        return self in (VerificationState.NOT_FOUND, VerificationState.MISMATCH)


# The translation table of each labelled vocabulary (``vocab.<table>.<value>``).
_LABEL_TABLES = {"Status": "status", "Channel": "channel", "Delivery": "delivery",
             "RatingLevel": "rating", "CorrectableField": "correctable_field",
             "Sex": "sex", "ApplicantKind": "applicant_kind", "SecondParty": "second_party",
             "AttachmentSource": "attachment_source", "NationalRecord": "national_record",
             "VerificationState": "verification"}
