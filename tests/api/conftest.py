"""Fixtures for the service tests: signing keys made here, a configured app, token and prefetch builders."""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.api.examples import PATIENT_EXAMPLE
from netcds.settings import IssuerConfig, Settings

BASE = "http://testserver"
PV = "/cds-services/netcds-patient-view"
OS = "/cds-services/netcds-order-sign"
OSEL = "/cds-services/netcds-order-select"
ISS = "https://ehr.example.test"
KID = "ehr-key-1"
EC_KID = "ehr-ec-1"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


class Keys:
    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        r = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa.public_key()))
        e = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec.public_key()))
        return {
            "keys": [
                {**r, "kid": KID, "use": "sig", "alg": "RS384"},
                {**e, "kid": EC_KID, "use": "sig", "alg": "ES256"},
            ]
        }

    def token(
        self,
        aud: str | list[str],
        *,
        alg: str = "RS384",
        kid: str | None = KID,
        key: Any = None,
        drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISS,
            "sub": "ehr-client",
            "aud": aud,
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        payload.update(claims)
        for k in drop:
            payload.pop(k, None)
        headers: dict[str, Any] = {"typ": "JWT"}
        if kid is not None:
            headers["kid"] = kid
        signing = key if key is not None else (self.ec if alg.startswith("ES") else self.rsa)
        return jwt.encode(payload, signing, algorithm=alg, headers=headers)


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys()


def make_settings(tmp_path: Path, keys: Keys, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "db_url": f"sqlite:///{tmp_path / 'netcds.db'}",
        "base_url": BASE,
        "hooks_issuers": (IssuerConfig(iss=ISS, jwks=keys.jwks()),),
    }
    values.update(over)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path, keys: Keys) -> Settings:
    return make_settings(tmp_path, keys)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def open_client(tmp_path: Path, keys: Keys) -> Iterator[TestClient]:
    """The service in open mode: hook calls without a token (``hooks_open``)."""
    with TestClient(
        create_app(make_settings(tmp_path, keys, hooks_open=True)), raise_server_exceptions=False
    ) as c:
        yield c


def evaluation_id_of(link: str) -> str:
    """The stored evaluation's id in a card's signed link (``{base}/ui/evaluations/{id}?exp=...&sig=...``)."""
    path = urlsplit(link).path
    assert path.startswith("/ui/evaluations/"), link
    return path.rsplit("/", 1)[1]


def auth(keys: Keys, path: str, **kw: Any) -> dict[str, str]:
    """An Authorization header for a call to ``path`` (aud = BASE + path)."""
    return {"Authorization": f"Bearer {keys.token(BASE + path, **kw)}"}


def patient_record(**over: Any) -> dict[str, Any]:
    """The contract example: metastatic ileal WD G2 NET, SSTR-positive, progressed on octreotide LAR."""
    base: dict[str, Any] = PATIENT_EXAMPLE
    out = copy.deepcopy(base)
    out.update(over)
    return out


# ---- FHIR prefetch (mCODE-style, codes from netcds.fhir.codes) ------------------------------------------
def _searchset(*resources: dict[str, Any]) -> dict[str, Any] | None:
    if not resources:
        return None
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def _obs(
    oid: str, code: str, value: dict[str, Any], when: str = "2025-03-01", **extra: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": when,
        "code": {"coding": [{"system": LOINC, "code": code}]},
        **value,
        **extra,
    }


def prefetch(medications: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A realistic prefetch: metastatic ileal NET (ICD-10-CM C7A.012 + liver secondary), Ki-67 8 %, disease
    worsening, octreotide LAR given and stopped, plus ``medications`` (MedicationRequests)."""
    patient = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1962-05-01"}
    primary = {
        "resourceType": "Condition",
        "id": "c-net",
        "subject": {"reference": "Patient/p1"},
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
            ]
        },
        "verificationStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}
            ]
        },
        "code": {
            "coding": [
                {"system": ICD10, "code": "C7A.012", "display": "Malignant carcinoid tumor of the ileum"}
            ]
        },
        "bodySite": [{"coding": [{"system": SNOMED, "code": "34516001", "display": "Ileal structure"}]}],
    }
    liver = {
        "resourceType": "Condition",
        "id": "c-liver",
        "subject": {"reference": "Patient/p1"},
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
            ]
        },
        "code": {
            "coding": [{"system": ICD10, "code": "C7B.02", "display": "Secondary carcinoid tumors of liver"}]
        },
    }
    ki67 = _obs(
        "o-ki67", "29593-1", {"valueQuantity": {"value": 8, "unit": "%", "system": UCUM, "code": "%"}}
    )
    weight = _obs(
        "o-weight", "29463-7", {"valueQuantity": {"value": 68, "unit": "kg", "system": UCUM, "code": "kg"}}
    )
    status = _obs(
        "o-status",
        "97509-4",
        {
            "valueCodeableConcept": {
                "coding": [{"system": SNOMED, "code": "271299001", "display": "Patient's condition worsened"}]
            }
        },
    )
    octreotide = {
        "resourceType": "MedicationRequest",
        "id": "m-oct",
        "status": "stopped",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2024-01-10",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "7617", "display": "octreotide"}],
            "text": "octreotide LAR 30 mg IM every 4 weeks",
        },
    }
    return {
        "patient": patient,
        "conditions": _searchset(primary, liver),
        "observations": _searchset(ki67, weight, status),
        "medicationRequests": _searchset(octreotide, *(medications or [])),
        "medicationStatements": None,
    }


CLARITHROMYCIN = {
    "resourceType": "MedicationRequest",
    "id": "m-clari",
    "status": "active",
    "intent": "order",
    "subject": {"reference": "Patient/p1"},
    "authoredOn": "2025-03-20",
    "medicationCodeableConcept": {
        "coding": [{"system": RXNORM, "display": "clarithromycin 500 MG Oral Tablet"}],
        "text": "clarithromycin 500 mg tablet",
    },
}


def draft_daily(rid: str, display: str, mg: float | None, text: str | None = None) -> dict[str, Any]:
    """A draft MedicationRequest for ``mg`` by mouth once daily (``text``: the sig as written; ``mg``
    None: no dosage at all)."""
    out: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "display": display}]},
    }
    if mg is not None:
        dosage: dict[str, Any] = {
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}}],
        }
        out["dosageInstruction"] = [{"text": text, **dosage} if text else dosage]
    return out


# the product of the cabozantinib drafts: a dose form without a strength, so a dose change can be offered as
# an update of the order (a product stating a strength, e.g. "cabozantinib 60 MG Oral Tablet", cannot take
# another dose: tests/api/test_dose_update.py)
CABOZANTINIB_PRODUCT = "cabozantinib Oral Tablet [Cabometyx]"


def draft_cabozantinib(mg: float = 60, display: str = CABOZANTINIB_PRODUCT) -> dict[str, Any]:
    return draft_daily("draft-cabo", display, mg, f"{mg:g} mg by mouth once daily")


def hook_request(
    hook: str,
    *,
    prefetch_data: dict[str, Any] | None = None,
    drafts: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    ctx: dict[str, Any] = {"userId": "Practitioner/pr1", "patientId": "p1"}
    if hook in ("order-sign", "order-select"):
        ctx["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": d} for d in drafts or []],
        }
    body: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": ctx}
    if prefetch_data is not None:
        body["prefetch"] = prefetch_data
    body.update(extra)
    return body
