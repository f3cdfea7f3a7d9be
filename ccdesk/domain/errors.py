"""Errors a user can cause. Each carries a message key and the field it concerns, so every
surface (CLI, TUI, sync diagnostics) can say *what* is wrong and *where*, in the user's language."""

from __future__ import annotations

from ccdesk.i18n import t


class CcdeskError(Exception):
    """Base of the errors that are shown to a person rather than as a traceback."""

    def __init__(self, key: str, field: str | None = None, **params: object) -> None:
        self.key = key
        self.field = field
        self.params = params
        super().__init__(key)

    def message(self, lang: str | None = None) -> str:
        text = t(self.key, lang=lang, **self.params)
        if self.field:
            return f"{self.field_label(lang)}: {text}"
        return text

    def field_label(self, lang: str | None = None) -> str:
        """The label of the field: the message's own area names its own inputs
        (``reports.field.period``, ``forms.field.paper``); any other field is one of the
        dossier's, labelled once in the vocabulary (``vocab.field.*``)."""
        own = f"{self.key.partition('.')[0]}.field.{self.field}"
        label = t(own, lang=lang)
        return label if label != own else t(f"vocab.field.{self.field}", lang=lang)

    def __str__(self) -> str:
        return self.message()


class ValidationError(CcdeskError):
    """One field of user input is wrong."""


class InvalidInput(CcdeskError):
    """Several fields are wrong; ``errors`` keeps each one so a form can mark them all."""

    def __init__(self, errors: list[ValidationError]) -> None:
        self.errors = errors
        super().__init__("core.err.invalid_input", count=len(errors))

    def message(self, lang: str | None = None) -> str:
        return "\n".join(err.message(lang) for err in self.errors)


class TransitionError(CcdeskError):
    """An action that the dossier's current state does not allow."""


class NotFound(CcdeskError):
    """A dossier, officer or procedure that does not exist."""


class PermissionDenied(CcdeskError):
    """The logged-in officer's role does not allow the action. The message names the role and
    the deed in words (``core.role_name``, ``core.permission_name``), never internal codes."""

    def message(self, lang: str | None = None) -> str:
        role, permission = self.params.get("role", ""), self.params.get("permission", "")
        return t(self.key, lang=lang, **{
            **self.params, "role": _named(f"core.role_name.{role}", str(role), lang),
            "permission": _named(f"core.permission_name.{permission}", str(permission), lang)})


def _named(key: str, fallback: str, lang: str | None) -> str:
    text = t(key, lang=lang)
    return fallback if text == key else text


class StorageError(CcdeskError):
    """The database cannot be used (locked for too long, full disk, read-only, damaged)."""
