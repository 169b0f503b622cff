"""FHIR R4 resource ids (``[A-Za-z0-9\\-.]{1,64}``, https://hl7.org/fhir/R4/datatypes.html#id): the one
pattern the hooks' ``context.userId`` check, the SMART launch's patient and the Medications read by
reference use."""

from __future__ import annotations

import re

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # used with fullmatch (no trailing newline)


def is_fhir_id(value: str) -> bool:
    """A FHIR R4 id that is safe in a request path (``.`` and ``..`` would change the path)."""
    return FHIR_ID.fullmatch(value) is not None and value not in (".", "..")
