"""Request examples shown in the OpenAPI document (and reused by the tests)."""

from __future__ import annotations

from typing import Any

ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

PATIENT_EXAMPLE: dict[str, Any] = {
    "id": "demo-1",
    "age_years": 62,
    "tumor": {
        "primary_site": "ileum",
        "differentiation": "well",
        "grade": "G2",
        "ki67_percent": 8,
        "functional": False,
        "sstr_status": "positive",
    },
    "disease": {
        "extent": "distant_metastatic",
        "tumor_burden": "clinically_significant",
        "status": "progressive",
        "progression_clinically_significant": True,
    },
    "treatments": [
        {
            "agent": "octreotide_lar",
            "dose_mg": 30,
            "interval_days": 28,
            "start": "2024-01-10",
            "end": "2025-03-02",
            "progressed": True,
            "stop_reason": "progression",
        }
    ],
}


def _searchset(*resources: dict[str, Any]) -> dict[str, Any] | None:
    if not resources:
        return None
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


FHIR_PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "gender": "female",
    "birthDate": "1962-05-01",
}
FHIR_CONDITION: dict[str, Any] = {
    "resourceType": "Condition",
    "id": "c1",
    "subject": {"reference": "Patient/p1"},
    "clinicalStatus": {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
    },
    "code": {
        "coding": [{"system": ICD10, "code": "C7A.012", "display": "Malignant carcinoid tumor of the ileum"}]
    },
}
FHIR_KI67: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "o1",
    "status": "final",
    "subject": {"reference": "Patient/p1"},
    "code": {"coding": [{"system": LOINC, "code": "29593-1"}], "text": "Ki-67"},
    "valueQuantity": {"value": 8, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
}
BUNDLE_EXAMPLE: dict[str, Any] = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [{"resource": r} for r in (FHIR_PATIENT, FHIR_CONDITION, FHIR_KI67)],
}

PATIENT_VIEW_EXAMPLE: dict[str, Any] = {
    "hook": "patient-view",
    "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
    "context": {"userId": "Practitioner/example", "patientId": "p1"},
    "prefetch": {
        "patient": FHIR_PATIENT,
        "conditions": _searchset(FHIR_CONDITION),
        "observations": _searchset(FHIR_KI67),
        "medicationRequests": None,
        "medicationStatements": None,
    },
}

DRAFT_CABOZANTINIB: dict[str, Any] = {
    "resourceType": "MedicationRequest",
    "id": "draft-cabo",
    "status": "draft",
    "intent": "order",
    "subject": {"reference": "Patient/p1"},
    "medicationCodeableConcept": {
        "coding": [{"system": RXNORM, "display": "cabozantinib 60 MG Oral Tablet"}],
        "text": "cabozantinib 60 mg tablet",
    },
    "dosageInstruction": [
        {
            "text": "60 mg by mouth once daily",
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [
                {
                    "doseQuantity": {
                        "value": 60,
                        "unit": "mg",
                        "system": "http://unitsofmeasure.org",
                        "code": "mg",
                    }
                }
            ],
        }
    ],
}
ORDER_SIGN_EXAMPLE: dict[str, Any] = {
    "hook": "order-sign",
    "hookInstance": "2b6c5a3e-7d0f-4f7e-9a11-3c1d2e4f5a6b",
    "context": {
        "userId": "Practitioner/example",
        "patientId": "p1",
        "draftOrders": {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": DRAFT_CABOZANTINIB}],
        },
    },
    "prefetch": PATIENT_VIEW_EXAMPLE["prefetch"],
}

FEEDBACK_EXAMPLE: dict[str, Any] = {
    "feedback": [
        {
            "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
            "outcome": "overridden",
            "overrideReason": {
                "reason": {
                    "system": "urn:netcds:override-reason",
                    "code": "benefit-outweighs-risk",
                    "display": "Benefit judged to outweigh the risk; will monitor",
                }
            },
            "outcomeTimestamp": "2025-03-02T10:15:00Z",
        }
    ],
}
