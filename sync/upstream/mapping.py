"""From what the relay keeps of a dossier (its create payload and its events, as the desks sent
them) to the upstream's ``DongBoHoSoMC`` snapshot and ``CapNhatTienDoHoSoMC`` steps.

Rules, their sources and how sure each one is: docs/upstream.md ("Mapping"). Three that matter:

* every lifecycle state has one ``TrangThaiHoSo`` (:data:`STATUS_CODES`, tested against every
  :class:`~ccdesk.domain.vocabulary.Status`); a state is never rewritten to look on time (one
  production client sends 5/6/8 as 9: that games Decision 766's punctuality indicator);
* every event becomes exactly one progress step, keyed by our mutation id (the upstream's steps
  have no id, so the forwarder's ledger is what keeps them exactly once);
* ``NgayKetThucXuLy`` is the end of processing (result ready, refused, stopped, withdrawn), not
  the citizen's pick-up: Decision 766 judges on-time by it.

Pure: no database, no network. :func:`validate_snapshot` / :func:`validate_step` are the
pre-flight checks; what fails them is a dead letter with the reason, never a send.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ccdesk.domain.vocabulary import CorrectableField, Status
from ccdesk.i18n import t
from sync.upstream.profiles import FIELDS_2023, Profile

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
DATE_FORMAT = "%Y%m%d%H%M%S"

# Our state -> TrangThaiHoSo (docs/upstream.md, "Status codes": four codebases agree [C]).
# ``1`` (filed online, waiting for reception) and ``6`` (fee or tax requested) are states the
# desk's lifecycle does not have. A hand-off has no code of its own upstream [?]: it is still
# being processed (4).
STATUS_CODES: dict[Status, str] = {
    Status.RECEIVED: "2",
    Status.REFUSED: "3",
    Status.IN_PROGRESS: "4",
    Status.HANDED_OFF: "4",
    Status.WAITING_SUPPLEMENT: "5",
    Status.WITHDRAWN: "7",
    Status.STOPPED: "8",
    Status.RESULT_READY: "9",
    Status.RETURNED: "10",
}
# The fields a district correction may change (sync/inbox.py applies the same at the desk).
CORRECTABLE = frozenset(CorrectableField.values())
ALL_CODES = tuple(str(n) for n in range(1, 11))
# States that end processing: NgayKetThucXuLy is set for them.
ENDED = frozenset({Status.RESULT_READY, Status.RETURNED, Status.REFUSED, Status.STOPPED,
                   Status.WITHDRAWN})

SNAPSHOT_REQUIRED = ("MaHoSo", "MaTTHC", "TenTTHC", "MaLinhVuc", "TenLinhVuc", "ChuHoSo",
                     "LoaiDoiTuong", "TrichYeuHoSo", "NgayTiepNhan", "NgayHenTra",
                     "TrangThaiHoSo", "DonViXuLy", "HinhThuc")
STEP_REQUIRED = ("MaHoSo", "NguoiXuLy", "ChucDanh", "ThoiDiemXuLy", "PhongBanXuLy",
                 "NoiDungXuLy", "TrangThai", "NgayBatDau", "NgayKetThucTheoQuyDinh")
# Keys that may be "" (a date not reached yet); every other required key must hold text.
MAY_BE_EMPTY = frozenset({"NgayKetThucTheoQuyDinh"})
DATE_PREFIXES = ("Ngay", "ThoiDiem")
FOURTEEN = re.compile(r"\d{14}")
CODE_CHARS = re.compile(r"[A-Za-z0-9.\-]+")
_FIELDS_2023 = frozenset(FIELDS_2023)
CATALOG = Path(__file__).resolve().parents[2] / "ccdesk" / "data" / "catalog.toml"


class MappingError(ValueError):
    """Data that must not leave: names the key and the rule (no personal values)."""


@dataclass(frozen=True)
class Event:
    """One applied mutation of the relay, in the dossier's order."""

    mutation_id: str
    payload: dict[str, Any]          # the desk's payload (create or event)
    create: bool = False


@dataclass
class History:
    """A dossier as the relay knows it: the create payload replayed with its events."""

    code: str
    events: list[Event]
    state: dict[str, Any] = field(default_factory=dict)
    rounds: list[dict[str, str]] = field(default_factory=list)
    # The dossier's scans the relay has whole, in checklist order: sha256, name, mime and the
    # signed path the upstream fetches them from (sync/server/files.py ``links``).
    files: list[dict[str, str]] = field(default_factory=list)
    # When the citizen filed it on the portal, for a dossier received from an online filing
    # (the create event's ``portal_filed_at``, the desk's local time): ``NgayNopHoSo``.
    filed_online: str = ""


def upstream_code(history: History) -> str:
    """The code the upstream knows the dossier by: the portal's for a dossier filed online
    (the portal created its record at filing, status 1), ours for a desk intake."""
    return str(history.state.get("portal_code") or history.code)


def known_upstream(known: bool, history: History) -> bool:
    """Whether the snapshot is an update: the forwarder's flag, or a dossier filed online,
    whose record the portal already holds (never a second create under our code)."""
    return known or bool(history.state.get("portal_code"))


def status_code(status: str) -> str:
    """TrangThaiHoSo of one of our states (a KeyError for a state we do not know)."""
    return STATUS_CODES[Status(status)]


def upstream_date(value: Any) -> str:
    """``yyyyMMddHHmmss`` in Vietnam time; "" for no date. Naive values are the desk's local
    wall-clock time, which is Vietnam time (the desk stores ``ctx.now()``)."""
    if value in (None, ""):
        return ""
    if isinstance(value, datetime):
        return _format(value)
    return _text_date(str(value))   # a dossier's dates repeat across its steps: converted once


@lru_cache(maxsize=8192)
def _text_date(value: str) -> str:
    return _format(datetime.fromisoformat(value))


def _format(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(VIETNAM).replace(tzinfo=None)
    # DATE_FORMAT by hand: strftime was a tenth of the forwarder's time.
    return (f"{moment.year:04d}{moment.month:02d}{moment.day:02d}"
            f"{moment.hour:02d}{moment.minute:02d}{moment.second:02d}")


@cache
def _catalog() -> dict[str, tuple[str, str]]:
    """Procedure code -> (name, field) from the bundled catalogue (the relay has no other)."""
    with CATALOG.open("rb") as fh:
        data = tomllib.load(fh)
    return {p["code"]: (p["name"], p.get("field", "")) for p in data.get("procedure", [])}


def replay(code: str, events: list[Event]) -> History:
    """The dossier's current columns and supplement rounds after ``events`` in order."""
    history = History(code, events)
    for event in events:
        if event.create:
            history.state = dict(event.payload.get("dossier") or {})
            history.filed_online = _filed_online(event.payload)
        else:
            history.state.update(event.payload.get("changes") or {})
        _track_rounds(history, event)
    return history


def _filed_online(create: dict[str, Any]) -> str:
    """The portal filing time a create carries (ccdesk/services/intake.py), "" for none: a
    desk intake, or a dossier received before the desk sent it (its reception time then)."""
    ev = create.get("event")
    data = ev.get("data") if isinstance(ev, dict) else None
    filed = data.get("portal_filed_at") if isinstance(data, dict) else None
    if not isinstance(filed, str):
        return ""
    try:
        datetime.fromisoformat(filed)
    except ValueError:
        return ""   # not a time: the reception time stands in, as for an older desk
    return filed


def _track_rounds(history: History, event: Event) -> None:
    ev = event.payload.get("event") or {}
    action = ev.get("action")
    if action not in ("request_supplement", "supplement_received"):
        return   # most events: nothing to convert (a date each was a tenth of the replay)
    data = ev.get("data") or {}
    at = upstream_date(ev.get("at"))
    if action == "request_supplement":
        due_before = history.rounds[-1]["NgayHenTraMoi"] if history.rounds else ""
        if not event.create:
            due_before = upstream_date(_due_before(history, event)) or due_before
        items = data.get("items") or []
        history.rounds.append({
            "LanBoSung": str(len(history.rounds) + 1), "NgayBoSung": at,
            "NoiDungBoSung": "; ".join(str(i.get("name", "")) for i in items
                                       if isinstance(i, dict)),
            "NgayHenTraTruoc": due_before, "NgayTiepNhanBoSung": "", "NgayHenTraMoi": ""})
    elif history.rounds:
        history.rounds[-1]["NgayTiepNhanBoSung"] = at
        history.rounds[-1]["NgayHenTraMoi"] = upstream_date(data.get("due_at"))


def _due_before(history: History, event: Event) -> Any:
    """The due date as it stood before ``event`` (a request does not change it)."""
    return history.state.get("due_at")


def snapshot(history: History, profile: Profile, unit_code: str) -> dict[str, Any]:
    """The ``DongBoHoSoMC`` element of the dossier now (PascalCase; see :func:`cased`)."""
    d = history.state
    status = Status(d["status"])
    name, field_name = _catalog().get(d.get("procedure_code", ""), ("", d.get("field", "")))
    field_name = d.get("field") or field_name
    owner = d.get("owner_name") or d.get("applicant_name") or ""
    procedure = name or str(d.get("procedure_code", ""))
    summary = f"{procedure} - {owner}"
    out: dict[str, Any] = {
        "MaHoSo": upstream_code(history),
        "MaTTHC": str(d.get("procedure_code", "")),
        "TenTTHC": procedure,
        "MaLinhVuc": profile.field_codes.get(field_name, field_name),
        "TenLinhVuc": field_name,
        "ChuHoSo": owner,
        "LoaiDoiTuong": profile.owner_kind_codes.get(str(d.get("applicant_kind") or "citizen"),
                                                     "1"),
        "TrichYeuHoSo": summary[:profile.max_lengths.get("TrichYeuHoSo", len(summary))],
        "NgayTiepNhan": upstream_date(d.get("accepted_at") or d.get("received_at")),
        # A dossier never accepted (refused or sent back for papers at the counter) has no due
        # date; the upstream requires one, so it is the reception time: the clock never ran
        # (an assumption to confirm with the province, docs/upstream.md).
        "NgayHenTra": upstream_date(d.get("due_at") or d.get("accepted_at")
                                    or d.get("received_at")),
        "TrangThaiHoSo": STATUS_CODES[status],
        "DonViXuLy": unit_code,
        "HinhThuc": profile.delivery_codes.get(str(d.get("delivery", "desk")), "0"),
    }
    if profile.fields_2023:
        out.update(_fields_2023(history, profile, status))
    if profile.files_key and (profile.files_base_url or profile.upload_path) and history.files:
        out[profile.files_key] = [file_element(f, profile, name)
                                  for f, name in zip(history.files, _file_names(history.files),
                                                     strict=True)]
    return out


def _file_names(files: list[dict[str, str]]) -> list[str]:
    """Each scan's name: its paper's (the checklist item's), numbered when a paper has several
    pages as files ("Tờ khai.jpg", "Tờ khai (2).jpg"), else its hash's start."""
    seen: dict[str, int] = {}
    names = []
    for found in files:
        base = found.get("name") or found["sha256"][:16]
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base} ({seen[base]})")
    return names


EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


def file_element(found: dict[str, str], profile: Profile, name: str) -> dict[str, str]:
    """One scan in the snapshot's file list: its id (the SHA-256), name, URL at the relay and
    ``IsDeleted``; keys from the profile (docs/upstream.md, "Files"). A dossier's files are
    listed once they have arrived whole; a file arriving later sends the snapshot again."""
    values = {"id": found["sha256"],
              "name": name + EXTENSIONS.get(found.get("mime", ""), ""),
              "url": profile.files_base_url.rstrip("/") + found["path"],
              "deleted": "False", "paper_code": ""}
    return {key: values[ours] for ours, key in profile.file_fields.items()
            if key and ours in values}


def _fields_2023(history: History, profile: Profile, status: Status) -> dict[str, Any]:
    d = history.state
    id_number, id_type_name = owner_identity(d)
    # Only a 12-digit personal ID has a known LoaiDinhDanh ("1") [I]; other papers (and a tax
    # code) go in SoGiayToChuHoSo alone until the province gives their codes.
    id_type = profile.id_type_codes.get(id_type_name)
    ended = ""
    if status in ENDED:
        # Result ready ends processing even when the dossier is later returned or withdrawn.
        ended = upstream_date(d.get("ready_at") or d.get("closed_at"))
    extra: dict[str, Any] = {
        "KenhThucHien": profile.channel_codes.get(str(d.get("channel", "direct")), "1"),
        "SoGiayToChuHoSo": id_number,
        "DinhDanhCHS": [{"LoaiDinhDanh": id_type, "SoDinhDanh": id_number}]
        if id_number and id_type else [],
        # When the citizen handed it in: on the portal for an online filing (Decision 766's
        # indicators count from it), at the desk otherwise. Reception is NgayTiepNhan.
        "NgayNopHoSo": upstream_date(history.filed_online or d.get("received_at")),
        "NgayTuChoi": upstream_date(d.get("closed_at")) if status == Status.REFUSED else "",
        "NgayKetThucXuLy": ended,
        "NgayTra": upstream_date(d.get("returned_at")),
        "DanhSachHoSoBoSung": [dict(r) for r in history.rounds],
    }
    return {k: v for k, v in extra.items() if k in _FIELDS_2023}


def owner_identity(d: dict[str, Any]) -> tuple[str, str]:
    """The ID of whose dossier it is (``ChuHoSo``): the represented person's, the
    organisation's tax code, else the applicant's own. Returns (number, id type)."""
    kind = str(d.get("applicant_kind") or "citizen")
    if kind == "organisation":
        return str(d.get("owner_tax_code") or ""), "tax_code"
    if kind == "representative" and d.get("owner_id_number"):
        return str(d["owner_id_number"]), str(d.get("owner_id_type") or "cccd")
    return str(d.get("applicant_id_number") or ""), str(d.get("applicant_id_type") or "cccd")


def steps(history: History, profile: Profile) -> list[tuple[str, dict[str, Any]]]:
    """One ``CapNhatTienDoHoSoMC`` step per event, with the mutation id that keys it."""
    out = []
    state: dict[str, Any] = {}
    for event in history.events:
        if event.create:
            state = dict(event.payload.get("dossier") or {})
        else:
            state.update(event.payload.get("changes") or {})
        out.append((event.mutation_id, step(upstream_code(history), event, state, profile)))
    return out


def step(code: str, event: Event, state: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """The progress step of one event, with the dossier's columns as they were after it."""
    ev = event.payload.get("event") or {}
    action = str(ev.get("action", ""))
    label = _action_label(action)
    reason = str(ev.get("reason") or "")
    content = f"{label}: {reason}" if reason else label
    department = profile.desk_department
    if action == "hand_off":
        department = str((ev.get("data") or {}).get("body") or department)
    limit = profile.max_lengths
    at = upstream_date(ev.get("at"))
    return {
        "MaHoSo": code,
        # A change the district recorded has no officer of ours: the profile names who.
        "NguoiXuLy": str(ev.get("officer") or profile.system_officer)[:limit.get("NguoiXuLy",
                                                                                  50)],
        "ChucDanh": profile.officer_title,
        "ThoiDiemXuLy": at,
        "PhongBanXuLy": department[:limit.get("PhongBanXuLy", len(department))],
        "NoiDungXuLy": content[:limit.get("NoiDungXuLy", len(content))],
        "TrangThai": STATUS_CODES[Status(ev.get("to_status") or state.get("status"))],
        "NgayBatDau": at,
        "NgayKetThucTheoQuyDinh": upstream_date(state.get("due_at")),
    }


@cache
def _action_label(action: str) -> str:
    """The Vietnamese label of an action (one look-up per action, not per step)."""
    return t(f"vocab.action.{action}", lang="vi")


# ---- pre-flight ------------------------------------------------------------------------------
def validate_snapshot(snap: dict[str, Any], profile: Profile) -> None:
    """Raise :class:`MappingError` if ``snap`` breaks a rule the upstream checks."""
    _required(snap, SNAPSHOT_REQUIRED, "snapshot")
    if snap["TrangThaiHoSo"] not in ALL_CODES:
        raise MappingError(f"TrangThaiHoSo {snap['TrangThaiHoSo']!r} is not 1-10")
    if not CODE_CHARS.fullmatch(snap["MaHoSo"]):
        raise MappingError("MaHoSo has characters outside letters, digits, dots and dashes")
    _common(snap, profile, "snapshot")
    if snap["NgayHenTra"] < snap["NgayTiepNhan"]:
        raise MappingError("NgayHenTra is earlier than NgayTiepNhan")


def validate_step(item: dict[str, Any], profile: Profile) -> None:
    _required(item, STEP_REQUIRED, "step")
    if item["TrangThai"] not in ALL_CODES:
        raise MappingError(f"step TrangThai {item['TrangThai']!r} is not 1-10")
    _common(item, profile, "step")


def _required(item: dict[str, Any], keys: tuple[str, ...], what: str) -> None:
    for key in keys:
        if key not in item:
            raise MappingError(f"{what}: {key} is missing")
        if not isinstance(item[key], str):
            raise MappingError(f"{what}: {key} must be a string")
        if not item[key] and key not in MAY_BE_EMPTY:
            raise MappingError(f"{what}: {key} is empty")


def _common(item: dict[str, Any], profile: Profile, where: str) -> None:
    """Every scalar a string, every date 14 digits, every length within its limit. (The path
    of a key is spelled only when it fails: building it for every key was most of the cost.)"""
    limits = profile.max_lengths
    for key, value in item.items():
        if type(value) is not str:
            if isinstance(value, list):
                for n, element in enumerate(value):
                    if not isinstance(element, dict):
                        raise MappingError(f"{where}.{key}[{n}] must be an object")
                    _common(element, profile, f"{where}.{key}[{n}]")
                continue
            if not isinstance(value, str):
                raise MappingError(f"{where}.{key} must be a string")
        if value and _is_date_key(key) and not _valid_date(value):
            raise MappingError(f"{where}.{key} is not a yyyyMMddHHmmss date")
        limit = limits.get(key)
        if limit is not None and len(value) > limit:
            raise MappingError(f"{where}.{key} is longer than {limit} characters")


@cache
def _is_date_key(key: str) -> bool:
    return key.startswith(DATE_PREFIXES)


def _valid_date(value: str) -> bool:
    """``value`` is a real yyyyMMddHHmmss date-time (checked by hand: strptime was the
    forwarder's hottest call)."""
    if not FOURTEEN.fullmatch(value):
        return False
    try:
        datetime(int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[8:10]),
                 int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return True


def cased(item: Any, profile: Profile) -> Any:
    """``item`` with every key in the profile's case (after validation, just before sending)."""
    if profile.key_case == "pascal":
        return item   # the documents' own case: nothing to change
    if isinstance(item, dict):
        return {profile.key(k): cased(v, profile) for k, v in item.items()}
    if isinstance(item, list):
        return [cased(v, profile) for v in item]
    return item
