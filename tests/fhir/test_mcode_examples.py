"""The official mCODE 4.0.0 IG examples (npm hl7.fhir.us.mcode@4.0.0) map without error.

None of them is a neuroendocrine tumour, so each gives either a Patient or an
InputError naming ``tumor.primary_site`` -- never a traceback -- and the report
accounts for every resource. Concrete mappings are spot-checked, and John
Anyperson's official resources are combined with a NET primary to give a Patient.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from netcds.errors import InputError
from netcds.fhir import FhirMappingError, MappingReport, bundle_to_patient
from tests.fhir.conftest import wrap

AS_OF = date(2025, 6, 1)


def report_of(bundle: dict[str, Any], as_of: date = AS_OF) -> tuple[Any, MappingReport, InputError | None]:
    try:
        p, report = bundle_to_patient(bundle, as_of=as_of)
    except FhirMappingError as err:
        report = err.report if err.report is not None else MappingReport()
        return None, report, err
    return p, report, None


def mentioned(report: MappingReport) -> set[str]:
    text = " ".join([f"{m.from_} {m.note}" for m in report.mapped] + [u.resource for u in report.unmapped])
    return {tok.rstrip("];,)") for tok in text.split()}


def mapped_values(report: MappingReport, field: str) -> list[Any]:
    return [m.value for m in report.mapped if m.field == field]


def test_every_official_example_maps_or_names_the_missing_field(
    mcode_examples: dict[str, dict[str, Any]],
) -> None:
    outcomes: dict[str, int] = {}
    for name, resource in mcode_examples.items():
        bundle = resource if resource["resourceType"] == "Bundle" else wrap(resource)
        _, report, err = report_of(bundle)
        key = "patient" if err is None else err.field
        outcomes[key] = outcomes.get(key, 0) + 1
        assert err is None or err.field == "tumor.primary_site", (name, err)
        refs = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
        assert refs <= mentioned(report), (name, refs - mentioned(report))
    assert outcomes == {"tumor.primary_site": len(mcode_examples)}


def test_jenny_m_bundle(mcode_examples: dict[str, dict[str, Any]]) -> None:
    bundle = copy.deepcopy(mcode_examples["Bundle-mcode-patient-bundle-jenny-m.json"])
    [weight] = [
        e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "bodyweight-jenny-m-2018-03-16"
    ]
    # was 2018-03-06: a weight stands 30 days before the record date (netcds.fhir.recency.FRESH_DAYS)
    weight["effectiveDateTime"] = "2025-05-15"
    p, report, err = report_of(bundle)
    assert p is None and err is not None
    assert "not a neuroendocrine neoplasm" in err.message and "duct carcinoma" in err.message
    f = report.fields()
    assert f["sex"] == "female"
    assert f["disease.status"] == "stable"  # SNOMED 268910001 improved: not progressing
    assert f["disease.extent"] == "localized"  # cT3 cN0 cM0
    assert f["weight_kg"] == pytest.approx(70.31, abs=0.01)  # 155 [lb_av]
    assert f["comorbidities.interstitial_lung_disease"] is False  # 'disorder of lung' recorded absent
    assert sorted(mapped_values(report, "medications")) == ["anastrozole", "cyclophosphamide", "doxorubicin",
                                                            "paclitaxel"]  # fmt: skip
    [rt] = mapped_values(report, "treatments[0]")
    assert rt == {"agent": "radiotherapy", "start": "2018-08-15", "end": "2018-10-25"}
    reasons = {u.resource: u.reason for u in report.unmapped}
    assert "outside the plausible range" in reasons["Observation/us-core-observation-lab-neutrophils-jenny-m"]
    assert "PALB2" in reasons["Observation/genomic-variant-jenny-m"]
    assert "stage group" in reasons["Observation/tnm-clinical-stage-group-jenny-m"]
    assert any("not in the input" in u.reason for u in report.unmapped
               if u.resource == "Observation/cancer-related-comorbidities-jenny-m")  # fmt: skip


def test_genomics_bundle_tmb(mcode_examples: dict[str, dict[str, Any]]) -> None:
    _, report, err = report_of(mcode_examples["Bundle-gx-genomic-bundle-adam-anyperson.json"])
    assert err is not None and err.field == "tumor.primary_site"
    assert report.fields()["biomarkers.tmb_mut_per_mb"] == 57.1
    reasons = {u.resource: u.reason for u in report.unmapped}
    assert "not a gene netcds uses" in reasons["Observation/gx-genomic-variant-somatic-bap1-indel"]
    assert (
        "not a gene netcds uses" in reasons["Observation/gx-genomic-variant-pertinent-negative-nras-kit-braf"]
    )


# a weight or a lab value stands only within 30 days of the record date (netcds.fhir.recency.FRESH_DAYS):
# these official examples are read on the day they were measured
ON = {
    "Observation-bodyweight-jenny-m-2018-04-22.json": date(2018, 4, 22),
    "Observation-hemoglobin-brian-l.json": date(2024, 1, 4),
}


@pytest.mark.parametrize(
    ("example", "field", "value"),
    [
        ("Observation-gx-genomic-msi.json", "biomarkers.msi", "high"),
        ("Observation-cancer-disease-status-improved.json", "disease.status", "stable"),
        ("Observation-histologic-grade-intermediate.json", "tumor.grade", "G2"),
        ("Observation-bodyweight-jenny-m-2018-04-22.json", "weight_kg", 68.04),
        ("Observation-hemoglobin-brian-l.json", "comorbidities.hemoglobin_g_dl", 6.7),
        ("Condition-john-anyperson-chf.json", "comorbidities.heart_failure", True),
        ("Condition-secondary-cancer-condition-brain-mets.json", "disease.extent", "distant_metastatic"),
        ("Observation-tnm-clinical-distant-metastases-category-cM0.json", None, None),
    ],
)
def test_single_official_resources(mcode_examples: dict[str, dict[str, Any]], example: str, field: str | None,
                                   value: Any) -> None:  # fmt: skip
    _, report, err = report_of(wrap(mcode_examples[example]), as_of=ON.get(example, AS_OF))
    assert err is not None and err.field == "tumor.primary_site"
    if field is None:  # M0 alone does not settle the extent
        assert not report.mapped
        assert "does not settle" in report.unmapped[0].reason
    else:
        assert report.fields()[field] == value


def test_official_cisplatin_stopped_for_toxicity(mcode_examples: dict[str, dict[str, Any]]) -> None:
    _, report, _ = report_of(
        wrap(mcode_examples["MedicationRequest-cancer-related-medication-request-cisplatin-stopped.json"])
    )
    [t] = mapped_values(report, "treatments[0]")
    assert t == {"agent": "cisplatin", "start": "2019-05-15", "stop_reason": "toxicity"}
    assert any("no end date" in u.reason for u in report.unmapped)


def test_official_nsclc_primary_is_refused(mcode_examples: dict[str, dict[str, Any]]) -> None:
    _, _, err = report_of(wrap(mcode_examples["Condition-primary-cancer-condition-nsclc.json"]))
    assert err is not None and err.field == "tumor.primary_site"
    assert "Adenocarcinoma" in err.message


def test_official_non_net_administration_is_reported(mcode_examples: dict[str, dict[str, Any]]) -> None:
    name = "MedicationAdministration-cancer-related-medication-admin-paclitaxel-jenny-m.json"
    _, report, _ = report_of(wrap(mcode_examples[name]))
    assert "outside the netcds agent table" in report.unmapped[0].reason


JOHN = (
    "Patient-cancer-patient-john-anyperson.json",
    "Condition-john-anyperson-chf.json",
    "Condition-john-anyperson-hd.json",
    "Condition-secondary-cancer-condition-brain-mets.json",
    "Observation-cancer-related-comorbidities-john-anyperson.json",
    "Observation-cancer-disease-status-improved.json",
    "Observation-histologic-grade-intermediate.json",
    "Observation-tnm-clinical-distant-metastases-category-cM0.json",
    "MedicationRequest-cancer-related-medication-request-cisplatin.json",
    "MedicationRequest-cancer-related-medication-request-cisplatin-stopped.json",
    "MedicationRequest-cancer-related-medication-request-gefitinib.json",
)
NET_PRIMARY = {
    "resourceType": "Condition",
    "id": "net-primary-john",
    "meta": {"profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-primary-cancer-condition"]},
    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C7A.090",
                         "display": "Malignant carcinoid tumor of the bronchus and lung"}]},
    "bodySite": [{"coding": [{"system": "http://snomed.info/sct", "code": "39607008"}]}],
    "subject": {"reference": "Patient/cancer-patient-john-anyperson"},
}  # fmt: skip


def test_official_john_anyperson_resources_with_a_net_primary(
    mcode_examples: dict[str, dict[str, Any]],
) -> None:
    """John's official resources about his primary (Condition/primary-cancer-condition-nsclc), with a
    NET recorded as that primary: the grade and the brain metastasis that name it apply to the NET."""
    net = NET_PRIMARY | {"id": "primary-cancer-condition-nsclc"}
    bundle = wrap(*(mcode_examples[n] for n in JOHN), net)
    p, report = bundle_to_patient(bundle, as_of=AS_OF)
    assert (p.id, p.sex, p.age_years) == ("cancer-patient-john-anyperson", "male", 74)
    assert p.tumor.primary_site == "lung"
    assert p.tumor.grade == "G2"  # mCODE HistologicGrade 'intermediate' (related condition: the primary)
    assert p.disease.extent == "distant_metastatic"  # brain metastasis of the primary outranks the older cM0
    assert p.disease.status == "stable"
    assert p.comorbidities.heart_failure is True  # I50.32, active
    assert p.comorbidities.interstitial_lung_disease is False  # recorded absent in mCODE Comorbidities
    assert p.comorbidities.other is None  # the resolved cardiovascular disorder is not current
    assert p.medications == ["gefitinib"]
    assert p.treatments is not None
    [cis] = p.treatments  # completed + stopped requests: one line
    assert (cis.agent, cis.start, cis.end, cis.stop_reason) == (
        "cisplatin",
        date(2019, 4, 1),
        None,
        "toxicity",
    )
    reasons = [u.reason for u in report.unmapped]
    assert any("conflicts with a recorded metastasis" in r for r in reasons)
    assert any("no end date" in r for r in reasons)


def test_official_resources_about_another_primary_are_not_applied_to_the_net(
    mcode_examples: dict[str, dict[str, Any]],
) -> None:
    """Correction (review defect 5): the official grade and brain metastasis name John's NSCLC primary
    (Condition/primary-cancer-condition-nsclc, not in the bundle), so with a separate NET primary they are
    set aside and reported, not used as the NET's grade and extent."""
    bundle = wrap(*(mcode_examples[n] for n in JOHN), NET_PRIMARY)
    p, report = bundle_to_patient(bundle, as_of=AS_OF)
    assert p.tumor.grade is None and p.disease.extent is None
    assert p.disease.status == "stable"  # the disease status names no condition: still used
    reasons = {u.resource: u.reason for u in report.unmapped}
    for ref in (
        "Observation/histologic-grade-intermediate",
        "Condition/secondary-cancer-condition-brain-mets",
    ):
        assert "primary-cancer-condition-nsclc" in reasons[ref] and "another cancer" in reasons[ref]


@pytest.mark.parametrize(
    "example",
    [
        "Observation-history-of-cancer-metastatic-to-liver.json",
        "Observation-no-history-of-metastatic-cancer.json",
    ],
)
def test_official_history_of_metastatic_cancer_is_reported_not_read_as_the_extent(
    mcode_examples: dict[str, dict[str, Any]], example: str
) -> None:
    # a history (to the liver, or none) is not the decision's current extent, in either direction
    _, report, err = report_of(wrap(mcode_examples[example]))
    assert err is not None and err.field == "tumor.primary_site"
    assert not report.mapped
    (item,) = report.unmapped
    assert item.reason.startswith("mCODE history of metastatic cancer: a past fact")
    assert "neither disease.extent nor disease.liver_metastases" in item.reason
