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
_DEVICE = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9.]{0,9})?$")
# What a dossier code may look like anywhere (the upstream checks the same): letters, digits,
# dots, dashes, underscores and slashes, starting with a letter or digit, no part after a slash
# starting with a dot, at most MAX_CODE characters: never a path that climbs out of a folder
# ("../../etc/passwd"), markup or a huge string.
MAX_CODE = 64
_CODE = re.compile(rf"^(?!.*/\.)[A-Za-z0-9][A-Za-z0-9._/\-]{{0,{MAX_CODE - 1}}}$")
_LITERAL = re.compile(r"^[A-Za-z0-9._/\-]*$")


def check_pattern(pattern: str) -> str:
    """A code pattern: one ``{seq}``, known placeholders, ``{agency}`` (so every code carries
    the office's own agency code and no desk can issue codes of another commune's agency),
    and only code characters in between."""
    try:
        parts = list(string.Formatter().parse(pattern))
    except ValueError:
        parts = [("{", "?", "", None)]
    names = [f for _, f, _, _ in parts if f is not None]
    literals_ok = all(_LITERAL.fullmatch(literal) for literal, _f, _s, _c in parts)
    if names.count("seq") != 1 or "agency" not in names or not literals_ok \
            or any(n not in _ALLOWED for n in names) or not is_valid_code(
                pattern.format(seq=1, **_values("000.00.00.H00", "A", date(2026, 1, 1)))):
        raise ValidationError("core.err.code_pattern", field="code_pattern",
                              allowed=", ".join(sorted(_ALLOWED)))
    return pattern


def check_device_prefix(value: str) -> str:
    """The ``{device}`` part of codes: up to 10 letters, digits or dots."""
    value = value.strip()
    if not _DEVICE.fullmatch(value):
        raise ValidationError("core.err.agency_code", field="device_prefix")
    return value


def is_valid_code(code: str) -> bool:
    """Whether ``code`` is shaped like a dossier code (never a path, markup or a huge string)."""
    return bool(_CODE.fullmatch(code))


def check_office_codes(agency: str, commune: str, enrolled_agency: str | None) -> None:
    """Once a desk is enrolled for a commune, its agency code is that commune's: changing it
    would issue codes under another agency. IT re-enrols the desk to change it."""
    if commune and enrolled_agency and agency != enrolled_agency:
        raise ValidationError("reliability.security.agency_bound", field="agency_code",
                              agency=enrolled_agency, commune=commune)


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
    """The code; refused if it would not be a valid code (a pattern or agency stored before
    these checks, or a sequence past what the pattern can hold)."""
    code = pattern.format(seq=seq, **_values(agency, device, day))
    if not is_valid_code(code):
        raise ValidationError("core.err.code_pattern", field="code_pattern",
                              allowed=", ".join(sorted(_ALLOWED)))
    return code


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
