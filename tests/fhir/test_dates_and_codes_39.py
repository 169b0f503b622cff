"""QA findings 2-4 (session 39), built from the ileal NET fixture.

2. A period that ends before it starts (Observation.effectivePeriod, Condition.onsetPeriod / abatementPeriod)
   is not readable: its date is unknown, reported, never its end or start taken as if it were right.
3. SNOMED CT morphology codes of the code table are read by code, without a display; codes in no table are
   reported; ICD-O-3 8247/3 (Merkel cell carcinoma) is refused as outside what netcds covers.
4. ICD-O-3 8240/1 is reported as what it is; ICD-10-CM C7A.029 gives a colon primary (segment unknown);
   negated or hedged neuroendocrine words do not make the tumour neuroendocrine; an Observation of status
   ``unknown`` is not read as a result; the TNM value codes are documented rows of the code table.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from netcds.fhir import FhirMappingError, MappingReport, bundle_to_patient
from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.tnm import TNM_VALUE_CODES
from netcds.patient import Patient
from tests.fhir.conftest import load, wrap

AS_OF = date(2025, 6, 1)
SCT = "http://snomed.info/sct"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
PATIENT = {"reference": "Patient/net-ileum-1"}
REVERSED = "ends before it starts"


# ---- helpers ------------------------------------------------------------------------------------------------
def ileal() -> dict[str, Any]:
    return load("ileal_net_ssa_progression.json")


def res(bundle: dict[str, Any], rid: str) -> dict[str, Any]:
    found: dict[str, Any] = next(e["resource"] for e in bundle["entry"] if e["resource"].get("id") == rid)
    return found


def drop(bundle: dict[str, Any], rid: str) -> None:
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"].get("id") != rid]


def mapped(b: dict[str, Any]) -> tuple[Patient, MappingReport]:
    return bundle_to_patient(b, as_of=AS_OF)


def reasons(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


def all_reasons(report: MappingReport) -> str:
    return " | ".join(u.reason for u in report.unmapped)


def with_morphology(concept: dict[str, Any], lung: bool = False, ki67: bool = True) -> dict[str, Any]:
    b = ileal()
    primary = res(b, "ileum-primary")
    primary["extension"][0]["valueCodeableConcept"] = concept
    if lung:
        primary["bodySite"] = [{"coding": [{"system": SCT, "code": "39607008"}]}]
        primary["code"] = {"coding": [{"system": ICD10, "code": "C7A.090"}]}
    if not ki67:
        drop(b, "ileum-ki67")
    return b


def snomed(code: str) -> dict[str, Any]:
    return {"coding": [{"system": SCT, "code": code}]}  # no display


def ki67(oid: str, value: float, **when: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final", "subject": PATIENT,
            "code": {"coding": [{"system": LOINC, "code": "29593-1"}]},
            "focus": [{"reference": "Condition/ileum-primary"}],
            "valueQuantity": {"value": value, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
            **when}  # fmt: skip


# ---- 2. periods that end before they start ------------------------------------------------------------------
def test_reversed_effective_period_is_no_date_and_is_reported() -> None:
    b = ileal()
    obs = res(b, "ileum-ki67")
    obs.pop("effectiveDateTime")
    obs["effectivePeriod"] = {"start": "2024-05-01", "end": "2023-01-01"}
    p, report = mapped(b)
    assert p.tumor.ki67_percent == 8.0  # still the only Ki-67: used, undated
    assert REVERSED in reasons(report, "Observation/ileum-ki67")
    [row] = [m for m in report.mapped if m.field == "tumor.ki67_percent"]
    assert "2023-01-01" not in row.from_ and "2024-05-01" not in row.from_


def test_reversed_period_never_makes_a_result_the_newest() -> None:
    b = ileal()
    drop(b, "ileum-ki67")
    b["entry"].append({"resource": ki67("k-dated", 5, effectiveDateTime="2024-01-10")})
    b["entry"].append(
        {"resource": ki67("k-rev", 25, effectivePeriod={"start": "2025-05-01", "end": "2025-01-01"})}
    )
    p, report = mapped(b)
    assert p.tumor.ki67_percent == 5  # the reversed one is undated: older than any dated result
    assert REVERSED in reasons(report, "Observation/k-rev")


def test_reversed_disease_status_period_gives_no_status_date() -> None:
    b = ileal()
    obs = res(b, "ileum-status")
    obs.pop("effectiveDateTime")
    obs["effectivePeriod"] = {"start": "2025-05-01", "end": "2025-01-01"}
    p, report = mapped(b)
    assert p.disease.status == "progressive" and p.disease.status_date is None
    assert REVERSED in reasons(report, "Observation/ileum-status")


def test_reversed_onset_period_is_no_onset_date() -> None:
    b = ileal()
    mets = res(b, "ileum-liver-mets")
    mets.pop("onsetDateTime", None)
    mets["onsetPeriod"] = {"start": "2026-05-01", "end": "2024-01-01"}  # neither date can be trusted
    p, report = mapped(b)
    why = reasons(report, "Condition/ileum-liver-mets")
    assert REVERSED in why and "after the record date" not in why
    assert p.disease.extent == "distant_metastatic"  # an undated metastasis is kept, as any undated Condition


def test_reversed_abatement_period_leaves_presence_unknown() -> None:
    b = ileal()
    mets = res(b, "ileum-liver-mets")
    mets["clinicalStatus"]["coding"][0]["code"] = "resolved"
    mets["abatementPeriod"] = {"start": "2025-08-01", "end": "2024-01-01"}
    p, report = mapped(b)
    assert p.disease.extent is None and p.disease.liver_metastases is None
    why = reasons(report, "Condition/ileum-liver-mets")
    assert REVERSED in why and "whether and when it abated" in why


@pytest.mark.parametrize(
    ("start", "end", "reversed_"),
    [
        ("2024-05-01", "2024-04-30", True),
        ("2024-05-01T10:00:00Z", "2024-05-01T09:59:00Z", True),
        ("2024-05-01T10:00:00+02:00", "2024-05-01T09:00:00Z", False),  # 08:00 UTC to 09:00 UTC
        ("2024", "2024-03", False),  # partial dates that overlap
        ("2024-05-01T10:00:00Z", "2024-05-01", False),  # a time and a date-only value of that day
        ("2024-05-01", "2024-05-01", False),
        ("2024-06", "2024-05-31", True),
    ],
)
def test_ends_before_start(start: str, end: str, reversed_: bool) -> None:
    from netcds.fhir.read import ends_before_start  # new in session 39 (imported here: see test counts)

    assert ends_before_start({"start": start, "end": end}) is reversed_


# ---- 3. SNOMED CT morphology by code, unknown codes, Merkel cell carcinoma -----------------------------------
def test_merkel_cell_carcinoma_is_refused_as_outside_scope() -> None:
    for concept in ({"coding": [{"system": ICDO3, "code": "8247/3"}]}, {"text": "Merkel cell carcinoma"}):
        with pytest.raises(FhirMappingError) as err:
            mapped(with_morphology(concept))
        assert err.value.field == "tumor.primary_site"
        assert "Merkel cell carcinoma" in err.value.message and "do not cover" in err.value.message


@pytest.mark.parametrize(
    ("code", "lung", "expected"),
    [
        ("1286767006", False, {"differentiation": "poor"}),
        ("128628002", True, {"differentiation": "poor", "lung_subtype": None}),
        ("74364000", True, {"differentiation": "poor"}),
        ("1286768001", False, {"differentiation": "well", "grade": None}),
        ("1286769009", False, {"differentiation": "well", "grade": "G1"}),  # nothing else grades it
        ("1286769009", True, {"differentiation": "well", "lung_subtype": "typical_carcinoid"}),
        ("1286770005", True, {"differentiation": "well", "lung_subtype": "atypical_carcinoid"}),
    ],
)
def test_snomed_morphology_is_read_by_code_without_a_display(
    code: str, lung: bool, expected: dict[str, Any]
) -> None:
    p, report = mapped(with_morphology(snomed(code), lung=lung, ki67=False))
    for key, value in expected.items():
        assert getattr(p.tumor, key) == value, key
    if expected["differentiation"]:
        [row] = [m for m in report.mapped if m.field == "tumor.differentiation"]
        assert f"SNOMED CT {code}" in (row.note or "")


@pytest.mark.parametrize("code", ["82711006", "77284006", "1187332001"])
def test_non_neuroendocrine_snomed_morphology_is_refused_without_a_display(code: str) -> None:
    with pytest.raises(FhirMappingError) as err:
        mapped(with_morphology(snomed(code)))
    assert "not a neuroendocrine neoplasm" in err.value.message and code in err.value.message


def test_mcode_jenny_m_morphology_without_its_display_is_still_refused(
    mcode_examples: dict[str, dict[str, Any]],
) -> None:
    bundle = copy.deepcopy(mcode_examples["Bundle-mcode-patient-bundle-jenny-m.json"])
    primary = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "primary-cancer-condition-jenny-m"
    )
    coding = primary["extension"][0]["valueCodeableConcept"]["coding"][0]
    assert coding["code"] == "82711006"
    del coding["display"]
    with pytest.raises(FhirMappingError) as err:
        mapped(bundle)
    assert "not a neuroendocrine neoplasm" in err.value.message and "duct carcinoma" in err.value.message


def test_unknown_morphology_code_without_words_is_reported() -> None:
    p, report = mapped(with_morphology(snomed("999999003")))
    assert p.tumor.differentiation is None
    why = reasons(report, "Condition/ileum-primary")
    assert "SNOMED 999999003" in why and "not in netcds's code table" in why


def test_unknown_morphology_code_with_words_is_read_from_them_and_reported() -> None:
    concept = {
        "coding": [
            {"system": SCT, "code": "999999003", "display": "Well differentiated neuroendocrine tumour"}
        ]
    }
    p, report = mapped(with_morphology(concept))
    assert p.tumor.differentiation == "well"
    assert "not in netcds's code table: read from its words" in reasons(report, "Condition/ileum-primary")


def test_unknown_code_of_a_histology_observation_is_reported() -> None:
    b = ileal()
    res(b, "ileum-primary").pop("extension")
    b["entry"].append({"resource": {
        "resourceType": "Observation", "id": "hist39", "status": "final", "subject": PATIENT,
        "meta": {"profile": [MCODE + "mcode-histologic-behavior-and-type"]},
        "code": {"coding": [{"system": LOINC, "code": "31206-6"}]}, "effectiveDateTime": "2023-11-28",
        "focus": [{"reference": "Condition/ileum-primary"}], "valueCodeableConcept": snomed("999999003")}})  # fmt: skip
    _, report = mapped(b)
    assert "SNOMED 999999003" in reasons(report, "Observation/hist39")


# ---- 4. 8240/1 wording, C7A.029, negated words, status unknown, TNM value rows -----------------------------
def test_icdo3_8240_1_is_reported_as_uncertain_behaviour_not_as_8240_3() -> None:
    p, report = mapped(with_morphology({"coding": [{"system": ICDO3, "code": "8240/1"}]}, ki67=False))
    assert p.tumor.differentiation == "well" and p.tumor.grade is None and p.tumor.lung_subtype is None
    why = reasons(report, "Condition/ileum-primary")
    assert "ICD-O-3 8240/1 is a carcinoid tumour of uncertain malignant potential" in why
    assert "8240/3 without" not in why and "not taken from it" in why


@pytest.mark.parametrize("code", ["C7A.029", "D3A.029", "C7A029"])
def test_large_intestine_unspecified_portion_is_the_colon_with_its_segment_unknown(code: str) -> None:
    b = ileal()
    primary = res(b, "ileum-primary")
    primary.pop("bodySite")
    primary["code"] = {"coding": [{"system": ICD10, "code": code}]}
    p, report = mapped(b)
    assert p.tumor.primary_site == "colon" and p.tumor.colon_segment is None
    [row] = [m for m in report.mapped if m.field == "tumor.primary_site"]
    assert "segment unknown" in (row.note or "")


@pytest.mark.parametrize("words", ["not neuroendocrine", "possible carcinoid tumour", "no carcinoid"])
def test_negated_or_hedged_words_do_not_make_the_tumour_neuroendocrine(words: str) -> None:
    _, report = mapped(with_morphology({"text": words}))
    why = reasons(report, "Condition/ileum-primary")
    assert "neuroendocrine type not taken from the histology words" in why


def test_negated_words_do_not_pick_that_primary_as_the_neuroendocrine_one() -> None:
    b = ileal()
    lung = copy.deepcopy(res(b, "ileum-primary"))
    lung["id"] = "lung-primary"
    lung["code"] = {"text": "Lung tumour"}
    lung["bodySite"] = [{"coding": [{"system": SCT, "code": "39607008"}]}]
    lung["extension"][0]["valueCodeableConcept"] = {"text": "not neuroendocrine"}
    res(b, "ileum-primary")["extension"][0]["valueCodeableConcept"] = {"text": "Neuroendocrine tumour"}
    b["entry"].append({"resource": lung})
    p, report = mapped(b)  # before: both read as neuroendocrine, two sites, the chart refused
    assert p.tumor.primary_site == "ileum"
    assert "another primary cancer condition" in reasons(report, "Condition/lung-primary")


def test_observation_status_unknown_is_not_a_result() -> None:
    b = ileal()
    res(b, "ileum-ki67")["status"] = "unknown"
    res(b, "ileum-status")["status"] = "unknown"
    p, report = mapped(b)
    assert p.tumor.ki67_percent is None and p.disease.status is None
    for ref in ("Observation/ileum-ki67", "Observation/ileum-status"):
        assert "observation status 'unknown'" in reasons(report, ref)


@pytest.mark.parametrize("status", ["unknown", "entered-in-error", "cancelled"])
def test_histology_observation_of_unread_status_is_not_used(status: str) -> None:
    b = ileal()
    res(b, "ileum-primary").pop("extension")
    b["entry"].append({"resource": {
        "resourceType": "Observation", "id": "hist39", "status": status, "subject": PATIENT,
        "meta": {"profile": [MCODE + "mcode-histologic-behavior-and-type"]},
        "code": {"coding": [{"system": LOINC, "code": "31206-6"}]}, "effectiveDateTime": "2023-11-28",
        "focus": [{"reference": "Condition/ileum-primary"}],
        "valueCodeableConcept": {"coding": [{"system": ICDO3, "code": "8246/3"}]}}})  # fmt: skip
    p, report = mapped(b)
    assert p.tumor.differentiation is None
    assert f"observation status {status!r}" in reasons(report, "Observation/hist39")


def test_tnm_value_codes_are_documented_rows() -> None:
    rows = {r.code: r for r in C.TNM_VALUE}
    assert {code: (r.target[0], r.target[1:]) for code, r in rows.items()} == TNM_VALUE_CODES
    assert TNM_VALUE_CODES["1229901006"] == ("M", "0") and TNM_VALUE_CODES["1229907005"] == ("M", "1")
    assert set(rows) <= {r.code for r in C.all_rows() if r.system == C.SNOMED}
    assert all(r.source in C.SOURCES for r in C.TNM_VALUE + C.MORPHOLOGY_SNOMED)
    assert set(C.SNOMED_MORPHOLOGY_ICDO3) == {r.code for r in C.MORPHOLOGY_SNOMED}


def test_a_coded_cm1b_without_display_sets_distant_extent() -> None:
    b = ileal()
    drop(b, "ileum-liver-mets")
    b["entry"].append({"resource": {
        "resourceType": "Observation", "id": "cm39", "status": "final", "subject": PATIENT,
        "code": {"coding": [{"system": SCT, "code": "399387003"}]}, "effectiveDateTime": "2025-03-01",
        "focus": [{"reference": "Condition/ileum-primary"}], "valueCodeableConcept": snomed("1229907005")}})  # fmt: skip
    p, _ = mapped(b)
    assert p.disease.extent == "distant_metastatic"


def test_single_resource_wrap_still_names_the_missing_primary() -> None:
    obs = ki67("k1", 5, effectivePeriod={"start": "2025-05-01", "end": "2025-01-01"})
    with pytest.raises(FhirMappingError) as err:
        bundle_to_patient(wrap(obs), as_of=AS_OF)
    assert err.value.field == "tumor.primary_site"
    assert REVERSED in reasons(err.value.report or MappingReport(), "Observation/k1")
