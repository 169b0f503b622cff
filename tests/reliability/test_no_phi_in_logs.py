"""No patient data in any log: a recognisable fake patient goes through REST, FHIR and CDS Hooks (prefetch
and FHIR fetch), valid and invalid, and through a forced internal error; every log record (all loggers at
DEBUG), everything printed, and a real server's stdout and stderr are searched for its identifying values."""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.settings import Settings
from tests.api.conftest import ICD10, LOINC, RXNORM, SNOMED, UCUM, draft_cabozantinib
from tests.reliability.server import start

PID = "phi-zx9-4471"  # FHIR ids are case-sensitive; the contract id is free text
FAMILY, GIVEN = "Marchetti-Oyelaran", "Quenby"
BIRTH = "1957-03-14"
MRN = "MRN-88123-ZQ"
DRUG = "zorbenatide-qx44"  # a made-up medicine name, so it cannot come from anywhere else
IDENTIFYING = [PID, FAMILY, GIVEN, BIRTH, MRN, DRUG, DRUG.upper(), "1957"]


def contract_patient(**over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": PID,
        "age_years": 68,
        "sex": "female",
        "tumor": {"primary_site": "ileum", "differentiation": "well", "grade": "G2", "ki67_percent": 8,
                  "sstr_status": "positive"},
        "disease": {"extent": "distant_metastatic", "status": "progressive", "tumor_burden": "clinically_significant"},
        "medications": [DRUG],
    }  # fmt: skip
    rec.update(over)
    return rec


def _searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


PATIENT = {"resourceType": "Patient", "id": PID, "gender": "female", "birthDate": BIRTH,
           "name": [{"family": FAMILY, "given": [GIVEN]}],
           "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": MRN}]}  # fmt: skip
SUBJECT = {"reference": f"Patient/{PID}"}
CONDITIONS = _searchset(
    {"resourceType": "Condition", "id": f"{PID}-net", "subject": SUBJECT,
     "code": {"coding": [{"system": ICD10, "code": "C7A.012"}]},
     "bodySite": [{"coding": [{"system": SNOMED, "code": "34516001"}]}]},
    {"resourceType": "Condition", "id": f"{PID}-liver", "subject": SUBJECT,
     "code": {"coding": [{"system": ICD10, "code": "C7B.02"}]}},
)  # fmt: skip
OBSERVATIONS = _searchset(
    {"resourceType": "Observation", "id": f"{PID}-ki67", "status": "final", "subject": SUBJECT,
     "effectiveDateTime": "2025-03-01", "code": {"coding": [{"system": LOINC, "code": "29593-1"}]},
     "valueQuantity": {"value": 8, "unit": "%", "system": UCUM, "code": "%"}},
)  # fmt: skip
MEDS = _searchset(
    {"resourceType": "MedicationRequest", "id": f"{PID}-med", "status": "active", "intent": "order",
     "subject": SUBJECT, "authoredOn": "2025-01-02",
     "medicationCodeableConcept": {"text": f"{DRUG} 5 mg daily", "coding": [{"system": RXNORM, "display": DRUG}]}},
)  # fmt: skip
PREFETCH = {"patient": PATIENT, "conditions": CONDITIONS, "observations": OBSERVATIONS,
            "medicationRequests": MEDS, "medicationStatements": None}  # fmt: skip
BUNDLE = {"resourceType": "Bundle", "type": "collection",
          "entry": [{"resource": r} for r in [PATIENT, *(e["resource"] for b in (CONDITIONS, OBSERVATIONS, MEDS)
                                                         for e in b["entry"])]]}  # fmt: skip


def hook(
    kind: str, *, with_prefetch: bool = True, drafts: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    ctx: dict[str, Any] = {"userId": "Practitioner/pr1", "patientId": PID}
    if drafts is not None:
        ctx["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": d} for d in drafts],
        }
    body: dict[str, Any] = {"hook": kind, "hookInstance": str(uuid.uuid4()), "context": ctx}
    if with_prefetch:
        body["prefetch"] = PREFETCH
    else:  # the service fetches from the client's FHIR server: URLs carry the patient id
        body["fhirServer"] = "https://fhir.hospital.example/r4"
        body["fhirAuthorization"] = {"access_token": "tok", "token_type": "Bearer", "scope": "patient/*.read",
                                     "expires_in": 300, "subject": "cds"}  # fmt: skip
    return body


def fhir_server(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path.endswith(f"/Patient/{PID}"):
        return httpx.Response(200, json=PATIENT)
    for part, data in (("Condition", CONDITIONS), ("Observation", OBSERVATIONS), ("MedicationRequest", MEDS)):
        if path.endswith("/" + part):
            return httpx.Response(200, json=data)
    return httpx.Response(200, json=_searchset())


def exercise(c: TestClient) -> None:
    """Every kind of request with the fake patient, checking each did what it should."""
    draft = draft_cabozantinib()
    draft["subject"] = SUBJECT
    draft["note"] = [{"text": f"for {GIVEN} {FAMILY} {MRN}"}]
    assert c.post("/api/v1/evaluate", json=contract_patient()).status_code == 200
    assert c.post("/api/v1/evaluate/fhir?as_of=2025-06-01", json=BUNDLE).status_code == 200
    created = c.post("/api/v1/cases", json=contract_patient(), headers={"Idempotency-Key": f"{PID}-k"})
    assert created.status_code == 201
    case_id, ev_id = created.json()["case_id"], created.json()["evaluation_id"]
    assert c.post(f"/api/v1/cases/{case_id}/versions", json=contract_patient(age_years=69)).status_code == 201
    assert c.get(f"/api/v1/cases/{case_id}").status_code == 200
    assert c.get(f"/api/v1/evaluations/{ev_id}").status_code == 200
    assert c.post(f"/api/v1/evaluations/{ev_id}/replay").status_code == 200
    pv = c.post("/cds-services/netcds-patient-view", json=hook("patient-view"))
    assert pv.status_code == 200 and pv.json()["cards"]
    fetched = c.post("/cds-services/netcds-patient-view", json=hook("patient-view", with_prefetch=False))
    assert fetched.status_code == 200 and fetched.json()["cards"]
    order = c.post("/cds-services/netcds-order-sign", json=hook("order-sign", drafts=[draft]))
    assert order.status_code == 200 and order.json()["cards"]
    card = pv.json()["cards"][0]["uuid"]
    fb = {"feedback": [{"card": card, "outcome": "overridden", "outcomeTimestamp": "2025-06-01T10:00:00Z",
                        "overrideReason": {"userComment": f"{GIVEN} {FAMILY} declined"}}]}  # fmt: skip
    assert c.post("/cds-services/netcds-patient-view/feedback", json=fb).status_code == 200
    # invalid input carrying the identifying values: the 422 answers the caller, the log stays clean
    bad = contract_patient(age_years=f"{BIRTH} {GIVEN}")
    bad[f"{FAMILY}_{MRN}"] = DRUG
    assert c.post("/api/v1/evaluate", json=bad).status_code == 422
    assert c.post(f"/api/v1/nowhere/{PID}/{FAMILY}?mrn={MRN}").status_code == 404
    assert c.post("/api/v1/evaluate/fhir", json={**BUNDLE, "type": 5}).status_code == 422
    assert (
        c.post(
            "/cds-services/netcds-patient-view", json={"hook": PID, "context": {"patientId": FAMILY}}
        ).status_code
        == 422
    )


def _found(value: str, text: str) -> bool:
    """Whether ``value`` occurs in ``text``; a number only as a number of its own, not as a run of digits
    inside a random hex id, a port or a pid (request ids are random hex: '...671957ff...' once failed this)."""
    if not value.isdigit():
        return value in text
    return re.search(rf"(?<![0-9A-Za-z]){value}(?![0-9A-Za-z])", text) is not None


def assert_clean(text: str, where: str) -> None:
    for value in IDENTIFYING:
        assert not _found(value, text), f"{value!r} found in {where}"


def test_the_search_finds_a_leaked_year_but_not_hex_ids() -> None:
    for leak in ("birth_year=1957", "born 1957.", '"1957"', "1957-03", "year:1957\n"):
        assert _found("1957", leak), leak
    for noise in ("request=5a4f8285671957ff7c414c", "port 41957", "pid 19570", "0x1957a"):
        assert not _found("1957", noise), noise
    assert _found(FAMILY, f"name={FAMILY}x")  # names: any occurrence counts


def test_no_identifying_value_in_any_in_process_log(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'phi.db'}", hooks_open=True, fhir_fetch=True,
                        base_url="http://testserver", log_level="debug")  # fmt: skip
    app = create_app(settings, fhir_transport=httpx.MockTransport(fhir_server))
    with TestClient(app, raise_server_exceptions=False) as c:
        exercise(c)

        # a bug whose exception message quotes the patient: the client gets an error id, the log gets
        # the exception type and place only
        def boom(*_: Any, **__: Any) -> Any:
            raise RuntimeError(f"cannot handle {PID} {GIVEN} {FAMILY} born {BIRTH} on {DRUG}")

        monkeypatch.setattr("netcds.api.context.evaluate", boom)
        monkeypatch.setattr(app.state.netcds.eval_cache, "max_bytes", 0)
        r = c.post("/api/v1/evaluate", json=contract_patient(age_years=70))
        assert r.status_code == 500 and "internal error" in r.json()["detail"]
        assert_clean(r.text, "the 500 answer")
    records = "\n".join(
        f"{rec.name} {rec.levelname} {rec.getMessage()} {rec.args!r} {rec.exc_text or ''}"
        for rec in caplog.records
    )
    assert "unhandled error" in records and "RuntimeError" in records  # the bug is logged ...
    assert len(caplog.records) > 20  # ... and so is every request
    assert_clean(records, "log records")
    out = capsys.readouterr()
    assert_clean(out.out + out.err, "stdout/stderr")


def test_no_identifying_value_in_a_real_servers_output(tmp_path: Path) -> None:
    """The real process at debug level (uvicorn's and the libraries' own logging included)."""
    served = start(
        f"sqlite:///{tmp_path / 'phi.db'}", tmp_path, env={"NETCDS_LOG_LEVEL": "debug"}, name="phi"
    )
    try:
        with httpx.Client(base_url=served.url, timeout=30) as c:
            # the same traffic as in-process, except the FHIR fetch (no FHIR server to reach from here)
            assert c.post("/api/v1/evaluate", json=contract_patient()).status_code == 200
            assert c.post("/api/v1/evaluate/fhir?as_of=2025-06-01", json=BUNDLE).status_code == 200
            created = c.post("/api/v1/cases", json=contract_patient())
            assert created.status_code == 201
            assert c.get(f"/api/v1/cases/{created.json()['case_id']}").status_code == 200
            assert c.get(f"/api/v1/evaluations/{created.json()['evaluation_id']}").status_code == 200
            assert c.post("/cds-services/netcds-patient-view", json=hook("patient-view")).status_code == 200
            draft = draft_cabozantinib()
            draft["subject"] = SUBJECT
            assert (
                c.post("/cds-services/netcds-order-sign", json=hook("order-sign", drafts=[draft])).status_code
                == 200
            )
            r = c.post("/cds-services/netcds-patient-view", json=hook("patient-view", with_prefetch=False))
            assert r.status_code == 412  # fetching is off: the missing keys are named, not the patient
            assert c.post("/api/v1/evaluate", json=contract_patient(age_years=GIVEN)).status_code == 422
            assert c.get(f"/api/v1/{PID}/{FAMILY}", params={"mrn": MRN}).status_code == 404
            assert c.get("/api/v1/health").json()["status"] == "ok"
    finally:
        served.stop()
    output = served.output()
    assert "netcds.api" in output and "/api/v1/cases" in output  # the request log is there ...
    assert_clean(output, "the server's stdout/stderr")  # ... without the patient
