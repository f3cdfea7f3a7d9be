"""Dossier codes: ``<agency>-<yymmdd>-<nnnn>`` by default (docs/design/domain-rules.md, codes).

The pattern is configurable. Placeholders: ``{agency}``, ``{device}``, ``{yymmdd}``,
``{yyyymmdd}``, ``{seq:04}`` (any width). The sequence runs per *counter key* = the code with
the sequence left out, so the default restarts daily per agency; devices of one commune stay
unique by having their own agency code or a ``{device}`` prefix.
"""

from __future__ import annotations

import re
import string
from datetime import date

from ccdesk.domain.errors import ValidationError

DEFAULT_PATTERN = "{agency}-{yymmdd}-{seq:04}"
_ALLOWED = {"agency", "device", "yymmdd", "yyyymmdd", "seq"}
_AGENCY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,39}$")


def check_pattern(pattern: str) -> str:
    names = [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]
    if names.count("seq") != 1 or any(n not in _ALLOWED for n in names):
        raise ValidationError("core.err.code_pattern", field="code_pattern",
                              allowed=", ".join(sorted(_ALLOWED)))
    return pattern


def check_agency_code(value: str, field: str = "agency_code") -> str:
    value = value.strip()
    if not _AGENCY.match(value):
        raise ValidationError("core.err.agency_code", field=field)
    return value


def _values(agency: str, device: str, day: date) -> dict[str, str]:
    return {"agency": agency, "device": device, "yymmdd": day.strftime("%y%m%d"),
            "yyyymmdd": day.strftime("%Y%m%d")}


def counter_key(pattern: str, agency: str, device: str, day: date) -> str:
    """The code with its sequence blanked: numbers are allocated per key."""
    return re.sub(r"\{seq(:[^}]*)?\}", "#", pattern).format(**_values(agency, device, day))


def format_code(pattern: str, agency: str, device: str, day: date, seq: int) -> str:
    return pattern.format(seq=seq, **_values(agency, device, day))


def split_code(pattern: str, agency: str, device: str, code: str) -> tuple[str, int] | None:
    """The counter key and sequence number of ``code`` as :func:`format_code` made it under
    ``pattern``, or ``None`` when it is not a code of this desk (another agency or device)."""
    parts: list[str] = []
    for literal, name, _spec, _conv in string.Formatter().parse(pattern):
        parts.append(re.escape(literal))
        if name is not None:
            parts.append(_FIELD_PATTERNS[name](agency, device))
    match = re.fullmatch("".join(parts), code)
    if match is None:
        return None
    return code[:match.start("seq")] + "#" + code[match.end("seq"):], int(match["seq"])


_FIELD_PATTERNS = {
    "agency": lambda agency, _device: re.escape(agency),
    "device": lambda _agency, device: re.escape(device),
    "yymmdd": lambda _agency, _device: r"\d{6}",
    "yyyymmdd": lambda _agency, _device: r"\d{8}",
    "seq": lambda _agency, _device: r"(?P<seq>\d+)",
}
