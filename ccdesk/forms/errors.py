"""Errors the forms raise: a message key in ``forms.toml`` and the field it concerns."""

from __future__ import annotations

from ccdesk.domain.errors import CcdeskError
from ccdesk.i18n import t


class FormError(CcdeskError):
    """A form that cannot be made as asked (unknown number, not applicable to the dossier,
    printer trouble). The field label comes from the forms catalogue."""

    def message(self, lang: str | None = None) -> str:
        text = t(self.key, lang=lang, **self.params)
        if self.field:
            return f"{t('forms.field.' + self.field, lang=lang)}: {text}"
        return text
