"""The rules the double holds a request to: each is data with a name, the source it comes from
and the confidence of that source (docs/upstream-double.md has the table):

  V  read in a primary text          C  seen in two or more production clients
  I  one client or indirect evidence (a hypothesis)       ?  not found

``--verified-only`` keeps only the V and C rules. A violation raises :class:`Violation` naming
the rule and *where* in the request (never the offending value: it may be a citizen's name)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

VERIFIED = frozenset({"V", "C"})
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
DATE_FORMAT = "%Y%m%d%H%M%S"   # yyyyMMddHHmmss, Vietnam time
STATUSES = frozenset(str(n) for n in range(1, 11))
MAX_DEPTH = 16

SRC_VPCP = "VPCP DVCQG integration guide v1.4 (2020) + OpenCPS v2 and Thanh Hóa clients"
SRC_CLIENTS = "OpenCPS v2 DVCQGIntegrationActionImpl.java; Thanh Hóa SyncLocalDataToDVCQGService.cs"
SRC_ONE_CLIENT = "one production client (OpenCPS v2 or Thanh Hóa)"


@dataclass(frozen=True)
class Rule:
    name: str
    confidence: str
    source: str
    summary: str


RULES: dict[str, Rule] = {r.name: r for r in (
    Rule("string_scalars", "C", SRC_CLIENTS,
         "every scalar in data is a JSON string (numbers, booleans and null are refused)"),
    Rule("required_snapshot_keys", "C", SRC_CLIENTS,
         "a DongBoHoSoMC element carries MaHoSo, MaTTHC, TenTTHC, MaLinhVuc, TenLinhVuc, "
         "ChuHoSo, LoaiDoiTuong, TrichYeuHoSo, NgayTiepNhan (not for status 1), NgayHenTra, "
         "TrangThaiHoSo, DonViXuLy, HinhThuc, non-empty"),
    Rule("required_step_keys", "C", SRC_CLIENTS,
         "a CapNhatTienDoHoSoMC element carries MaHoSo, NguoiXuLy, ThoiDiemXuLy, NoiDungXuLy, "
         "TrangThai, non-empty"),
    Rule("date_format", "C", SRC_CLIENTS,
         "every Ngay…/ThoiDiem… value is 14 digits yyyyMMddHHmmss and a real date-time"),
    Rule("mahoso_format", "V", "TT 01/2018/TT-VPCP art. 19",
         "MaHoSo is <unit code>-YYMMDD-NNNN: a real date and a sequence of 4+ digits"),
    Rule("mahoso_unit_prefix", "I", SRC_ONE_CLIENT + " (re-mints codes whose prefix differs)",
         "MaHoSo starts with the unit code the double was started with"),
    Rule("matthc_format", "I", "national TTHC catalogue codes (e.g. 1.001193)",
         "MaTTHC is d.dddddd"),
    Rule("trang_thai_enum", "C", "four codebases (upstream status table)",
         "TrangThaiHoSo and a step's TrangThai are \"1\"…\"10\""),
    Rule("kenh_thuc_hien_enum", "C", SRC_CLIENTS + " (2023+ field)",
         "KenhThucHien, when present, is \"1\" in person, \"2\" online or \"3\" postal"),
    Rule("loai_doi_tuong_enum", "C", SRC_CLIENTS + " (\"3\"/\"4\" seen in one)",
         "LoaiDoiTuong is \"1\" citizen, \"2\" business, \"3\" or \"4\""),
    Rule("hinh_thuc_enum", "I", SRC_ONE_CLIENT,
         "HinhThuc is \"0\" at the desk or \"1\" by post"),
    Rule("is_updating_flag", "C", SRC_CLIENTS,
         "DongBoHoSoMC carries isUpdating \"True\" or \"False\""),
    Rule("no_cmnd_field", "C", SRC_CLIENTS,
         "there is no SoCMND field: the ID goes in SoGiayToChuHoSo / DinhDanhCHS"),
    Rule("dinh_danh_12_digits", "I", SRC_ONE_CLIENT,
         "DinhDanhCHS with LoaiDinhDanh \"1\" carries a 12-digit personal ID"),
    Rule("trich_yeu_length", "I", SRC_ONE_CLIENT + " (truncates at 1000)",
         "TrichYeuHoSo is at most 1000 characters"),
    Rule("nguoi_xu_ly_length", "I", SRC_ONE_CLIENT, "a step's NguoiXuLy is at most 50 characters"),
    Rule("due_not_before_received", "I", "Decision 766 formula sheet (due counted from reception)",
         "NgayHenTra is not before NgayTiepNhan"),
    Rule("status_transition", "I", "the status meanings (four codebases); moves inferred",
         "TrangThaiHoSo never moves backwards (table in docs/upstream-double.md); a sender that "
         "coalesces snapshots may skip states; a ready result may still be withdrawn (9 → 7) or "
         "go back for another processing round (9 → 4)"),
    Rule("step_known_dossier", "I", "indirect: steps hang off a synced dossier",
         "a step names a dossier the double already holds (or one in the same call)"),
    Rule("step_not_back_in_time", "I", "indirect: a timeline is ordered",
         "a step's ThoiDiemXuLy is not earlier than the dossier's previous step (a re-sent "
         "step is a duplicate instead)"),
    Rule("status_payload", "C", SRC_CLIENTS,
         "DongBoTrangThaiHoSo carries type \"2\" and data as one object"),
    Rule("rating_format", "I", SRC_ONE_CLIENT,
         "DongBoDanhGia: NgayTongHop is M-YYYY and every percentage is \"0%\"…\"100%\""),
    Rule("rating_required_keys", "I", "ccdesk's element (docs/upstream.md, monthly satisfaction)",
         "a DongBoDanhGia element carries NgayTongHop, TongSoDanhGia, SoRatHaiLong, SoHaiLong, "
         "SoKhongHaiLong, TyLeHaiLong, TyLeKhongHaiLong, non-empty"),
    Rule("rating_counts", "I", "ccdesk's element (docs/upstream.md, monthly satisfaction)",
         "DongBoDanhGia counts are whole numbers, TongSoDanhGia is their sum, and the month is "
         "over (NgayTongHop before this month)"),
    Rule("steps_per_call", "C", SRC_CLIENTS + " (batches of ≤ 10)",
         "CapNhatTienDoHoSoMC carries at most 10 steps per call (configurable)"),
)}

SNAPSHOT_REQUIRED = ("MaHoSo", "MaTTHC", "TenTTHC", "MaLinhVuc", "TenLinhVuc", "ChuHoSo",
                     "LoaiDoiTuong", "TrichYeuHoSo", "NgayTiepNhan", "NgayHenTra",
                     "TrangThaiHoSo", "DonViXuLy", "HinhThuc")
STEP_REQUIRED = ("MaHoSo", "NguoiXuLy", "ThoiDiemXuLy", "NoiDungXuLy", "TrangThai")
RATING_REQUIRED = ("NgayTongHop", "TongSoDanhGia", "SoRatHaiLong", "SoHaiLong", "SoKhongHaiLong",
                   "TyLeHaiLong", "TyLeKhongHaiLong")

# Allowed next statuses (one move). A status may always be re-sent unchanged. Checked as
# reachability, since the forwarder sends the latest snapshot and may skip states.
MOVES: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in {
    "1": {"2", "3", "5", "7"},                 # online filing: received, refused, supplement
    "2": {"4", "5", "6", "7", "8", "9"},
    "4": {"4", "5", "6", "7", "8", "9"},       # processing / handed on between offices
    "5": {"2", "3", "4", "7", "8", "9"},       # supplement arrives → processing again
    "6": {"4", "7", "8", "9"},
    "9": {"10"},
    "3": set(), "7": set(), "8": set(), "10": set(),
}.items()}
# Moves out of a ready result that are not progress but are legal (docs/upstream-double.md):
# the citizen withdraws before picking the result up (our lifecycle allows it), or the result
# is sent back for another processing round (a correction recorded at the district). Allowed
# as direct moves only: they do not make every earlier status reachable from 9.
REOPEN: dict[str, frozenset[str]] = {"9": frozenset({"4", "7"})}


def reachable(start: str) -> frozenset[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in MOVES.get(todo.pop(), frozenset()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)


REACHABLE = {status: reachable(status) for status in MOVES}


class Violation(Exception):
    def __init__(self, rule: str, where: str, detail: str) -> None:
        super().__init__(f"[{rule}] {where}: {detail}")
        self.rule, self.where, self.detail = rule, where, detail


@dataclass
class Lookup:
    """What the rules need from the store: a dossier's status, its last step, and whether a
    step (by :func:`step_fingerprint`) was stored before."""

    status_of: Callable[[str], str | None]
    last_step: Callable[[str], tuple[str, str] | None]
    # The fingerprints among those given that a stored step has (one question per call).
    stored_steps: Callable[[list[str]], set[str]] = lambda _fingerprints: set()


def step_fingerprint(step: dict[str, Any]) -> str:
    """Steps carry no id upstream: two steps are the same step when every field is equal."""
    return hashlib.sha256(json.dumps(step, sort_keys=True, ensure_ascii=False).encode()
                          ).hexdigest()


@dataclass
class Checker:
    unit_code: str
    verified_only: bool = False
    max_steps: int = 10
    disabled: frozenset[str] = field(default_factory=frozenset)

    def on(self, name: str) -> bool:
        rule = RULES[name]
        return name not in self.disabled and (
            not self.verified_only or rule.confidence in VERIFIED)

    def fail(self, name: str, where: str, detail: str) -> None:
        if self.on(name):
            raise Violation(name, where, detail)

    # ---- whole calls -------------------------------------------------------------------------
    def snapshots(self, body: dict[str, Any], items: list[Any], lookup: Lookup) -> None:
        flag = body.get("isUpdating")
        if flag not in ("True", "False"):
            self.fail("is_updating_flag", "isUpdating", "\"True\" or \"False\" expected")
        pending: dict[str, str] = {}   # statuses set earlier in this same call
        for i, item in enumerate(items):
            where = f"data[{i}]"
            self.require_object(item, where)
            self.snapshot(item, where)
            code = item["MaHoSo"]
            before = pending.get(code) or lookup.status_of(code)
            self.transition(before, item["TrangThaiHoSo"], f"{where}.TrangThaiHoSo")
            pending[code] = item["TrangThaiHoSo"]

    def steps(self, items: list[Any], lookup: Lookup,
              in_call: Iterable[str] = ()) -> list[tuple[str, bool]]:
        """Check a ``CapNhatTienDoHoSoMC`` call; returns each step's fingerprint and whether
        such a step was stored before this call (the store keeps both: asked once a step)."""
        if len(items) > self.max_steps:
            self.fail("steps_per_call", "data", f"{len(items)} steps > {self.max_steps}")
        known = set(in_call)
        last: dict[str, tuple[str, str]] = {}
        fingerprints: list[tuple[str, bool]] = []
        for i, item in enumerate(items):
            self.require_object(item, f"data[{i}]")
            self.step(item, f"data[{i}]")
        # Fingerprinted only once every step is known to be flat strings (bounded depth).
        prints = [step_fingerprint(item) for item in items]
        stored_before = lookup.stored_steps(prints)
        for i, item in enumerate(items):
            where = f"data[{i}]"
            code = item["MaHoSo"]
            if code not in known:
                if lookup.status_of(code) is None:
                    self.fail("step_known_dossier", f"{where}.MaHoSo", "no such dossier")
                else:
                    known.add(code)   # a dossier's other steps in this call: asked once
            fingerprint = prints[i]
            stored = fingerprint in stored_before
            fingerprints.append((fingerprint, stored))
            if stored:
                # A re-sent step: stored and counted as a duplicate (a client bug), not judged
                # against the steps that came after it the first time.
                continue
            previous = last.get(code) or lookup.last_step(code)
            if previous and item["ThoiDiemXuLy"] < previous[0]:
                self.fail("step_not_back_in_time", f"{where}.ThoiDiemXuLy",
                          "earlier than the dossier's previous step")
            if previous:
                self.transition(previous[1], item["TrangThai"], f"{where}.TrangThai")
            last[code] = (item["ThoiDiemXuLy"], item["TrangThai"])
        return fingerprints

    def status_sync(self, body: dict[str, Any]) -> None:
        """``DongBoTrangThaiHoSo``: the status of dossiers filed on the portal."""
        data = body.get("data")
        if body.get("type") != "2" or not isinstance(data, dict):
            self.fail("status_payload", "type/data", "type \"2\" and data an object expected")
            return
        self.strings(data, "data")
        if "MaHoSo" in data and isinstance(data["MaHoSo"], str):
            self.code(data["MaHoSo"], "data.MaHoSo")
        for key in ("TrangThaiHoSo", "TrangThai"):
            if key in data:
                self.enum("trang_thai_enum", data, key, STATUSES, "data")
        self.dates(data, "data")

    def rating(self, body: dict[str, Any]) -> None:
        """``DongBoDanhGia``: one unit's monthly satisfaction aggregate (or a list of them)."""
        data = body.get("data")
        items = data if isinstance(data, list) else [data]
        for i, item in enumerate(items):
            where = f"data[{i}]" if isinstance(data, list) else "data"
            self.require_object(item, where)
            self.strings(item, where)
            month = re.fullmatch(r"([1-9]|1[0-2])-(\d{4})", str(item.get("NgayTongHop", "")))
            if not month:
                self.fail("rating_format", f"{where}.NgayTongHop", "M-YYYY expected")
            for key, value in item.items():
                if isinstance(value, str) and "%" in value and not _percent(value):
                    self.fail("rating_format", f"{where}.{key}", "\"0%\"…\"100%\" expected")
            self._rating_counts(item, where, month)

    def _rating_counts(self, item: dict[str, Any], where: str, month: Any) -> None:
        missing = [k for k in RATING_REQUIRED if not isinstance(item.get(k), str) or not item[k]]
        if missing:
            self.fail("rating_required_keys", where, "missing or empty: " + ", ".join(missing))
            return
        counts = [item[k] for k in ("SoRatHaiLong", "SoHaiLong", "SoKhongHaiLong")]
        if not all(c.isdigit() for c in counts + [item["TongSoDanhGia"]]) \
                or sum(map(int, counts)) != int(item["TongSoDanhGia"]):
            self.fail("rating_counts", f"{where}.TongSoDanhGia", "the sum of the counts expected")
        if month and (int(month.group(2)), int(month.group(1))) >= _this_month():
            self.fail("rating_counts", f"{where}.NgayTongHop", "a month that is over expected")

    # ---- one element -------------------------------------------------------------------------
    def snapshot(self, item: dict[str, Any], where: str) -> None:
        self.strings(item, where)
        required = [k for k in SNAPSHOT_REQUIRED
                    if not (k == "NgayTiepNhan" and item.get("TrangThaiHoSo") == "1")]
        self._required("required_snapshot_keys", item, required, where)
        self.dates(item, where)
        self.code(item["MaHoSo"], f"{where}.MaHoSo")
        if not re.fullmatch(r"\d\.\d{6}", item["MaTTHC"]):
            self.fail("matthc_format", f"{where}.MaTTHC", "d.dddddd expected")
        self.enum("trang_thai_enum", item, "TrangThaiHoSo", STATUSES, where)
        self.enum("loai_doi_tuong_enum", item, "LoaiDoiTuong", {"1", "2", "3", "4"}, where)
        self.enum("hinh_thuc_enum", item, "HinhThuc", {"0", "1"}, where)
        if "KenhThucHien" in item:
            self.enum("kenh_thuc_hien_enum", item, "KenhThucHien", {"1", "2", "3"}, where)
        if "SoCMND" in item:
            self.fail("no_cmnd_field", f"{where}.SoCMND", "no such field upstream")
        if len(item["TrichYeuHoSo"]) > 1000:
            self.fail("trich_yeu_length", f"{where}.TrichYeuHoSo", "longer than 1000")
        received, due = item.get("NgayTiepNhan", ""), item["NgayHenTra"]
        if received and due < received:
            self.fail("due_not_before_received", f"{where}.NgayHenTra",
                      "earlier than NgayTiepNhan")
        self._ids(item.get("DinhDanhCHS"), f"{where}.DinhDanhCHS")

    def step(self, item: dict[str, Any], where: str) -> None:
        self.strings(item, where)
        self._required("required_step_keys", item, STEP_REQUIRED, where)
        self.dates(item, where)
        self.code(item["MaHoSo"], f"{where}.MaHoSo")
        self.enum("trang_thai_enum", item, "TrangThai", STATUSES, where)
        if len(item["NguoiXuLy"]) > 50:
            self.fail("nguoi_xu_ly_length", f"{where}.NguoiXuLy", "longer than 50")

    # ---- single checks -----------------------------------------------------------------------
    def strings(self, value: Any, where: str, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            # Real elements nest 2 levels (a list of objects in a snapshot): bound the walk.
            raise Violation("envelope", where, f"nested deeper than {MAX_DEPTH}")
        if isinstance(value, dict):
            for key, inner in value.items():
                self.strings(inner, f"{where}.{key}", depth + 1)
        elif isinstance(value, list):
            for i, inner in enumerate(value):
                self.strings(inner, f"{where}[{i}]", depth + 1)
        elif not isinstance(value, str):
            self.fail("string_scalars", where, f"{_json_type(value)} where a string is expected")

    def dates(self, item: dict[str, Any], where: str) -> None:
        for key, value in item.items():
            if (key.startswith(("Ngay", "ThoiDiem")) and isinstance(value, str) and value
                    and not is_stamp(value)):
                self.fail("date_format", f"{where}.{key}", "yyyyMMddHHmmss (14 digits) expected")

    def code(self, code: str, where: str) -> None:
        if not well_formed_code(code):
            self.fail("mahoso_format", where, "<unit code>-YYMMDD-NNNN expected")
        if not code.startswith(self.unit_code + "-"):
            self.fail("mahoso_unit_prefix", where, "does not start with this unit's code")

    def enum(self, rule: str, item: dict[str, Any], key: str, allowed: Collection[str],
             where: str) -> None:
        if item.get(key) not in allowed:
            self.fail(rule, f"{where}.{key}", "one of " + ", ".join(sorted(allowed, key=int)))

    def transition(self, before: str | None, after: str, where: str) -> None:
        if before is None or before == after or before not in REACHABLE:
            return
        if after not in REACHABLE[before] and after not in REOPEN.get(before, ()):
            self.fail("status_transition", where, f"{before} → {after} goes backwards")

    def _required(self, rule: str, item: dict[str, Any], keys: Iterable[str],
                  where: str) -> None:
        missing = [k for k in keys if not isinstance(item.get(k), str) or not item[k].strip()]
        if missing:
            # Without these the double cannot store the element: the check never switches off.
            raise Violation(rule, where, "missing or empty: " + ", ".join(missing))

    def _ids(self, ids: Any, where: str) -> None:
        if not isinstance(ids, list):
            return
        for i, entry in enumerate(ids):
            if (isinstance(entry, dict) and entry.get("LoaiDinhDanh") == "1"
                    and not re.fullmatch(r"\d{12}", str(entry.get("SoDinhDanh", "")))):
                self.fail("dinh_danh_12_digits", f"{where}[{i}].SoDinhDanh", "12 digits expected")

    @staticmethod
    def require_object(item: Any, where: str) -> None:
        if not isinstance(item, dict):
            raise Violation("envelope", where, "an object expected")


STAMP = re.compile(r"\d{14}")


def parse_stamp(value: str) -> datetime | None:
    """``yyyyMMddHHmmss`` as a datetime, or None (built by hand: strptime is the double's
    hottest path otherwise)."""
    if not STAMP.fullmatch(value):
        return None
    try:
        return datetime(int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[8:10]),
                        int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


@lru_cache(maxsize=1 << 16)
def is_stamp(value: str) -> bool:
    """(Cached: a dossier's dates repeat across its steps and snapshots.)"""
    return parse_stamp(value) is not None


@lru_cache(maxsize=1 << 16)
def well_formed_code(code: str) -> bool:
    """``code`` is <unit code>-YYMMDD-NNNN with a real day (TT 01/2018 art. 19)."""
    match = re.fullmatch(r"(.+)-(\d{6})-(\d{4,})", code)
    return match is not None and _real_day(match.group(2))


def _percent(value: str) -> bool:
    match = re.fullmatch(r"(\d{1,3}(?:[.,]\d+)?)%", value)
    return match is not None and float(match.group(1).replace(",", ".")) <= 100


def _this_month() -> tuple[int, int]:
    now = datetime.now(VIETNAM)
    return now.year, now.month


def _real_day(yymmdd: str) -> bool:
    return parse_stamp(f"20{yymmdd}000000") is not None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__
