"""The record read as it stood on the record date (as_of): facts true then but changed later are read as
they were then (or as unknown when the record cannot tell), never as their later state.

* A Condition now resolved / inactive / in remission that abated after as_of was present then.
* A course that has ended now (completed, stopped) but whose end date is after as_of was running then:
  ongoing, with no end and no stop reason from the future (the old mapping rejected the record).
* A course whose (partial) start date lies wholly after as_of is scheduled, not given.
* A result issued after as_of was not known then, whatever its effective date."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from netcds.fhir import MappingReport, bundle_to_patient
from netcds.patient import Patient
from tests.fhir.conftest import wrap
from tests.fhir.test_review_conditions import ICD, LNC, RX, SCT, coded, cond, net

AS_OF = date(2025, 6, 1)
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1960-01-15"}
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
SUBJECT = {"reference": "Patient/p1"}


def mapped(*resources: dict[str, Any], as_of: date | None = AS_OF) -> tuple[Patient, MappingReport]:
    return bundle_to_patient(wrap(PATIENT, *resources), as_of=as_of)


def reason(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


def notes(report: MappingReport, field: str) -> str:
    return " | ".join(m.note or "" for m in report.mapped if m.field == field)


def status(code: str) -> dict[str, Any]:
    return {"coding": [{"system": CLINICAL, "code": code}]}


def diabetes(clinical: str = "resolved", **extra: Any) -> dict[str, Any]:
    return cond("dm", coded(SCT, "44054006", "Diabetes mellitus type 2"), clinicalStatus=status(clinical),
                onsetDateTime="2020-01-01", **extra)  # fmt: skip


def liver_mets(clinical: str = "remission", **extra: Any) -> dict[str, Any]:
    return cond("mets", coded(ICD, "C7B.02", "Secondary carcinoid tumors of liver"),
                clinicalStatus=status(clinical), onsetDateTime="2024-01-01", **extra)  # fmt: skip


def carcinoid_syndrome(**extra: Any) -> dict[str, Any]:
    return cond("cs", coded(SCT, "35868009", "Carcinoid syndrome"), clinicalStatus=status("resolved"),
                onsetDateTime="2023-01-01", **extra)  # fmt: skip


# ---- Conditions: the clinical status now, the abatement date, the record date -----------------------------
@pytest.mark.parametrize("clinical", ["resolved", "inactive", "remission"])
def test_a_comorbidity_that_abated_after_the_record_date_was_present_then(clinical: str) -> None:
    p, report = mapped(net(), diabetes(clinical, abatementDateTime="2025-09-01"))
    assert p.comorbidities.diabetes is True
    assert "abated 2025-09-01, after the record date 2025-06-01: present then" in notes(
        report, "comorbidities.diabetes"
    )
    now, _ = mapped(net(), diabetes(clinical, abatementDateTime="2025-09-01"), as_of=None)
    assert now.comorbidities.diabetes is None  # without a record date: its status now, as before


def test_a_metastasis_in_remission_after_the_record_date_was_metastatic_disease_then() -> None:
    p, report = mapped(net(), liver_mets(abatementDateTime="2025-10-15T09:00:00Z"))
    assert p.disease.extent == "distant_metastatic" and p.disease.liver_metastases is True
    assert "after the record date 2025-06-01: present then" in notes(report, "disease.extent")


def test_a_syndrome_resolved_after_the_record_date_made_the_tumour_functional_then() -> None:
    p, _ = mapped(net(), carcinoid_syndrome(abatementPeriod={"start": "2025-07-01", "end": "2025-08-01"}))
    assert p.tumor.functional is True and p.tumor.syndromes == ["carcinoid_syndrome"]


@pytest.mark.parametrize(
    "abatement",
    [{"abatementDateTime": "2025-05-31"}, {"abatementDateTime": "2025-06-01"}, {"abatementDateTime": "2024"},
     {"abatementDateTime": "2025-05"}, {"abatementPeriod": {"start": "2025-01-01", "end": "2025-03-01"}}],
)  # fmt: skip
def test_a_condition_that_had_abated_by_the_record_date_is_not_present(abatement: dict[str, Any]) -> None:
    p, report = mapped(net(), diabetes(**abatement), liver_mets(**abatement))
    assert p.comorbidities.diabetes is None and p.disease.extent is None
    assert "not active on the record date 2025-06-01" in reason(report, "Condition/dm")
    assert "not active on the record date 2025-06-01" in reason(report, "Condition/mets")


@pytest.mark.parametrize(
    ("abatement", "said"),
    [
        ({}, "no abatement date says whether it had abated by the record date 2025-06-01"),
        ({"abatementDateTime": "2025"}, "its abatement date 2025 does not say whether it had abated"),
        ({"abatementDateTime": "2025-06"}, "its abatement date 2025-06 does not say whether it had abated"),
        ({"abatementPeriod": {"start": "2025-05-01"}}, "its abatement date 2025-05-01 to ? does not say"),
        ({"abatementString": "after surgery"}, "its abatement is given as words, not a date"),
        ({"abatementAge": {"value": 64, "unit": "a"}}, "its abatement is given as an age, not a date"),
    ],
)
def test_an_abatement_that_cannot_be_placed_against_the_record_date_leaves_it_unknown(
    abatement: dict[str, Any], said: str
) -> None:
    p, report = mapped(net(), diabetes(**abatement), liver_mets(**abatement), carcinoid_syndrome(**abatement))
    assert p.comorbidities.diabetes is None and p.disease.extent is None and p.tumor.functional is None
    for ref in ("Condition/dm", "Condition/mets", "Condition/cs"):
        why = reason(report, ref)
        assert said in why and "whether it was present on 2025-06-01 is unknown" in why


def test_an_active_status_contradicted_by_an_earlier_abatement_is_unknown() -> None:
    p, report = mapped(net(), diabetes("active", abatementDateTime="2025-01-10"))
    assert p.comorbidities.diabetes is None
    assert "conflicts with its abatement 2025-01-10" in reason(report, "Condition/dm")
    later, _ = mapped(net(), diabetes("active", abatementDateTime="2025-07-10"))
    assert later.comorbidities.diabetes is True


def test_an_abatement_without_a_clinical_status_is_read_against_the_record_date() -> None:
    before = cond("dm", coded(SCT, "44054006"), onsetDateTime="2020-01-01", abatementDateTime="2025-01-01")
    p, _ = mapped(net(), before)
    assert p.comorbidities.diabetes is None
    after = copy.deepcopy(before) | {"abatementDateTime": "2025-12-01"}
    p, _ = mapped(net(), after)
    assert p.comorbidities.diabetes is True


def test_a_refuted_or_entered_in_error_condition_is_never_present_whatever_its_abatement() -> None:
    refuted = cond("dm", coded(SCT, "44054006"), ver="refuted", abatementDateTime="2025-09-01",
                   clinicalStatus=status("resolved"))  # fmt: skip
    p, _ = mapped(net(), refuted)
    assert p.comorbidities.diabetes is False  # recorded absent, as before
    error = cond("mets", coded(ICD, "C7B.02"), ver="entered-in-error", clinicalStatus=status("resolved"),
                 abatementDateTime="2025-09-01")  # fmt: skip
    p, report = mapped(net(), error)
    assert p.disease.extent is None and "entered in error" in reason(report, "Condition/mets")


# ---- the official mCODE 4.0.0 examples -------------------------------------------------------------------
ASD = "Condition-us-core-condition-atrial-septal-defect-brian-l.json"


def test_the_mcode_resolved_condition_example_is_present_between_its_onset_and_abatement(
    mcode_dir: Path,
) -> None:
    """mCODE 4.0.0 example: an atrial septal defect murmur, resolved, onset 2021-01-02, abated 2021-02-01.
    Read as of 2021-01-15 it was present (the old mapping read its status now: not active)."""
    example = json.loads((mcode_dir / ASD).read_text(encoding="utf-8"))
    asd = copy.deepcopy(example) | {"subject": SUBJECT}
    label = "Atrial septal defect murmur (finding)"
    p, report = mapped(net(), asd, as_of=date(2021, 1, 15))
    assert p.comorbidities.other == [label]
    assert "abated 2021-02-01, after the record date 2021-01-15" in notes(report, "comorbidities.other")
    for after in (date(2021, 2, 1), date(2024, 6, 1)):
        p, report = mapped(net(), asd, as_of=after)
        assert p.comorbidities.other is None
        assert f"not active on the record date {after}" in reason(
            report, asd["resourceType"] + "/" + asd["id"]
        )
    p, _ = mapped(net(), asd, as_of=None)
    assert p.comorbidities.other is None


# ---- courses that ended after the record date ------------------------------------------------------------
def everolimus(
    kind: str, status: str, start: str, end: str | None, reason_code: str | None
) -> dict[str, Any]:
    med = coded(RX, "141704", "everolimus")
    period = {"start": start, **({"end": end} if end else {})}
    res: dict[str, Any] = {"resourceType": kind, "id": "e", "status": status, "subject": SUBJECT}
    if kind == "MedicationRequest":
        res |= {"intent": "order", "medicationCodeableConcept": med, "authoredOn": start,
                "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": period}}}]}  # fmt: skip
    elif kind == "Procedure":
        res |= {"code": {"text": "External beam radiotherapy"}, "performedPeriod": period}
    else:
        res |= {"medicationCodeableConcept": med, "effectivePeriod": period}
    if reason_code:  # a list on statements and administrations, one concept on requests and procedures
        one = coded(SCT, reason_code)
        res["statusReason"] = one if kind in ("MedicationRequest", "Procedure") else [one]
    return res


@pytest.mark.parametrize(
    "kind", ["MedicationRequest", "MedicationStatement", "MedicationAdministration", "Procedure"]
)
@pytest.mark.parametrize("status", ["completed", "stopped"])
def test_a_course_that_ended_after_the_record_date_was_ongoing_then(kind: str, status: str) -> None:
    """266721009 'no response to treatment' (progression) was given when it stopped, after the record date:
    a later fact. The old mapping wrote the later end (and stop reason) and rejected the record."""
    p, report = mapped(net(), everolimus(kind, status, "2025-01-10", "2025-08-01", "266721009"))
    [line] = p.treatments or []
    assert line.start == date(2025, 1, 10) and line.end is None and line.stop_reason is None
    assert "is after the record date 2025-06-01: read as ongoing on that day" in reason(report, f"{kind}/e")
    assert report.treatments_ended_without_end_date == []
    later, _ = mapped(net(), everolimus(kind, status, "2025-01-10", "2025-08-01", "266721009"), as_of=None)
    [line] = later.treatments or []
    assert line.end == date(2025, 8, 1) and line.stop_reason == "progression"  # read now: as before


def test_a_completed_dose_past_the_record_date_in_a_line_with_a_request_keeps_the_line_ongoing() -> None:
    """A request that ended before the record date and a completed administration running past it: one
    line, ongoing then (the old mapping wrote the administration's later end and rejected the record)."""
    request = everolimus("MedicationRequest", "completed", "2025-01-10", "2025-05-01", None)
    dose = everolimus("MedicationAdministration", "completed", "2025-05-30", "2025-06-03", None) | {"id": "a"}
    p, report = mapped(net(), request, dose)
    [line] = p.treatments or []
    assert line.start == date(2025, 1, 10) and line.end is None
    assert "end 2025-06-03 is after the record date 2025-06-01: ongoing then" in reason(
        report, "MedicationAdministration/a"
    )


@pytest.mark.parametrize("kind", ["MedicationRequest", "MedicationStatement", "Procedure"])
def test_a_course_that_ended_on_or_before_the_record_date_keeps_its_end_and_stop_reason(kind: str) -> None:
    p, _ = mapped(net(), everolimus(kind, "stopped", "2025-01-10", "2025-06-01", "266721009"))
    [line] = p.treatments or []
    assert line.end == date(2025, 6, 1) and line.stop_reason == "progression"


@pytest.mark.parametrize(("end", "ongoing"), [("2025-07", True), ("2026", True), ("2025-06", False)])
def test_a_partial_end_date_after_or_across_the_record_date(end: str, ongoing: bool) -> None:
    """Wholly after: ongoing then. Across it: whether it had ended is unknown, so its stop reason is too."""
    p, report = mapped(net(), everolimus("MedicationStatement", "stopped", "2025-01-10", end, "266721009"))
    [line] = p.treatments or []
    assert line.end is None and line.stop_reason is None
    if ongoing:
        assert report.treatments_ended_without_end_date == []
    else:
        assert report.treatments_ended_without_end_date == [0]
        assert f"its end {end} spans the record date 2025-06-01" in reason(report, "MedicationStatement/e")


@pytest.mark.parametrize("kind", ["MedicationRequest", "MedicationStatement", "Procedure"])
def test_a_course_whose_partial_start_is_after_the_record_date_is_scheduled_not_given(kind: str) -> None:
    going = "in-progress" if kind == "Procedure" else "active"
    p, report = mapped(net(), everolimus(kind, going, "2025-07", None, None))
    assert not p.treatments
    assert "starts 2025-07, after the record date 2025-06-01: scheduled, not given" in reason(
        report, f"{kind}/e"
    )


def test_a_current_drug_that_ended_after_the_record_date_was_current_then() -> None:
    drug = {"resourceType": "MedicationStatement", "id": "m", "status": "completed", "subject": SUBJECT,
            "medicationCodeableConcept": coded(RX, "29046", "lisinopril 10 MG Oral Tablet"),
            "effectivePeriod": {"start": "2024-01-01", "end": "2025-09-01"}}  # fmt: skip
    p, _ = mapped(net(), drug)
    assert p.medications == ["lisinopril"]
    before = copy.deepcopy(drug)
    before["effectivePeriod"]["end"] = "2025-05-01"
    p, _ = mapped(net(), before)
    assert not p.medications
    later = copy.deepcopy(drug) | {"status": "active", "effectivePeriod": {"start": "2025-08"}}
    p, report = mapped(net(), later)
    assert not p.medications and "not a current drug then" in reason(report, "MedicationStatement/m")


# ---- Observations: issued vs effective ---------------------------------------------------------------------
def ki67(i: str, effective: str, value: float, issued: str | None = None) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": i, "status": "final", "subject": SUBJECT,
            "code": coded(LNC, "29593-1"), "effectiveDateTime": effective,
            "valueQuantity": {"value": value, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
            **({"issued": issued} if issued else {})}  # fmt: skip


def test_a_result_issued_after_the_record_date_was_not_known_then() -> None:
    """The biopsy was taken before the record date, its Ki-67 reported after it: not known then, so the
    older result stands (the old mapping read the later report by its effective date)."""
    p, report = mapped(
        net(), ki67("old", "2024-01-10", 8), ki67("new", "2025-05-20", 25, "2025-06-10T08:00:00Z")
    )
    assert p.tumor.ki67_percent == 8
    assert "issued 2025-06-10T08:00:00Z, after the record date 2025-06-01" in reason(
        report, "Observation/new"
    )
    p, _ = mapped(net(), ki67("old", "2024-01-10", 8), ki67("new", "2025-05-20", 25, "2025-06-01T08:00:00Z"))
    assert p.tumor.ki67_percent == 25  # issued on the record date: known then
    p, _ = mapped(net(), ki67("old", "2024-01-10", 8), ki67("new", "2025-05-20", 25, "2025-06-10T08:00:00Z"),
                  as_of=None)  # fmt: skip
    assert p.tumor.ki67_percent == 25


def test_a_histology_issued_after_the_record_date_is_not_used() -> None:
    histology = {"resourceType": "Observation", "id": "h", "status": "final", "subject": SUBJECT,
                 "code": coded(LNC, "31206-6"), "effectiveDateTime": "2025-05-20", "issued": "2025-06-03T10:00:00Z",
                 "valueCodeableConcept": coded("http://terminology.hl7.org/CodeSystem/icd-o-3", "8246/3",
                                               "Neuroendocrine carcinoma, NOS")}  # fmt: skip
    primary = net()
    primary.pop("extension")
    p, report = mapped(primary, histology)
    assert p.tumor.differentiation is None
    assert "issued 2025-06-03T10:00:00Z, after the record date" in reason(report, "Observation/h")


def test_observations_entered_in_error_or_of_a_later_date_are_still_ignored() -> None:
    p, _ = mapped(
        net(), ki67("e", "2025-05-01", 30) | {"status": "entered-in-error"}, ki67("l", "2025-06-02", 40)
    )
    assert p.tumor.ki67_percent is None
