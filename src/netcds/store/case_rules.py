"""Rules a case's versions keep, shared by the REST API (``api/cases.py``) and the web pages
(``web/cases.py``): one case holds one patient's record."""

from __future__ import annotations

from typing import Any

from netcds.patient import Patient


class PatientMismatchError(ValueError):
    """A new version whose patient id (``id``) is not the one the case's earlier versions carry."""

    def __init__(self, case_id: str, stored: str | None, given: str | None) -> None:
        said = f"'{stored}'" if stored is not None else "no id"
        got = f"'{given}'" if given is not None else "no id"
        self.case_id = case_id
        self.message = (
            f"must be the case's patient id: its earlier versions have {said}, this record has {got}"
        )
        super().__init__(self.message)


def check_patient(case_id: str, stored: Any, patient: Patient) -> None:
    """One case, one patient: ``patient`` must carry the id (``stored``; none when the case's record has
    none) its earlier versions carry, or it would mix two patients' records under one case."""
    known = stored if isinstance(stored, str) else None
    if known != patient.id:
        raise PatientMismatchError(case_id, known, patient.id)
