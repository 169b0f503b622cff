"""With a record date (as_of), Conditions whose onset or recorded date lies after it are set aside and
reported, as Observations dated after it are: the record is read as it stood on that day. So are current
drugs (outside the agent table) whose course starts after it, as tabled agents' courses already were.
Without as_of nothing is filtered. Real mCODE 4.0.0 examples and small constructed bundles."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from netcds.fhir import FhirMappingError, MappingReport, bundle_to_patient, prefetch_to_patient
from netcds.patient import Patient
from tests.fhir.conftest import wrap
from tests.fhir.test_prefetch import as_prefetch
from tests.fhir.test_review_conditions import ICD, SCT, coded, cond, net

AS_OF = date(2025, 6, 1)
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1960-01-15"}
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"


def mapped(*resources: dict[str, Any], as_of: date | None = AS_OF) -> tuple[Patient, MappingReport]:
    return bundle_to_patient(wrap(PATIENT, *resources), as_of=as_of)


def reason(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


def diabetes(**dates: Any) -> dict[str, Any]:
    return cond("dm", coded(SCT, "44054006", "Diabetes mellitus type 2"), **dates)


def liver_mets(**dates: Any) -> dict[str, Any]:
    return cond("mets", coded(ICD, "C7B.02", "Secondary carcinoid tumors of liver"), **dates)


# ---- constructed bundles ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("dates", "said"),
    [
        ({"onsetDateTime": "2025-07-02"}, "onset 2025-07-02"),
        ({"onsetDateTime": "2025-06-01T23:30:00+02:00"}, None),  # that day: not after
        ({"onsetDateTime": "2025-06"}, None),  # a partial date is after only if its first day is
        ({"onsetDateTime": "2025-07"}, "onset 2025-07"),
        ({"onsetPeriod": {"start": "2025-08-01"}}, "onset 2025-08-01"),
        ({"onsetPeriod": {"end": "2025-08-01"}}, None),  # began before it ended: not known to be after
        ({"recordedDate": "2025-06-02"}, "recorded 2025-06-02"),
        ({"onsetDateTime": "2020-01-01", "recordedDate": "2026"}, "recorded 2026"),  # not in the record yet
        ({"onsetString": "in the summer of 2030"}, None),  # words are no date
        ({}, None),  # undated: kept
    ],
)
def test_a_comorbidity_dated_after_the_record_date_is_set_aside(
    dates: dict[str, Any], said: str | None
) -> None:
    p, report = mapped(net(), diabetes(**dates))
    why = reason(report, "Condition/dm")
    if said is None:
        assert p.comorbidities.diabetes is True and "record date" not in why
    else:
        assert p.comorbidities.diabetes is None
        assert why == f"dated after the record date 2025-06-01 ({said}): not used"
    later, _ = mapped(net(), diabetes(**dates), as_of=None)  # without a record date: nothing set aside
    assert later.comorbidities.diabetes is True


def test_a_metastasis_dated_after_the_record_date_does_not_make_the_disease_metastatic() -> None:
    p, report = mapped(net(), liver_mets(onsetDateTime="2025-09-10"))
    assert p.disease.extent is None and p.disease.liver_metastases is None
    assert "dated after the record date 2025-06-01 (onset 2025-09-10)" in reason(report, "Condition/mets")
    before, _ = mapped(net(), liver_mets(onsetDateTime="2025-05-10"))
    assert before.disease.extent == "distant_metastatic" and before.disease.liver_metastases is True


def test_a_primary_recorded_after_the_record_date_is_no_primary_and_the_error_says_why() -> None:
    with pytest.raises(FhirMappingError) as err:
        mapped(net(recordedDate="2025-06-15"))
    assert err.value.field == "tumor.primary_site"
    assert "no primary cancer condition dated on or before the record date 2025-06-01" in err.value.message
    assert "Condition/net dated after it" in err.value.message
    assert "recorded 2025-06-15" in reason(err.value.report, "Condition/net")
    p, _ = mapped(net(recordedDate="2025-06-15"), as_of=date(2025, 6, 15))
    assert p.tumor.primary_site == "ileum"


def _statement(start: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement", "id": "met", "status": "active",
        "medicationCodeableConcept": {"coding": [{"system": RX, "code": "860975",
                                                  "display": "metformin hydrochloride 500 MG Oral Tablet"}]},
        "subject": {"reference": "Patient/p1"}, "effectivePeriod": {"start": start},
    }  # fmt: skip


def test_a_current_drug_started_after_the_record_date_is_not_current_then() -> None:
    p, report = mapped(net(), _statement("2025-07-01"))
    assert p.medications is None
    assert "starts 2025-07-01, after the record date 2025-06-01" in reason(report, "MedicationStatement/met")
    p, _ = mapped(net(), _statement("2025-05-01"))
    assert p.medications == ["metformin"]
    p, _ = mapped(net(), _statement("2025-07-01"), as_of=None)
    assert p.medications == ["metformin"]


def test_the_prefetch_sets_the_same_conditions_aside() -> None:
    bundle = wrap(PATIENT, net(), diabetes(onsetDateTime="2025-07-02"), liver_mets(recordedDate="2025-12-01"))
    a, report_a = bundle_to_patient(copy.deepcopy(bundle), as_of=AS_OF)
    b, report_b = prefetch_to_patient(as_prefetch(bundle), as_of=AS_OF)
    assert a == b and a.comorbidities.diabetes is None and a.disease.extent is None
    for report in (report_a, report_b):
        assert "(onset 2025-07-02)" in reason(report, "Condition/dm")
        assert "(recorded 2025-12-01)" in reason(report, "Condition/mets")


# ---- the official mCODE 4.0.0 examples -------------------------------------------------------------------
def test_mcode_brain_metastasis_counts_only_from_its_onset(mcode_examples: dict[str, dict[str, Any]]) -> None:
    john = mcode_examples["Patient-cancer-patient-john-anyperson.json"]
    mets = copy.deepcopy(mcode_examples["Condition-secondary-cancer-condition-brain-mets.json"])  # 2019-05-01
    mets.pop("extension")  # its link to the example's NSCLC primary: here it is the NET's metastasis
    chf = mcode_examples["Condition-john-anyperson-chf.json"]  # undated: kept
    primary = net(subject={"reference": "Patient/cancer-patient-john-anyperson"})
    bundle = wrap(john, primary, mets, chf)
    p, report = bundle_to_patient(copy.deepcopy(bundle), as_of=date(2019, 1, 1))
    assert p.disease.extent is None
    assert p.comorbidities.heart_failure is True
    assert reason(report, f"Condition/{mets['id']}") == (
        "dated after the record date 2019-01-01 (onset 2019-05-01): not used"
    )
    p, report = bundle_to_patient(copy.deepcopy(bundle), as_of=AS_OF)
    assert p.disease.extent == "distant_metastatic"
    assert "record date" not in reason(report, f"Condition/{mets['id']}")


def test_mcode_jenny_m_bundle_read_before_her_diagnosis(mcode_examples: dict[str, dict[str, Any]]) -> None:
    bundle = mcode_examples["Bundle-mcode-patient-bundle-jenny-m.json"]
    with pytest.raises(FhirMappingError) as err:  # before the 2018 diagnosis: no primary cancer yet
        bundle_to_patient(copy.deepcopy(bundle), as_of=date(2010, 1, 1))
    assert "dated on or before the record date 2010-01-01" in err.value.message
    report = err.value.report
    assert "(onset 2018-03-16)" in reason(report, "Condition/primary-cancer-condition-jenny-m")
    drug = "MedicationRequest/cancer-related-medication-request-anastrozole-jenny-m"
    assert "after the record date 2010-01-01" in reason(report, drug)
    with pytest.raises(FhirMappingError) as now:  # a breast cancer: refused as not neuroendocrine, as before
        bundle_to_patient(copy.deepcopy(bundle), as_of=AS_OF)
    assert "not a neuroendocrine neoplasm" in now.value.message
    # nothing is dated after the record date; her 2018 weight is reported as too old to stand for it
    assert not any("after the record date" in u.reason for u in now.value.report.unmapped)
    assert "too old to stand for it" in reason(now.value.report, "Observation/bodyweight-jenny-m-2018-03-16")


def test_mcode_comorbidity_conditions_by_onset(mcode_examples: dict[str, dict[str, Any]]) -> None:
    jenny = mcode_examples["Patient-cancer-patient-jenny-m.json"]
    hypertension = mcode_examples["Condition-us-core-condition-hypertension-jenny-m.json"]  # onset 2012
    depression = mcode_examples["Condition-us-core-condition-depression-jenny-m.json"]  # onset 2005
    primary = net(subject={"reference": "Patient/cancer-patient-jenny-m"})
    _, report = bundle_to_patient(wrap(jenny, primary, hypertension, depression), as_of=date(2010, 1, 1))
    assert "(onset 2012-01-01): not used" in reason(report, f"Condition/{hypertension['id']}")
    assert "record date" not in reason(report, f"Condition/{depression['id']}")
    assert any(m.from_.startswith(f"Condition/{depression['id']}") for m in report.mapped)
