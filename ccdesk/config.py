"""Machine-level settings in ``config.toml`` (the office's own headers live in the database).

Example::

    language = "vi"            # vi | en
    idle_lock_minutes = 10
    printer = ""               # CUPS queue name; empty = save PDFs under the data dir
    citizen_rating_seconds = 60  # wait for the citizen's rating before the officer's own
    queue_tickets = false      # queue tickets and the now-serving board (off by default)
    receipt_printer = ""       # CUPS queue of the 80 mm receipt printer for tickets
    form_paper = ""            # A4 | A5 for the counter's papers; empty = as the circular lays
                               # them out (A5; the register A4)
    upstream_url = ""          # the commune's upstream TTHC system (sync)
    scan_folder = ""           # the folder a network scanner writes into (digitised papers)
    usb_roots = []             # where USB sticks are mounted; [] = /media/$USER, /run/media/$USER
    scanner_device = ""        # SANE device name for scanimage; empty = its default scanner
    scan_format = "jpeg"       # jpeg | png | pdf
    sync_retention_days = 90   # keep acknowledged outbox rows this long; 0 = forever
    theme = "textual-dark"
    [national_db]              # checks in the national population database (docs/verification.md)
    url = ""                   # the province's integration platform; empty = not configured
    password_env = "CCDESK_NATIONAL_DB_PASSWORD"   # or password_file = an owner-only file
    [office_hours]
    morning = ["07:30", "11:30"]
    afternoon = ["13:30", "17:00"]
    same_day_cutoff = "15:00"
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import asdict, dataclass, field
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccdesk.domain.errors import ValidationError

if TYPE_CHECKING:
    from ccdesk.domain.calendar import OfficeHours


@dataclass
class Config:
    language: str = "vi"
    idle_lock_minutes: int = 10
    printer: str = ""
    form_paper: str = ""       # "" = the circular's sheet per form (docs/forms.md, "Paper size")
    upstream_url: str = ""
    # Days an acknowledged outbox row is kept, so a district restored from an older backup can
    # be sent it again (SF-SERVER-RESTORED); then ``sync run`` drops it. 0 keeps every row forever.
    sync_retention_days: int = 90
    theme: str = "textual-dark"
    # Seconds the desk waits for the citizen's own rating (tablet page or USB keypad) before
    # the officer's 1/2/3 (docs/tui.md, "The citizen rates").
    citizen_rating_seconds: int = 60
    # Queue tickets for the waiting room (docs/tui.md, "Queue tickets"): off unless the office
    # turns them on; receipt_printer is the CUPS queue of the 80 mm ticket printer.
    queue_tickets: bool = False
    receipt_printer: str = ""
    # Digitised papers (docs/attachments.md, "Sources"): the folder a network scanner writes
    # into, where USB sticks are mounted (empty: the desktop's own places), and SANE's scanner.
    scan_folder: str = ""
    usb_roots: list[str] = field(default_factory=list)
    scanner_device: str = ""
    scan_format: str = "jpeg"
    office_hours: dict[str, Any] = field(default_factory=dict)
    # The national-database checker (url, username, password_env or password_file, timeout_s;
    # ccdesk/services/national_client.py, docs/verification.md); empty = not configured.
    national_db: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Config:
        if not path.exists():
            return cls()
        import tomllib  # only with a file to read: the login screen is painted sooner without

        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValidationError("core.err.toml_syntax", file=str(path), detail=str(exc)) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError("core.err.toml_syntax", file=str(path),
                                  detail=type(exc).__name__) from exc
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        defaults = cls()
        for key, value in known.items():
            # A wrong type would only fail later, far from the file: say which key now.
            default = getattr(defaults, key)
            if default is not None and type(value) is not type(default):
                kind = type(default).__name__
                known_kind = kind in ("str", "int", "dict")
                raise ValidationError(f"reliability.err.config_{kind if known_kind else 'type'}",
                                      file=str(path), name=key)
        config = cls(**known)
        if config.office_hours:  # validate now (the defaults need no check, nor the calendar)
            config.hours()
        if not all(isinstance(root, str) for root in config.usb_roots):
            raise ValidationError("reliability.err.config_type", file=str(path),
                                  name="usb_roots")
        for name in ("sync_retention_days", "citizen_rating_seconds"):
            if getattr(config, name) < 0:
                raise ValidationError("reliability.err.config_not_negative", file=str(path),
                                      name=name)
        return config

    def save(self, path: Path) -> None:
        """Write the settings into ``path``, changing only the values that changed: the user's
        comments, layout and keys ccdesk does not know stay as they were."""
        import tomlkit
        from tomlkit.exceptions import TOMLKitError

        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            document = tomlkit.parse(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            document = tomlkit.document()
        except (TOMLKitError, UnicodeDecodeError) as exc:
            # Edited into a broken file since the desk read it: never write over it.
            raise ValidationError("core.err.toml_syntax", file=str(path), detail=str(exc)) from exc
        _merge(document, asdict(self))
        path.write_text(tomlkit.dumps(document), encoding="utf-8")

    def hours(self) -> OfficeHours:
        # Imported here: the login screen reads the config before its first paint, and the
        # calendar's modules are not needed for it (start-up time, docs/tui.md).
        from ccdesk.domain.calendar import OfficeHours

        raw = self.office_hours
        try:
            defaults = OfficeHours()
            morning = raw.get("morning", [defaults.morning_start, defaults.morning_end])
            afternoon = raw.get("afternoon", [defaults.afternoon_start, defaults.afternoon_end])
            cutoff = raw.get("same_day_cutoff", defaults.same_day_cutoff)
            return OfficeHours(_time(morning[0]), _time(morning[1]), _time(afternoon[0]),
                               _time(afternoon[1]), _time(cutoff))
        except (TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
            raise ValidationError("core.err.office_hours", field="office_hours") from exc


def _merge(table: MutableMapping[str, Any], values: dict[str, Any]) -> None:
    """Set each changed value in ``table`` (a tomlkit document or table), leaving the rest."""
    for key, value in values.items():
        current = table.get(key)
        if isinstance(value, dict) and isinstance(current, MutableMapping):
            _merge(current, value)
        elif value == {} and key not in table:
            continue  # a section left at its default is not written as an empty table
        elif key not in table or current != value:
            table[key] = value


def _time(value: object) -> time:
    if isinstance(value, time):
        return value
    return time.fromisoformat(str(value))
