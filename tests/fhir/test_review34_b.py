"""Review 34 fixes (which cancer a resource is about):

(3) a cancer coded only in ICD-10-CM (C50.912 breast) is another cancer: what names it (focus,
reasonReference) is not applied to the neuroendocrine tumour, while the NET's own ICD-10-CM codes (C7A, D3A,
C25.4, a NET site's C code) still map as the NET and metastasis codes (C78, C7B) stay metastases;
(4) ``reasonCode`` is read like a reasonReference to a Condition with that code: the official mCODE cisplatin
orders for non-small cell lung cancer (SNOMED 254637007) are not a NET treatment line;
(6) a TNM category that names no cancer takes what its stage group (``hasMember``) names, so a breast
cancer's cT3 cN0 cM0 does not make the NET localized.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.fhir import MappingReport, bundle_to_patient
from netcds.patient import Patient
from netcds.settings import Settings
from tests.fhir.conftest import load

AS_OF = date(2025, 6, 1)
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
SCT = "http://snomed.info/sct"
SUBJECT = {"reference": "Patient/net-ileum-1"}
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


# ---- building the inputs from the ileal NET fixture --------------------------------------------------------
def ileal() -> dict[str, Any]:
    return load("ileal_net_ssa_progression.json")


def resource(bundle: dict[str, Any], rid: str) -> dict[str, Any]:
    found: dict[str, Any] = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == rid)
    return found


def add(bundle: dict[str, Any], *resources: dict[str, Any]) -> dict[str, Any]:
    for r in resources:
        bundle["entry"].append(
            {"fullUrl": f"http://example.org/fhir/{r['resourceType']}/{r['id']}", "resource": r}
        )
    return bundle


def icd(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": ICD10, "code": code, "display": display}]}


def condition(cid: str, code: dict[str, Any], onset: str = "2024-05-01", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
        "code": code,
        "subject": SUBJECT,
        "onsetDateTime": onset,
        **extra,
    }


BREAST_ICD = icd("C50.912", "Malignant neoplasm of unspecified site of left female breast")


def breast_ki67(bundle: dict[str, Any]) -> dict[str, Any]:
    """x16: a Ki-67 of 30 % whose focus is the breast cancer (the NET's own Ki-67 is 8 %)."""
    k = copy.deepcopy(resource(bundle, "ileum-ki67"))
    k["id"] = "breast-ki67"
    k["effectiveDateTime"] = "2024-06-01"
    k["valueQuantity"] = {"value": 30, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}
    k["focus"] = [{"reference": "Condition/breast-ca"}]
    return k


def x16() -> dict[str, Any]:
    b = ileal()
    return add(b, condition("breast-ca", BREAST_ICD), breast_ki67(b))


def statement(sid: str, drug: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": sid,
        "status": "completed",
        "medicationCodeableConcept": {"text": drug},
        "subject": SUBJECT,
        "effectivePeriod": {"start": "2015-01-01", "end": "2015-06-01"},
        **extra,
    }


def mapped(bundle: dict[str, Any]) -> tuple[Patient, MappingReport]:
    return bundle_to_patient(bundle, as_of=AS_OF)


def reasons(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


def notes(report: MappingReport, ref: str) -> str:
    return " | ".join(m.note or "" for m in report.mapped if m.from_.split()[0] == ref)


def agents(p: Patient) -> list[str]:
    return [t.agent for t in p.treatments or []]


# ---- (3) a cancer coded only in ICD-10-CM is another cancer -------------------------------------------------
def test_ki67_of_an_icd10_coded_breast_cancer_does_not_replace_the_nets() -> None:
    p, report = mapped(x16())
    assert p.tumor.ki67_percent == 8.0  # not the breast cancer's 30 %
    why = reasons(report, "Observation/breast-ki67")
    assert "about another cancer (focus Condition/breast-ca)" in why
    assert "not used for the neuroendocrine tumour" in why
    # the NET's own Ki-67 says no cancer, and the record now has two: it carries the caveat
    assert "the record has 2 primary cancers" in notes(report, "Observation/ileum-ki67")


def test_capecitabine_given_for_an_icd10_coded_breast_cancer_is_not_a_net_line() -> None:
    b = ileal()
    add(
        b,
        condition("breast-ca", BREAST_ICD, onset="2014-05-01"),
        statement(
            "cape", "capecitabine 500 mg tablet", reasonReference=[{"reference": "Condition/breast-ca"}]
        ),
    )  # x17
    p, report = mapped(b)
    assert agents(p) == ["octreotide_lar"]
    assert "about another cancer (reasonReference Condition/breast-ca)" in reasons(
        report, "MedicationStatement/cape"
    )


@pytest.mark.parametrize(
    ("code", "display", "site"),
    [
        ("C7A.012", "Malignant carcinoid tumor of the ileum", "ileum"),
        ("C7A012", "Malignant carcinoid tumor of the ileum", "ileum"),
        ("D3A.012", "Benign carcinoid tumor of the ileum", "ileum"),
        ("C7A.8", "Other malignant neuroendocrine tumors", None),  # site from bodySite
        ("C17.2", "Malignant neoplasm of ileum", "ileum"),
        ("C25.4", "Malignant neoplasm of endocrine pancreas", "pancreas"),
    ],
)
def test_the_nets_own_icd10_codes_still_map_as_the_net(code: str, display: str, site: str | None) -> None:
    """Beside an ICD-10-CM breast cancer, the NET coded only in ICD-10-CM (no profile, no morphology) is still
    the primary evaluated, and what names it still applies to it."""
    b = x16()
    primary = resource(b, "ileum-primary")
    primary["code"] = icd(code, display)
    primary.pop("extension", None)
    primary.pop("meta", None)
    primary.pop("bodySite", None)
    if site is None:
        primary["bodySite"] = [{"coding": [{"system": SCT, "code": "34516001"}]}]  # ileum
    resource(b, "ileum-ki67")["focus"] = [{"reference": "Condition/ileum-primary"}]
    p, report = mapped(b)
    assert p.tumor.primary_site == (site or "ileum")
    assert p.tumor.ki67_percent == 8.0
    assert "does not say" not in notes(report, "Observation/ileum-ki67")
    assert "Condition/ileum-primary" not in reasons(report, "Condition/ileum-primary")  # used, not set aside
    assert p.disease.extent == "distant_metastatic" and p.disease.liver_metastases is True  # C7B.02


@pytest.mark.parametrize(
    ("code", "display"),
    [("C78.7", "Secondary malignant neoplasm of liver"), ("C7B.02", "Secondary carcinoid tumors of liver")],
)
def test_metastasis_codes_stay_metastases_not_another_cancer(code: str, display: str) -> None:
    b = x16()
    resource(b, "ileum-liver-mets")["code"] = icd(code, display)
    ki67 = resource(b, "ileum-ki67")
    ki67["focus"] = [{"reference": "Condition/ileum-liver-mets"}]  # a Ki-67 of the liver metastasis
    p, report = mapped(b)
    assert p.disease.extent == "distant_metastatic" and p.disease.liver_metastases is True
    assert p.tumor.ki67_percent == 8.0
    assert "another cancer" not in reasons(report, "Observation/ileum-ki67")


def test_an_icd10_breast_cancer_called_metastatic_is_not_a_metastasis_of_the_net() -> None:
    """C50 names the breast as the primary site: the word 'metastatic' does not make it the NET's metastasis."""
    b = ileal()
    b["entry"] = [e for e in b["entry"] if e["resource"]["id"] != "ileum-liver-mets"]
    add(b, condition("breast-ca", icd("C50.912", "Metastatic breast cancer, left")))
    p, _ = mapped(b)
    assert p.disease.extent is None
    assert p.disease.liver_metastases is None


def test_rest_route_keeps_the_nets_ki67_and_table_beside_an_icd10_breast_cancer(tmp_path: Path) -> None:
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'netcds.db'}"))
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/api/v1/evaluate/fhir?as_of=2025-06-01", json=x16())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["patient"]["tumor"]["ki67_percent"] == 8.0
    assert body["evaluation"]["setting"]["table"] == "gi_wd_g12"  # not wd_g3 from the breast cancer's 30 %


# ---- (4) reasonCode -----------------------------------------------------------------------------------------
JOHN_CISPLATIN = (
    "MedicationRequest-cancer-related-medication-request-cisplatin.json",
    "MedicationRequest-cancer-related-medication-request-cisplatin-stopped.json",
)


def with_john_cisplatin(mcode_examples: dict[str, dict[str, Any]], nsclc: bool) -> dict[str, Any]:
    """The ileal NET with the official cisplatin orders (reasonCode SNOMED 254637007 NSCLC), for the NET's
    patient, and (``nsclc``) the official NSCLC primary cancer condition."""
    b = ileal()
    names = [*JOHN_CISPLATIN, *(["Condition-primary-cancer-condition-nsclc.json"] if nsclc else [])]
    for name in names:
        r = copy.deepcopy(mcode_examples[name])
        r["subject"] = SUBJECT
        r.pop("requester", None)
        add(b, r)
    return b


def test_official_cisplatin_orders_for_nsclc_are_not_a_net_line(
    mcode_examples: dict[str, dict[str, Any]],
) -> None:
    p, report = mapped(with_john_cisplatin(mcode_examples, nsclc=True))
    assert "cisplatin" not in agents(p)
    assert agents(p) == ["octreotide_lar"]
    for ref in (
        "MedicationRequest/cancer-related-medication-request-cisplatin",
        "MedicationRequest/cancer-related-medication-request-cisplatin-stopped",
    ):
        why = reasons(report, ref)
        assert "about another cancer (reasonCode SNOMED 254637007" in why
        assert "Condition/primary-cancer-condition-nsclc" in why
        assert "does not say which cancer" not in why + notes(report, ref)


@pytest.mark.parametrize(
    ("reason", "kept", "caveat"),
    [
        (icd("C50.912", "Malignant neoplasm of left female breast"), False, False),  # another cancer
        (icd("C61", "Malignant neoplasm of prostate"), False, False),
        (icd("C18.7", "Malignant neoplasm of sigmoid colon"), False, False),  # another organ than the ileum
        (icd("C7A.012", "Malignant carcinoid tumor of the ileum"), True, False),  # the NET
        (icd("C17.2", "Malignant neoplasm of ileum"), True, False),  # the NET's site
        (icd("I10", "Essential (primary) hypertension"), True, True),  # says nothing about which cancer
        ({"text": "breast cancer"}, True, True),  # words only: not read
    ],
)
def test_reason_code_says_which_cancer_a_treatment_is_for(
    reason: dict[str, Any], kept: bool, caveat: bool
) -> None:
    """No Condition with the code is in the record: the ICD-10-CM code itself says which cancer. A profiled
    NSCLC primary is in the record, so a treatment that does not say gets the caveat."""
    b = ileal()
    nsclc = condition("nsclc", {"coding": [{"system": SCT, "code": "254637007"}]})
    nsclc["meta"] = {
        "profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-primary-cancer-condition"]
    }
    add(b, nsclc, statement("cape", "capecitabine 500 mg tablet", reasonCode=[reason]))
    p, report = mapped(b)
    assert ("capecitabine" in agents(p)) is kept
    if not kept:
        assert "about another cancer (reasonCode ICD-10-CM" in reasons(report, "MedicationStatement/cape")
    assert ("does not say which cancer" in notes(report, "MedicationStatement/cape")) is caveat


def test_a_site_code_shared_with_another_primary_of_that_organ_says_nothing() -> None:
    """C17.2 is the ileal NET's site, but the record also has an adenocarcinoma of the ileum: the code
    does not say which of the two the capecitabine was for (used, with the caveat)."""
    b = ileal()
    adeno = condition(
        "adeno",
        {"text": "Adenocarcinoma of ileum"},
        bodySite=[{"coding": [{"system": SCT, "code": "34516001"}]}],
    )
    adeno["meta"] = {
        "profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-primary-cancer-condition"]
    }
    add(
        b,
        adeno,
        statement(
            "cape", "capecitabine 500 mg tablet", reasonCode=[icd("C17.2", "Malignant neoplasm of ileum")]
        ),
    )
    p, report = mapped(b)
    assert "capecitabine" in agents(p)
    assert "does not say which cancer" in notes(report, "MedicationStatement/cape")


def test_a_snomed_reason_code_naming_no_condition_in_the_record_says_nothing(
    mcode_examples: dict[str, dict[str, Any]],
) -> None:
    """Without the NSCLC Condition in the record the SNOMED code names no Condition: the official orders say
    nothing netcds can read about which cancer, and are used for the only primary (as before)."""
    p, _ = mapped(with_john_cisplatin(mcode_examples, nsclc=False))
    assert "cisplatin" in agents(p)


# ---- (6) TNM categories take their stage group's focus ------------------------------------------------------
def v33(focus: str) -> dict[str, Any]:
    """A breast primary (mCODE profile, SNOMED) whose stage group (focus ``focus``) lists cT3 cN0 cM0; the
    categories name no cancer. The NET's liver metastasis is removed so the extent could come from TNM."""
    b = ileal()
    b["entry"] = [e for e in b["entry"] if e["resource"]["id"] != "ileum-liver-mets"]
    breast = condition(
        "breast",
        {
            "coding": [
                {
                    "system": SCT,
                    "code": "353431000119107",
                    "display": "Primary malignant neoplasm of female left breast",
                }
            ]
        },
    )
    breast["meta"] = {
        "profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-primary-cancer-condition"]
    }
    add(b, breast)
    for cid, code, value, display in (
        ("t", "399504009", "1228938002", "cT3"),
        ("n", "399534004", "1229967007", "cN0"),
        ("m", "399387003", "1229901006", "cM0"),
    ):
        add(b, {
            "resourceType": "Observation", "id": f"br-{cid}", "status": "final",
            "code": {"coding": [{"system": SCT, "code": code}]}, "subject": SUBJECT,
            "effectiveDateTime": "2025-02-01",
            "valueCodeableConcept": {"coding": [{"system": SCT, "code": value, "display": display}]},
        })  # fmt: skip
    add(b, {
        "resourceType": "Observation", "id": "br-sg", "status": "final",
        "code": {"coding": [{"system": SCT, "code": "399537006"}]}, "focus": [{"reference": focus}],
        "subject": SUBJECT, "effectiveDateTime": "2025-02-01", "valueCodeableConcept": {"text": "IIB"},
        "hasMember": [{"reference": f"Observation/br-{c}"} for c in "tnm"],
    })  # fmt: skip
    return b


def test_tnm_categories_of_another_cancers_stage_group_do_not_set_the_nets_extent() -> None:
    p, report = mapped(v33("Condition/breast"))
    assert p.disease.extent is None  # not 'localized' from the breast cancer's cT3 cN0 cM0
    for c in "tnm":
        why = reasons(report, f"Observation/br-{c}")
        assert "about another cancer (focus Condition/breast of Observation/br-sg" in why
        assert "hasMember" in why


def test_tnm_categories_of_the_nets_stage_group_are_the_nets() -> None:
    p, report = mapped(v33("Condition/ileum-primary"))
    assert p.disease.extent == "localized"
    assert "does not say which cancer" not in notes(report, "Observation/br-t")
