"""Which form number means what, in each legal regime (docs/design/domain-rules.md, forms).

Circular 03/2025/TT-VPCP numbers seven forms (Mẫu 01-07) and adds the notice of stopping;
Circular 01/2018/TT-VPCP numbers six (Mẫu 01-06) and has no stop notice, so its control sheet is
Mẫu 05 and its register Mẫu 06.
"""

from __future__ import annotations

from enum import StrEnum

from ccdesk.domain.errors import ValidationError
from ccdesk.domain.lifecycle import Regime
from ccdesk.forms.document import Paper
from ccdesk.forms.errors import FormError


class FormKind(StrEnum):
    SLIP = "slip"                    # Giấy tiếp nhận hồ sơ và hẹn trả kết quả
    SUPPLEMENT = "supplement"        # Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ
    REFUSAL = "refusal"              # Phiếu từ chối tiếp nhận giải quyết hồ sơ
    EXTENSION = "extension"          # Phiếu xin lỗi và hẹn lại ngày trả kết quả
    STOP = "stop"                    # Thông báo dừng giải quyết hồ sơ (2025 only)
    CONTROL = "control"              # Phiếu kiểm soát quá trình giải quyết hồ sơ
    REGISTER = "register"            # Sổ theo dõi hồ sơ


FORM_IDS: dict[Regime, dict[str, FormKind]] = {
    Regime.R2025: {"01": FormKind.SLIP, "02": FormKind.SUPPLEMENT, "03": FormKind.REFUSAL,
                   "04": FormKind.EXTENSION, "05": FormKind.STOP, "06": FormKind.CONTROL,
                   "07": FormKind.REGISTER},
    Regime.R2018: {"01": FormKind.SLIP, "02": FormKind.SUPPLEMENT, "03": FormKind.REFUSAL,
                   "04": FormKind.EXTENSION, "05": FormKind.CONTROL, "06": FormKind.REGISTER},
}


def parse_regime(value: str | Regime) -> Regime:
    """``"2018"``/``"2025"`` -> :class:`Regime`, or a message naming the field."""
    try:
        return Regime(str(value).strip())
    except ValueError as exc:
        raise ValidationError("core.err.choice", field="regime",
                              allowed=", ".join(r.value for r in Regime)) from exc


def form_kind(form_id: str, regime: Regime) -> FormKind:
    """The meaning of ``form_id`` ("1", "01", "Mẫu 01" all work) in ``regime``."""
    digits = "".join(ch for ch in str(form_id) if ch.isdigit())
    key = digits.zfill(2) if digits else str(form_id)
    kinds = FORM_IDS[regime]
    if key not in kinds:
        raise FormError("forms.err.unknown_form", field="form", form=form_id,
                              regime=regime.value, allowed=", ".join(kinds))
    return kinds[key]


def form_id_of(kind: FormKind, regime: Regime) -> str:
    """The number ``kind`` carries in ``regime``; the stop notice has none under 2018."""
    for key, value in FORM_IDS[regime].items():
        if value == kind:
            return key
    raise FormError("forms.err.not_in_regime", field="form", kind=kind.value,
                          regime=regime.value)


def default_paper(kind: FormKind) -> Paper:
    """The sheet a form is laid out for: the counter's slips and letters on A5, the register on
    A4 (Circular 01/2018/TT-VPCP designs Mẫu 01-05 for A5; Circular 03/2025 renumbers the same
    texts: docs/forms.md, "Paper size")."""
    return Paper.A4 if kind == FormKind.REGISTER else Paper.A5


def parse_paper(value: str | Paper) -> Paper:
    """``"a5"``/``"A4"`` -> :class:`Paper`, or a message naming the field."""
    try:
        return Paper(str(value).strip().upper())
    except ValueError as exc:
        raise FormError("forms.err.bad_paper", field="paper", value=value,
                        allowed=", ".join(p.value for p in Paper)) from exc
