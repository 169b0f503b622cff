"""Review fixes about result values and treatment lines: Observation status everywhere, coded answers
over words and negation, SSTR/FDG imaging, newest-wins by instant, and treatment line building."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from netcds.fhir import MappingReport, bundle_to_patient
from netcds.patient import Patient
from tests.fhir.conftest import wrap

AS_OF = date(2025, 6, 1)
SCT, LNC = "http://snomed.info/sct", "http://loinc.org"
ICD, ICDO = "http://hl7.org/fhir/sid/icd-10-cm", "http://terminology.hl7.org/CodeSystem/icd-o-3"
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
MC = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1960-01-15"}
NET = {
    "resourceType": "Condition", "id": "net", "meta": {"profile": [MC + "mcode-primary-cancer-condition"]},
    "code": {"coding": [{"system": ICD, "code": "C7A.012"}]}, "subject": {"reference": "Patient/p1"},
    "bodySite": [{"coding": [{"system": SCT, "code": "34516001"}]}],
}  # fmt: skip
MMR = ("81691-8", "81692-6", "81693-4", "81694-2")


def obs(i: str, code: dict[str, Any], **value: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": i, "status": value.pop("status", "final"), "code": code,
            "subject": {"reference": "Patient/p1"}, **value}  # fmt: skip


def loinc(code: str) -> dict[str, Any]:
    return {"coding": [{"system": LNC, "code": code}]}


def mapped(*resources: dict[str, Any]) -> tuple[Patient, MappingReport]:
    return bundle_to_patient(wrap(PATIENT, NET, *resources), as_of=AS_OF)


def reason(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


# ---- 2. entered-in-error / cancelled Observations are never read -------------------------------------------
@pytest.mark.parametrize("bad", ["entered-in-error", "cancelled"])
def test_histology_observation_with_bad_status_is_not_used(bad: str) -> None:
    def hist(i: str, status: str, morph: str, when: str) -> dict[str, Any]:
        return obs(i, loinc("31206-6"), status=status, effectiveDateTime=when,
                   meta={"profile": [MC + "mcode-histologic-behavior-and-type"]},
                   valueCodeableConcept={"coding": [{"system": ICDO, "code": morph}]})  # fmt: skip

    p, report = mapped(hist("bad", bad, "8246/3", "2024-06-01"), hist("ok", "final", "8249/3", "2024-01-10"))
    assert p.tumor.differentiation == "well"
    assert bad in reason(report, "Observation/bad")


# ---- 3. MMR and MSI: codes first, words with negation -----------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        {"valueCodeableConcept": {"coding": [{"system": LNC, "code": "LA9633-4", "display": "Present"}],
                                  "text": "Present (no loss of expression)"}},
        {"valueString": "No loss of nuclear expression"},
        {"valueString": "Intact nuclear staining; no loss of expression"},
    ],
)  # fmt: skip
def test_mmr_no_loss_is_proficient(value: dict[str, Any]) -> None:
    p, _ = mapped(*(obs(f"m{i}", loinc(c), **value) for i, c in enumerate(MMR)))
    assert p.biomarkers.mmr == "proficient"


def test_mmr_coded_answer_wins_over_contradicting_words() -> None:
    value = {"valueCodeableConcept": {"coding": [{"system": LNC, "code": "LA9634-2"}], "text": "intact"}}
    p, report = mapped(*(obs(f"m{i}", loinc(c), **value) for i, c in enumerate(MMR)))
    assert p.biomarkers.mmr == "deficient"
    assert any("coded answer decides" in (m.note or "") for m in report.mapped)


def test_mmr_loss_in_words_is_deficient() -> None:
    p, _ = mapped(obs("m", loinc("81691-8"), valueString="Loss of MLH1 nuclear expression"))
    assert p.biomarkers.mmr == "deficient"


@pytest.mark.parametrize(
    ("value", "msi"),
    [
        ({"valueString": "MSI-high not detected (microsatellite stable)"}, "stable"),
        ({"valueString": "MSI-high not detected"}, None),  # could be MSI-low: unknown
        ({"valueString": "MSI-H"}, "high"),
        (
            {"valueCodeableConcept": {"coding": [{"system": LNC, "code": "LA14122-8"}], "text": "MSI-high"}},
            "stable",
        ),
        ({"valueCodeableConcept": {"text": "Low"}}, None),
    ],
)
def test_msi_words_respect_negation_and_codes(value: dict[str, Any], msi: str | None) -> None:
    p, _ = mapped(obs("msi", loinc("81695-9"), **value))
    assert p.biomarkers.msi == msi


# ---- 4. SSTR / FDG imaging -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("study", "words", "field", "value"),
    [
        # a negative limited to one site leaves the others open (session 35: unknown, not false)
        ("FDG PET/CT", "Liver lesions are not FDG-avid", "fdg_avid", None),
        ("18F-FDG PET/CT", "No FDG avid disease", "fdg_avid", False),
        ("18F-FDG PET/CT", "Intensely FDG-avid liver lesions", "fdg_avid", True),
        (
            "Ga-68 DOTATATE PET/CT",
            "No somatostatin receptor-positive lesions identified",
            "sstr_status",
            "negative",
        ),
        (
            "Ga-68 DOTATATE PET/CT",
            "Uptake less than liver (Krenning 1); not positive",
            "sstr_status",
            "negative",
        ),
        ("Ga-68 DOTATATE PET/CT", "SSTR-positive liver metastases", "sstr_status", "positive"),
    ],
)
def test_imaging_words_are_read_with_negation(study: str, words: str, field: str, value: Any) -> None:
    p, _ = mapped(obs("img", {"text": study}, valueString=words))
    assert getattr(p.tumor, field) == value


def test_sstr_immunohistochemistry_does_not_set_sstr_status() -> None:
    ihc = obs("ihc", {"text": "Somatostatin receptor 2 (SSTR2) immunohistochemistry"},
              valueCodeableConcept={"coding": [{"system": LNC, "code": "LA6576-8", "display": "Positive"}]})  # fmt: skip
    p, report = mapped(ihc)
    assert p.tumor.sstr_status is None
    assert "immunohistochemistry" in reason(report, "Observation/ihc")


# ---- 9. newest wins by instant -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("late", "early"),
    [("2024-05-02T16:30:00-05:00", "2024-05-02T08:00:00-05:00"),  # same day, later time
     ("2024-05-02T23:30:00-08:00", "2024-05-03T02:00:00Z")],  # 07:30Z on 05-03 is after 02:00Z
)  # fmt: skip
def test_newest_value_is_compared_by_full_instant(late: str, early: str) -> None:
    def ki(i: str, when: str, v: float) -> dict[str, Any]:
        return obs(
            i, loinc("29593-1"), effectiveDateTime=when, valueQuantity={"value": v, "unit": "%", "code": "%"}
        )

    p, _ = mapped(ki("late", late, 25), ki("early", early, 12))
    assert p.tumor.ki67_percent == 25


# ---- 12. treatment lines --------------------------------------------------------------------------------------------
def med(i: str, rtype: str, status: str, concept: dict[str, Any], **extra: Any) -> dict[str, Any]:
    base = {"resourceType": rtype, "id": i, "status": status, "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": concept, **extra}  # fmt: skip
    return base | ({"intent": "order"} if rtype == "MedicationRequest" else {})


def rx(code: str, display: str, text: str | None = None) -> dict[str, Any]:
    return {"coding": [{"system": RX, "code": code, "display": display}], **({"text": text} if text else {})}


def bounds(start: str, end: str | None = None, **repeat: Any) -> list[dict[str, Any]]:
    period = {"start": start, **({"end": end} if end else {})}
    return [{"timing": {"repeat": {"boundsPeriod": period, **repeat}}}]


def test_active_request_with_a_past_end_date_has_ended() -> None:
    req = med("eve", "MedicationRequest", "active", rx("141704", "everolimus"),
              dosageInstruction=bounds("2022-01-01", "2022-12-31"))  # fmt: skip
    st = med("st", "MedicationStatement", "active", rx("357977", "sunitinib"),
             effectivePeriod={"start": "2021-03-01", "end": "2021-09-30"})  # fmt: skip
    p, report = mapped(req, st)
    assert p.treatments is not None
    assert {(t.agent, t.end) for t in p.treatments} == {
        ("everolimus", date(2022, 12, 31)), ("sunitinib", date(2021, 9, 30))}  # fmt: skip
    assert "conflicts with its end date" in reason(report, "MedicationRequest/eve")


def test_undated_statement_is_not_merged_into_an_old_course() -> None:
    old = med("st1", "MedicationStatement", "completed", rx("7617", "octreotide", "octreotide LAR 30 mg"),
              effectivePeriod={"start": "2019-01-01", "end": "2020-01-01"})  # fmt: skip
    now = med("st2", "MedicationStatement", "active", rx("7617", "octreotide", "octreotide LAR 30 mg"),
              dateAsserted="2025-05-01")  # fmt: skip
    p, _ = mapped(old, now)
    assert p.treatments is not None
    assert [(t.agent, t.start, t.end) for t in p.treatments] == [
        ("octreotide_lar", date(2019, 1, 1), date(2020, 1, 1)), ("octreotide_lar", None, None)]  # fmt: skip


def test_oral_octreotide_capsule_is_not_lar() -> None:
    myc = med("myc", "MedicationRequest", "active", rx("2283304", "octreotide 20 MG Delayed Release Oral Capsule [Mycapssa]"),
              dosageInstruction=[{"timing": {"repeat": {"boundsPeriod": {"start": "2025-01-01"}, "frequency": 1,
                                                        "period": 12, "periodUnit": "h"}},
                                  "doseAndRate": [{"doseQuantity": {"value": 20, "unit": "mg", "code": "mg"}}]}])  # fmt: skip
    p, _ = mapped(myc)
    assert p.treatments is not None and p.treatments[0].agent == "octreotide"


def test_fhir_status_reason_is_mapped_or_reported() -> None:
    mr = "http://terminology.hl7.org/CodeSystem/medicationrequest-status-reason"
    sintol = med("a", "MedicationRequest", "stopped", rx("141704", "everolimus"),
                 dosageInstruction=bounds("2023-01-01", "2023-08-01"),
                 statusReason={"coding": [{"system": mr, "code": "sintol", "display": "Suspected intolerance"}]})  # fmt: skip
    p, _ = mapped(sintol)
    assert p.treatments is not None and p.treatments[0].stop_reason == "toxicity"
    odd = sintol | {"statusReason": {"coding": [{"system": "urn:local", "code": "x9"}]}}
    p, report = mapped(odd)
    assert p.treatments is not None and p.treatments[0].stop_reason is None
    assert "not a code netcds maps" in reason(report, "MedicationRequest/a")


@pytest.mark.parametrize(
    "text",
    [
        "Peptide receptor radionuclide therapy (Lu-177 DOTATATE), targeted radiotherapy",
        "Lu-177 DOTATATE PRRT",
    ],
)
def test_prrt_procedure_is_lu177_dotatate_not_radiotherapy(text: str) -> None:
    proc = {"resourceType": "Procedure", "id": "prrt", "status": "completed", "subject": {"reference": "Patient/p1"},
            "code": {"text": text}, "performedPeriod": {"start": "2024-01-10", "end": "2024-06-26"}}  # fmt: skip
    p, _ = mapped(proc)
    assert p.treatments is not None and [t.agent for t in p.treatments] == ["lu177_dotatate"]
