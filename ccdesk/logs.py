"""Logging: JSON lines under ``<data dir>/logs``, with personal data redacted.

The desk holds citizens' names, ID numbers and phones; none of them may reach a log file, an error
report or a terminal traceback. Three layers keep them out, each applied by :class:`RedactingFilter`
on every handler (so third-party loggers are covered too):

* SQLAlchemy's parameter logs and the ``[parameters: …]`` block of its exceptions are dropped
  whole: they carry the values of every column written.
* ID numbers (9/12 digits, passports), phones and e-mail addresses are masked by pattern.
* Vietnamese full names (two or more capitalised words starting with a common family name) are
  masked by a heuristic; code must still never log names on purpose — log codes and ids instead.

``CCDESK_LOG_LEVEL`` (``DEBUG``, ``INFO`` default, ``WARNING``…) sets the level; at ``DEBUG`` the
SQL statements are logged too (without their parameters).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from ccdesk.paths import Paths, ensure_private_dir
from ccdesk.text import fold

LOG_FILENAME = "ccdesk.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUP_COUNT = 5
_HANDLER_NAME = "ccdesk-json"

# Family names covering the great majority of Vietnamese people (folded: no accents, lower case).
FAMILY_NAMES = frozenset(
    "nguyen tran le pham hoang huynh phan vu vo dang bui do ho ngo duong ly dao dinh mai truong "
    "lam luong ha ta to cao kieu doan vuong trinh chu luu quach thai chau mac la lai tang thach "
    "khuc au ong kim giang hua la ton diep ninh nong trieu quan".split()
)
_SQL_PARAMS = re.compile(r"\[parameters: .*?\](?=\s*(?:\n|\(Background|$))", re.S)
_EMAIL = re.compile(r"[^\s@'\"(<\[]+@[^\s@'\")>\]]+\.[^\s@'\")>\]]+")
_PHONE = re.compile(r"(?<![\w.])(?:\+?84|0)[\s.\-]?\d(?:[\s.\-]?\d){7,9}(?![\w])")
_ID_DIGITS = re.compile(r"(?<![\w.\-])(?:\d{12}|\d{9}|\d{3}[ .]\d{3}[ .]\d{3}(?:[ .]\d{3})?)"
                        r"(?![\w\-])")
_PASSPORT = re.compile(r"(?<![\w])[A-Z]\d{7,8}(?![\w])")
_WORDS = re.compile(r"[^\W\d_]+(?:[ \t]+[^\W\d_]+)+")


def _capitalised(word: str) -> bool:
    return word[:1].isupper() and (word[1:].islower() or word[1:].isupper() or len(word) == 1)


def _mask_names(run: re.Match[str]) -> str:
    words = run.group(0).split()
    out: list[str] = []
    i = 0
    while i < len(words):
        j = i
        if fold(words[i]) in FAMILY_NAMES:
            while j < len(words) and _capitalised(words[j]):
                j += 1
        if j - i >= 2:
            out.append("<name>")
            i = j
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)


def redact(text: str) -> str:
    """Mask names, ID numbers, phones and e-mails in ``text`` (see the module's docstring)."""
    text = _SQL_PARAMS.sub("[parameters: <redacted>]", text)
    text = _EMAIL.sub("<email>", text)
    text = _PHONE.sub("<phone>", text)
    text = _ID_DIGITS.sub("<id>", text)
    text = _PASSPORT.sub("<id>", text)
    return _WORDS.sub(_mask_names, text)


_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


def _extras(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


def _redact_value(value: object) -> object:
    """Redact strings wherever they sit in an extra field (lists, dicts…); keep numbers."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, dict):
        return {str(k): _redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_redact_value(v) for v in value]
    return redact(str(value))


class RedactingFilter(logging.Filter):
    """Rewrites each record so no personal data leaves it (message, extras, traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("sqlalchemy.engine") and record.args:
            # "[generated in …] (params…)": the parameters are column values, i.e. people.
            record.msg, record.args = "[SQL parameters redacted]", ()
        record.msg, record.args = redact(record.getMessage()), ()
        for key, value in _extras(record).items():
            setattr(record, key, _redact_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info))
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts`` (UTC), ``level``, ``logger``, ``msg``, extras, ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_extras(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        import orjson  # at the first line logged: a start that logs nothing is spared it

        return orjson.dumps(entry, default=str).decode()


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file created owner-only (0600) whatever the umask."""

    def _open(self):  # noqa: ANN202 - a text stream, as the base class returns
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(fd, self.mode, encoding=self.encoding, errors=self.errors)


def _level(value: str | None) -> int:
    level = logging.getLevelName((value or "INFO").upper())
    return level if isinstance(level, int) else logging.INFO


def setup_logging(paths: Paths, level: str | None = None) -> Path | None:
    """Send every log record to ``<logs dir>/ccdesk.log`` as redacted JSON lines.

    Idempotent. Returns the log file, or ``None`` when the folder cannot be written (the desk
    keeps working without a log rather than refusing to start).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
            handler.close()
    log_file = paths.logs_dir / LOG_FILENAME
    try:
        ensure_private_dir(paths.logs_dir)
        handler = PrivateRotatingFileHandler(log_file, maxBytes=MAX_BYTES,
                                             backupCount=BACKUP_COUNT, encoding="utf-8")
    except OSError:
        return None
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    chosen = _level(level or os.environ.get("CCDESK_LOG_LEVEL"))
    root.setLevel(chosen)
    # SQL statements only when debugging; their parameters are dropped by the filter anyway.
    logging.getLogger("sqlalchemy.engine").setLevel(
        logging.INFO if chosen <= logging.DEBUG else logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # start-up noise
    install_crash_handler(log_file)
    return log_file


def shutdown_logging() -> None:
    """Detach and close the log file (tests, and a clean exit); restore the excepthook."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
            handler.close()
    sys.excepthook = getattr(sys.excepthook, "__wrapped__", sys.excepthook)


def install_crash_handler(log_file: Path) -> None:
    """Replace the traceback of an unexpected error by a short message naming the log file;
    the (redacted) traceback goes to the log. ``CCDESK_TRACEBACK=1`` shows it as well."""
    # Wrap the interpreter's own hook once, however often logging is set up.
    previous = getattr(sys.excepthook, "__wrapped__", sys.excepthook)

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, exc, tb)
            return
        logging.getLogger("ccdesk.crash").critical("unexpected error", exc_info=(kind, exc, tb))
        from ccdesk.i18n import t

        sys.stderr.write(t("reliability.log.crash", kind=kind.__name__, file=str(log_file)) + "\n")
        if os.environ.get("CCDESK_TRACEBACK") == "1":
            sys.stderr.write(redact("".join(traceback.format_exception(kind, exc, tb))))

    hook.__wrapped__ = previous  # type: ignore[attr-defined]
    sys.excepthook = hook
