"""Form templates: one function per form, each building a :class:`FormDocument` from stored data.

``build(kind, record, regime, words)`` picks the template for a dossier form; the register is
built by :func:`ccdesk.forms.templates.sheets.register` from a list of dossiers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ccdesk.domain.lifecycle import Regime
from ccdesk.forms.data import DossierRecord
from ccdesk.forms.document import FormDocument, Paper
from ccdesk.forms.errors import FormError
from ccdesk.forms.kinds import FormKind, default_paper
from ccdesk.forms.templates import intake, letters, sheets
from ccdesk.forms.words import Words

Template = Callable[[DossierRecord, Regime, Words], FormDocument]

TEMPLATES: dict[FormKind, Template] = {
    FormKind.SLIP: intake.slip,
    FormKind.SUPPLEMENT: intake.supplement,
    FormKind.REFUSAL: intake.refusal,
    FormKind.EXTENSION: letters.extension,
    FormKind.STOP: letters.stop,
    FormKind.CONTROL: sheets.control,
}


def build(kind: FormKind, record: DossierRecord, regime: Regime, words: Words,
          paper: Paper | None = None) -> FormDocument:
    """The document of form ``kind`` for one dossier, on ``paper`` (default: the sheet the
    circular lays the form out for); the register is not a dossier form."""
    template = TEMPLATES.get(kind)
    if template is None:
        raise FormError("forms.err.register_not_dossier", field="form")
    return replace(template(record, regime, words), paper=paper or default_paper(kind))
