"""Medications and radiotherapy read from FHIR (review 38): a current drug named only by an RxNorm code netcds
does not know is reported as not identified and kept for the safety screen (never "not a current drug");
a radiotherapy Procedure whose words negate it or name its planning is no course; a bad boundsPeriod date
is named by its real path."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from netcds.errors import InputError
from netcds.fhir import bundle_to_patient
from netcds.fhir.report import MappingReport
from netcds.patient import Patient
from tests.fhir.conftest import load

AS_OF = date(2025, 6, 1)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
FIXTURE = "ileal_net_ssa_progression.json"
SUBJECT = {"reference": "Patient/net-ileum-1"}
CODE_ONLY = {"coding": [{"system": RXNORM, "code": "21212"}]}  # clarithromycin, no display, no text


def mapped(*extra: dict[str, Any], bundle: dict[str, Any] | None = None) -> tuple[Patient, MappingReport]:
    data = copy.deepcopy(bundle or load(FIXTURE))
    data["entry"] += [{"resource": r} for r in extra]
    return bundle_to_patient(data, as_of=AS_OF)


def reason(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


def statement(cc: dict[str, Any], status: str = "active", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": "clari",
        "status": status,
        "subject": SUBJECT,
        "effectivePeriod": {"start": "2025-05-01"},
        "medicationCodeableConcept": cc,
        **extra,
    }


def procedure(text: str, status: str = "completed") -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": "rt",
        "status": status,
        "subject": SUBJECT,
        "code": {"text": text},
        "performedPeriod": {"start": "2024-09-01", "end": "2024-10-10"},
    }


def agents(p: Patient) -> list[str]:
    return [t.agent for t in p.treatments or []]


# ---- 2. a current drug named only by a code netcds does not know ------------------------------------------
def test_active_statement_coded_only_by_rxnorm_is_reported_as_not_identified() -> None:
    p, report = mapped(statement(CODE_ONLY))
    assert "not a current drug" not in reason(report, "MedicationStatement/clari")
    kept = [m for m in report.mapped if m.field == "medications" and "21212" in str(m.value)]
    assert len(kept) == 1
    assert kept[0].note and "drug not identified" in kept[0].note and "RxNorm code 21212" in kept[0].note
    # kept for the safety screen, which reports a name it does not know as not screened (never as safe)
    assert p.medications is not None
    assert "unidentified drug (RxNorm code 21212)" in p.medications
    assert "lisinopril" in p.medications


def test_ended_statement_coded_only_by_rxnorm_says_why_in_the_report() -> None:
    done = statement(CODE_ONLY, "completed", effectivePeriod={"start": "2024-01-01", "end": "2024-02-01"})
    p, report = mapped(done)
    why = reason(report, "MedicationStatement/clari")
    assert "drug not identified" in why and "RxNorm code 21212" in why and "not a current drug" in why
    assert not any("21212" in m for m in p.medications or [])


def test_text_named_clarithromycin_keeps_its_current_behaviour() -> None:
    p, report = mapped(statement({"text": "clarithromycin"}))
    assert p.medications is not None and "clarithromycin" in p.medications
    (row,) = [m for m in report.mapped if m.field == "medications" and m.value == "clarithromycin"]
    assert row.note == "current drug"
    assert not any("unidentified" in m for m in p.medications)


def test_unknown_code_with_a_display_is_named_by_it() -> None:
    named = {"coding": [{"system": RXNORM, "code": "21212", "display": "clarithromycin"}]}
    p, _ = mapped(statement(named))
    assert p.medications is not None and "clarithromycin" in p.medications


# ---- 3. radiotherapy words that negate it or name its planning make no course -----------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Radiotherapy planning CT simulation",
        "No radiotherapy given",
        "Radiotherapy not given",
        "External beam radiotherapy: simulation only",
    ],
)
def test_negated_or_planning_radiotherapy_procedure_is_no_course(text: str) -> None:
    p, report = mapped(procedure(text))
    assert "radiotherapy" not in agents(p)
    why = reason(report, "Procedure/rt")
    assert "not a radiotherapy course, not used" in why


def test_a_radiotherapy_course_stays_a_course() -> None:
    p, report = mapped(procedure("External beam radiotherapy to liver metastases, 30 Gy in 10 fractions"))
    assert "radiotherapy" in agents(p)
    assert not reason(report, "Procedure/rt")


def test_prrt_procedure_is_still_lu177_dotatate() -> None:
    p, _ = mapped(procedure("Lu-177 DOTATATE PRRT"))
    assert "lu177_dotatate" in agents(p)


# ---- 4. a bad boundsPeriod date is named by its path -------------------------------------------------------
@pytest.mark.parametrize(
    ("bounds", "end"),
    [({"start": "2024-01-10", "end": "2023-01-01"}, "end"), ({"start": "2024-13-40"}, "start")],
)
def test_bounds_period_error_names_its_real_path(bounds: dict[str, str], end: str) -> None:
    bundle = load(FIXTURE)
    for e in bundle["entry"]:
        if e["resource"]["resourceType"] == "MedicationRequest":
            e["resource"]["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = bounds
    with pytest.raises(InputError) as err:
        mapped(bundle=bundle)
    assert err.value.field.endswith(f".dosageInstruction[0].timing.repeat.boundsPeriod.{end}")
    assert ".b." not in err.value.field
