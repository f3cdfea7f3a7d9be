"""Transport profiles of the upstream: everything the province may change is data, not code.

A profile is a name (``dvcqg`` or ``facade``) and a version (the year of the integration
document it follows). Paths, the field-name case, the optional 2023+ fields, batch sizes, length
limits, accepted success codes, the "already exists" markers and the session-expired codes all
live in :class:`Profile`; the relay's settings (``upstream set`` and the stored ``settings``
JSON) override any of them. What each default rests on, and how sure it is: docs/upstream.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

DVCQG = "dvcqg"
FACADE = "facade"
IGATE = "igate"
PROFILE_NAMES = (DVCQG, FACADE, IGATE)
DEFAULT_VERSION = "2023"
VERSIONS = ("2020", "2023")

# Fields the 2023/24 documents added to a dossier snapshot (docs/upstream.md, "Snapshot").
FIELDS_2023 = ("KenhThucHien", "SoGiayToChuHoSo", "DinhDanhCHS", "NgayNopHoSo", "NgayTuChoi",
               "NgayKetThucXuLy", "NgayTra", "DanhSachHoSoBoSung")


@dataclass(frozen=True)
class Profile:
    """One upstream's wire rules. Never read a literal of these anywhere else."""

    name: str = DVCQG
    version: str = DEFAULT_VERSION
    # --- transport -------------------------------------------------------------------------
    auth_path: str = "/auth"                     # dvcqg only
    integration_path: str = "/integration"       # dvcqg only
    create_path: str = "/hoso/tao"               # facade only
    update_path: str = "/hoso/capnhat"           # facade only
    progress_path: str = "/hoso/tiendo"          # facade only
    snapshot_service: str = "DongBoHoSoMC"
    steps_service: str = "CapNhatTienDoHoSoMC"
    lookup_service: str = "TraCuuHoSo"           # "" = this upstream has no look-up
    rating_service: str = "DongBoDanhGia"        # "" = no monthly satisfaction aggregate
    lookup_key: str = "MaHoSo"
    # Where a TraCuuHoSo reply lists the dossier's steps, if it does [I]: lets the forwarder
    # settle steps left in doubt by a crash. "" = the upstream cannot say; they wait for a person.
    lookup_steps_key: str = "TienDo"
    # Mark a whole group of dossiers "sending" in one commit before its calls (one fsync per
    # group instead of per call: several times faster on a relay's disk). Only safe where the
    # look-up really lists the steps (above): a crash then leaves the whole group in doubt, and
    # only that listing settles it without a person. Off until the province confirms it.
    group_commit: bool = False
    timeout_s: float = 20.0
    session_ttl_s: float = 600.0                 # one client caches it 10 minutes [I]
    # --- replies ---------------------------------------------------------------------------
    success_codes: tuple[str, ...] = ("0", "00")
    # A reply whose per-item ``result`` says which items were processed and which were not
    # (a system error half-way through a batch) [I].
    partial_codes: tuple[str, ...] = ("99",)
    exists_codes: tuple[str, ...] = ("3", "-3")
    exists_markers: tuple[str, ...] = ("đã tồn tại",)
    session_expired_codes: tuple[str, ...] = ("401",)
    # --- payload shape ---------------------------------------------------------------------
    key_case: str = "pascal"                     # pascal (MaHoSo) | camel (maHoSo)
    fields_2023: bool = True
    snapshot_batch: int = 10
    steps_batch: int = 10                        # one client sends <= 10 per call [C]
    max_lengths: dict[str, int] = field(default_factory=lambda: {
        "MaHoSo": 50, "MaTTHC": 50, "TenTTHC": 1000, "MaLinhVuc": 50, "TenLinhVuc": 500,
        "ChuHoSo": 250, "TrichYeuHoSo": 1000, "DonViXuLy": 50, "SoGiayToChuHoSo": 20,
        "NguoiXuLy": 50, "ChucDanh": 100, "PhongBanXuLy": 250, "NoiDungXuLy": 1000})
    # --- our values onto theirs ------------------------------------------------------------
    officer_title: str = "Cán bộ Bộ phận Một cửa"
    desk_department: str = "Bộ phận tiếp nhận và trả kết quả"
    system_officer: str = "Hệ thống cấp trên"   # NguoiXuLy of a change the district recorded
    delivery_codes: dict[str, str] = field(default_factory=lambda: {
        "desk": "0", "post": "1", "online": "0"})
    channel_codes: dict[str, str] = field(default_factory=lambda: {
        "direct": "1", "online_full": "2", "online_partial": "2", "postal": "3"})
    id_type_codes: dict[str, str] = field(default_factory=lambda: {"cccd": "1"})
    # LoaiDoiTuong by whose dossier it is: "1" citizen, "2" business [C]; a representative
    # hands in a citizen's dossier. Other organisations may be "3"/"4" [I]: ask the province.
    owner_kind_codes: dict[str, str] = field(default_factory=lambda: {
        "citizen": "1", "representative": "1", "organisation": "2"})
    field_codes: dict[str, str] = field(default_factory=dict)   # field name -> MaLinhVuc
    # --- online filings coming down (status 1; docs/upstream.md, "Online filings") ----------
    # No public source names the service that lists them [?]: "" = this upstream cannot.
    filings_service: str = "LayHoSoTrucTuyen"
    filings_since_key: str = "TuNgay"            # filed since (yyyyMMddHHmmss) [?]
    filings_max: int = 500                       # items taken from one reply; more wait
    # Waiting filings asked about with the look-up per fetch (withdrawn on the portal?); 0 =
    # never ask (docs/upstream.md, "Online filings", 8).
    filings_check_max: int = 100
    # Our name -> the upstream's key in a filing (PascalCase, cased by ``key``) [C/I/?].
    filing_fields: dict[str, str] = field(default_factory=lambda: {
        "portal_code": "MaHoSo", "status": "TrangThaiHoSo", "procedure_code": "MaTTHC",
        "procedure_name": "TenTTHC", "applicant_name": "ChuHoSo",
        "applicant_id_number": "SoGiayToChuHoSo", "applicant_phone": "SoDienThoaiChuHoSo",
        "applicant_email": "EmailChuHoSo", "applicant_address": "DiaChiChuHoSo",
        "summary": "TrichYeuHoSo", "filed_at": "NgayNopHoSo", "unit": "DonViXuLy"})
    # The filing's receiving unit -> our commune code; a unit not listed is taken as the
    # commune code itself (a relay whose upstream uses them) [?].
    filing_units: dict[str, str] = field(default_factory=dict)
    filing_channel: str = "online_full"          # our Channel for a portal filing [?]
    # --- scans, listed in the snapshot by URL (docs/upstream.md, "Files") -------------------
    # The submitted papers' list (TaiLieuNop [C]); "" = this upstream takes no file list.
    files_key: str = "TaiLieuNop"
    # Our name -> the upstream's key in one element [I: one client's field names]; a key
    # mapped to "" is left out (the paper's code in the procedure's list is not known yet).
    file_fields: dict[str, str] = field(default_factory=lambda: {
        "id": "TepDinhKemId", "name": "TenTepDinhKem", "url": "DuongDanTaiTepTin",
        "deleted": "IsDeleted", "paper_code": ""})
    # The relay's address as the upstream reaches it (https://…): file URLs start with it.
    # "" = no file list is sent (the upstream could not fetch the files).
    files_base_url: str = ""
    # --- igate only: OAuth2 client credentials, codes minted upstream, files uploaded -------
    # (sync/upstream/igate.py; every default is a guess to confirm, docs/upstream.md "igate")
    token_path: str = "/oauth/token"             # under --url, unless token_url is set
    token_url: str = ""                          # the token endpoint's own https://… address
    token_scope: str = ""                        # "" = no scope parameter
    token_margin_s: float = 60.0                 # renewed this long before it expires
    lookup_path: str = ""                        # the look-up by their code or our reference
    upload_path: str = ""                        # multipart upload; "" = files go by URL
    reply_code_key: str = "code"                 # replies {code, message, data} [I]
    reply_message_key: str = "message"
    reply_data_key: str = "data"
    minted_key: str = "MaHoSo"                   # the upstream's own code in data
    reference_key: str = "MaThamChieu"           # our code, kept upstream as a reference
    progress_key: str = "data"                   # the list of steps in a progress call
    upload_file_field: str = "file"
    upload_hash_field: str = "sha256"
    upload_id_key: str = "id"                    # the stored file's id in the reply's data
    upload_max_bytes: int = 25 * 1024 * 1024
    # The national field names as this upstream spells them (after key_case), where they
    # differ: {"TrichYeuHoSo": "trichYeu"}; applied to what is sent, undone on look-ups.
    field_names: dict[str, str] = field(default_factory=dict)

    def key(self, name: str) -> str:
        """``name`` (PascalCase, as the documents spell it) in this profile's case."""
        return name[:1].lower() + name[1:] if self.key_case == "camel" else name

    @property
    def has_session(self) -> bool:
        return self.name == DVCQG


def _facade_defaults() -> dict[str, Any]:
    # The façade adds the session and has no look-up service of ours to call [I].
    return {"name": FACADE, "lookup_service": "", "filings_service": "", "rating_service": ""}


def _igate_defaults() -> dict[str, Any]:
    # VNPT iGate: only the shape is public [I] (token, minted codes, multipart upload,
    # CreateDossier / CapNhatTienTrinh); paths and names below are ours until the province
    # gives its document [?]. No filings list or monthly aggregate is known for it.
    return {"name": IGATE, "create_path": "/api/CreateDossier",
            "update_path": "/api/UpdateDossier", "progress_path": "/api/CapNhatTienTrinh",
            "lookup_path": "/api/TraCuuHoSo", "upload_path": "/api/UploadFile",
            "lookup_service": "", "filings_service": "", "rating_service": "",
            "success_codes": ("0",), "snapshot_batch": 10, "steps_batch": 10,
            "file_fields": {"id": "TepDinhKemId", "name": "TenTepDinhKem", "url": "",
                            "deleted": "IsDeleted", "paper_code": ""}}


_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    (DVCQG, "2020"): {"fields_2023": False},
    (DVCQG, "2023"): {},
    (FACADE, "2020"): _facade_defaults() | {"fields_2023": False},
    (FACADE, "2023"): _facade_defaults(),
    (IGATE, "2020"): _igate_defaults() | {"fields_2023": False},
    (IGATE, "2023"): _igate_defaults(),
}

_TUPLES = {f.name for f in fields(Profile) if f.type == "tuple[str, ...]"}
_DICTS = {f.name for f in fields(Profile) if f.type.startswith("dict[")}


class ProfileError(ValueError):
    """A profile name, version or setting that cannot be used (message names which)."""


def load_profile(name: str, version: str = DEFAULT_VERSION,
                 overrides: dict[str, Any] | None = None) -> Profile:
    """The profile ``name``/``version`` with the relay's ``overrides`` applied and checked."""
    if (name, version) not in _DEFAULTS:
        raise ProfileError(f"unknown profile {name!r} version {version!r}: "
                           f"one of {PROFILE_NAMES} x {VERSIONS}")
    profile = replace(Profile(version=version), **_DEFAULTS[(name, version)])
    known = {f.name: f for f in fields(Profile)}
    values: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if key in ("name", "version") or key not in known:
            raise ProfileError(f"unknown upstream setting {key!r}")
        values[key] = _coerce(key, value, getattr(profile, key))
    profile = replace(profile, **values)
    if profile.key_case not in ("pascal", "camel"):
        raise ProfileError("key_case must be pascal or camel")
    if not 1 <= profile.steps_batch <= 1000 or not 1 <= profile.snapshot_batch <= 1000:
        raise ProfileError("batch sizes must be between 1 and 1000")
    if not 1 <= profile.filings_max <= 10_000:
        raise ProfileError("filings_max must be between 1 and 10000")
    if not 0 <= profile.filings_check_max <= 10_000:
        raise ProfileError("filings_check_max must be between 0 and 10000")
    if profile.name == IGATE and not profile.lookup_path:
        # Without the look-up by our reference, a crash after a create would create twice.
        raise ProfileError("lookup_path is required for igate")
    return profile


def _coerce(key: str, value: Any, current: Any) -> Any:
    if key in _TUPLES:
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            raise ProfileError(f"{key} must be a list of strings")
        return tuple(str(v) for v in value)
    if key in _DICTS:
        if not isinstance(value, dict):
            raise ProfileError(f"{key} must be a table")
        merged = dict(current)
        merged.update({str(k): (int(v) if isinstance(current.get(k, v), int) else str(v))
                       for k, v in value.items()})
        return merged
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ProfileError(f"{key} must be true or false")
        return value
    if isinstance(current, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProfileError(f"{key} must be a number")
        return type(current)(value)
    if not isinstance(value, str):
        raise ProfileError(f"{key} must be text")
    return value
