"""Errors the forms raise: a message key in ``forms.toml`` and the field it concerns."""

from __future__ import annotations

from ccdesk.domain.errors import CcdeskError


class FormError(CcdeskError):
    """A form that cannot be made as asked (unknown number, not applicable to the dossier,
    printer trouble). Its field is labelled by ``forms.field`` (see ``CcdeskError.field_label``)."""
