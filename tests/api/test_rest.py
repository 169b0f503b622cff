"""REST API /api/v1 against the real app in-process: contract round trips and problem+json errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.settings import Settings
from tests.api.conftest import Keys, make_settings, patient_record

PROBLEM = "application/problem+json"


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status
    assert body["title"]
    assert body["request_id"] == r.headers["x-request-id"]
    return body


def fields(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body["errors"]]


def test_evaluate_contract_example(client: TestClient) -> None:
    r = client.post("/api/v1/evaluate", json=patient_record())
    assert r.status_code == 200
    ev = r.json()
    assert ev["guideline"] == {**ev["guideline"], "id": "nccn-net", "version": "5.2024"}
    assert ev["setting"]["table"] == "gi_wd_g12"
    lu = [o for o in ev["options"] if o["regimen"] == "lu177_dotatate"]
    assert lu and lu[0]["status"] == "eligible" and lu[0]["tier"] == "preferred" and lu[0]["category"] == "1"
    assert not any(o["regimen"] == "sunitinib" and o["status"] == "eligible" for o in ev["options"])
    assert len(r.headers["x-netcds-input-hash"]) == 64


def test_evaluate_same_input_same_bytes(client: TestClient) -> None:
    a = client.post("/api/v1/evaluate", json=patient_record())
    b = client.post("/api/v1/evaluate", json=patient_record())
    assert a.content == b.content


def test_unknown_stays_unknown_over_http(client: TestClient) -> None:
    rec = patient_record()
    del rec["tumor"]["sstr_status"]
    ev = client.post("/api/v1/evaluate", json=rec).json()
    lu = next(o for o in ev["options"] if o["regimen"] == "lu177_dotatate")
    assert lu["status"] == "needs_data"
    assert "tumor.sstr_status" in ev["needs_data"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r["tumor"].update(ki67_percent=150), "tumor.ki67_percent"),
        (lambda r: r["treatments"][0].update(end="2023-01-01"), "treatments[0].end"),
        (lambda r: r["tumor"].update(ki67_pct=5), "tumor.ki67_pct"),
        (lambda r: r["tumor"].pop("primary_site"), "tumor.primary_site"),
        (lambda r: r["tumor"].update(functional="no"), "tumor.functional"),
        (lambda r: r.update(age_years="62"), "age_years"),
        (lambda r: r.update(sex="male", pregnant=True), "pregnant"),
    ],
)
def test_invalid_patient_is_422_naming_the_field(client: TestClient, mutate: Any, field: str) -> None:
    rec = patient_record()
    mutate(rec)
    body = problem(client.post("/api/v1/evaluate", json=rec), 422)
    assert body["type"] == "urn:netcds:problem:validation"
    assert field in fields(body)
    assert body["detail"].startswith(field)


def test_every_error_is_listed(client: TestClient) -> None:
    rec = patient_record()
    rec["tumor"]["ki67_percent"] = -1
    rec["disease"]["extent"] = "everywhere"
    body = problem(client.post("/api/v1/evaluate", json=rec), 422)
    assert {"tumor.ki67_percent", "disease.extent"} <= set(fields(body))


@pytest.mark.parametrize("raw", [b"{bad json", b"[1, 2]", b'"text"', b"null", b"[" * 200 + b"]" * 200])
def test_malformed_json_is_422_not_500(client: TestClient, raw: bytes) -> None:
    r = client.post("/api/v1/evaluate", content=raw, headers={"content-type": "application/json"})
    problem(r, 422)


def test_wrong_content_type_is_415(client: TestClient) -> None:
    r = client.post(
        "/api/v1/evaluate", content=json.dumps(patient_record()), headers={"content-type": "text/plain"}
    )
    assert problem(r, 415)["type"] == "urn:netcds:problem:unsupported-media-type"
    r = client.post("/api/v1/evaluate", data={"a": "b"})
    problem(r, 415)


def test_body_over_limit_is_413(tmp_path: Path, keys: Keys) -> None:
    app = create_app(make_settings(tmp_path, keys, max_body_bytes=4096))
    with TestClient(app) as c:
        rec = patient_record(medications=["x" * 100] * 100)
        problem(c.post("/api/v1/evaluate", json=rec), 413)

        def chunks() -> Any:  # no Content-Length: counted while streaming
            for _ in range(10):
                yield b" " * 1024

        r = c.post("/api/v1/evaluate", content=chunks(), headers={"content-type": "application/json"})
        problem(r, 413)
        assert c.post("/api/v1/evaluate", json=patient_record()).status_code == 200


def test_unknown_route_and_method(client: TestClient) -> None:
    problem(client.get("/api/v1/nope"), 404)
    problem(client.get("/api/v1/evaluate"), 405)


def test_internal_error_is_problem_with_id(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(settings)
    boom = APIRouter()

    @boom.get("/api/v1/boom")
    def _boom() -> None:
        raise RuntimeError("secret patient detail")

    app.include_router(boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        body = problem(c.get("/api/v1/boom"), 500)
    assert body["type"] == "urn:netcds:problem:internal-error"
    assert "secret" not in json.dumps(body)
    assert "secret" not in caplog.text
    assert "RuntimeError" in caplog.text


def test_request_id_is_echoed_when_safe(client: TestClient) -> None:
    r = client.get("/api/v1/health", headers={"x-request-id": "abc12345-trace"})
    assert r.headers["x-request-id"] == "abc12345-trace"
    r = client.get("/api/v1/health", headers={"x-request-id": "<script>"})
    assert r.headers["x-request-id"] != "<script>"


def test_health(client: TestClient) -> None:
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert "nccn-net/5.2024" in body["guidelines"]
    assert body["hooks_open"] is False


def test_guidelines_as_data(client: TestClient) -> None:
    listed = client.get("/api/v1/guidelines").json()
    releases = {
        g["release"]: (g["version"], g["replaces"], g["default"]) for g in listed if g["id"] == "nccn-net"
    }
    assert releases == {
        "5.2024": ("5.2024", None, False),
        "5.2024-r2": ("5.2024", "5.2024", False),
        "5.2024-r3": ("5.2024", "5.2024-r2", False),
        "5.2024-r4": ("5.2024", "5.2024-r3", False),
        "5.2024-r5": ("5.2024", "5.2024-r4", False),
        "5.2024-r6": ("5.2024", "5.2024-r5", False),
        "5.2024-r7": ("5.2024", "5.2024-r6", False),
        "5.2024-r8": ("5.2024", "5.2024-r7", False),
        "5.2024-r9": ("5.2024", "5.2024-r8", False),
        "5.2024-r10": ("5.2024", "5.2024-r9", False),
        "5.2024-r11": ("5.2024", "5.2024-r10", False),
        "5.2024-r12": ("5.2024", "5.2024-r11", False),
        "5.2024-r13": ("5.2024", "5.2024-r12", True),
    }
    assert next(g for g in listed if g["default"])["url"].endswith("/api/v1/guidelines/nccn-net/5.2024-r13")
    r2 = client.get("/api/v1/guidelines/nccn-net/5.2024-r2").json()
    assert (r2["version"], r2["release"]) == ("5.2024", "5.2024-r2")
    kb = client.get("/api/v1/guidelines/nccn-net/5.2024").json()
    assert kb["version"] == "5.2024"
    gi = next(t for t in kb["tables"] if t["id"] == "gi_wd_g12")
    entries = [e for c in gi["columns"] for e in c["entries"]]
    cabo = next(e for e in entries if e["regimen"] == "cabozantinib")
    assert cabo["tier"] == "preferred"
    # conditions come back in the knowledge-file form, with their wording
    rule = cabo["category_rules"][0]
    assert rule["category"] == "1"
    assert set(rule["when"]) <= {"received", "says"} and "everolimus" in rule["when"]["received"]
    assert gi["applies_when"]["all"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/guidelines/nccn-net/9.9999",
        "/api/v1/guidelines/other/5.2024",
        "/api/v1/guidelines/nccn-net/%2E%2E",
    ],
)
def test_unknown_guideline_is_404(client: TestClient, path: str) -> None:
    problem(client.get(path), 404)


def test_evaluate_other_guideline_version_is_404(client: TestClient) -> None:
    r = client.post("/api/v1/evaluate?guideline_version=1.1999", json=patient_record())
    problem(r, 404)


def test_agent_monograph(client: TestClient) -> None:
    pytest.importorskip("netcds.safety")
    listed = client.get("/api/v1/agents").json()["agents"]
    assert "cabozantinib" in listed
    mono = client.get("/api/v1/agents/cabozantinib").json()
    assert "cabozantinib" in json.dumps(mono).lower()
    problem(client.get("/api/v1/agents/aspirin"), 404)


def test_case_round_trip(client: TestClient) -> None:
    r = client.post("/api/v1/cases", json=patient_record())
    assert r.status_code == 201
    created = r.json()
    case_id = created["case_id"]
    assert r.headers["location"] == f"/api/v1/cases/{case_id}"
    assert created["version"] == 1
    assert created["evaluation"]["setting"]["table"] == "gi_wd_g12"

    got = client.get(f"/api/v1/cases/{case_id}").json()
    assert got["latest_version"] == 1
    assert got["patient"]["tumor"]["ki67_percent"] == 8
    assert got["versions"][0]["patient_hash"] == created["patient_hash"]

    rec = patient_record()
    rec["tumor"]["sstr_status"] = "negative"
    r2 = client.post(f"/api/v1/cases/{case_id}/versions", json=rec)
    assert r2.status_code == 201
    assert r2.json()["version"] == 2
    lu = next(o for o in r2.json()["evaluation"]["options"] if o["regimen"] == "lu177_dotatate")
    assert lu["status"] == "not_eligible"

    evs = client.get(f"/api/v1/cases/{case_id}/evaluations").json()
    assert [e["case_version"] for e in evs] == [1, 2]
    assert all(e["guideline_version"] == "5.2024-r13" and e["engine_version"] for e in evs)
    assert evs[0]["input_hash"] == created["patient_hash"]

    stored = client.get(f"/api/v1/evaluations/{created['evaluation_id']}").json()
    assert stored["output"] == created["evaluation"]
    replayed = client.post(f"/api/v1/evaluations/{created['evaluation_id']}/replay").json()
    assert replayed["identical"] is True
    assert replayed["differences"] == []


def test_case_errors(client: TestClient) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    problem(client.get(f"/api/v1/cases/{missing}"), 404)
    problem(client.get(f"/api/v1/cases/{missing}/evaluations"), 404)
    problem(client.post(f"/api/v1/cases/{missing}/versions", json=patient_record()), 404)
    problem(client.get(f"/api/v1/evaluations/{missing}"), 404)
    problem(client.get("/api/v1/cases/not-an-id"), 422)
    body = problem(client.post("/api/v1/cases", json={"tumor": {}}), 422)
    assert "tumor.primary_site" in fields(body)


def test_audit_log_has_ids_and_hashes_only(client: TestClient) -> None:
    rec = patient_record(id="mrn-12345")
    created = client.post("/api/v1/cases", json=rec).json()
    client.get(f"/api/v1/cases/{created['case_id']}")
    client.get(f"/api/v1/cases/{created['case_id']}/evaluations")
    client.post("/api/v1/evaluate", json=rec)
    store = client.app.state.netcds.store  # type: ignore[attr-defined]
    log = store.audit_log()
    actions = [e.action for e in log]
    assert {"case.create", "case.read", "case.evaluations.read", "evaluate"} <= set(actions)
    assert all(e.actor == "local" and e.request_id for e in log)
    text = json.dumps([e.model_dump(mode="json") for e in log])
    assert "mrn-12345" not in text and "ileum" not in text


def test_rest_token_required_when_configured(tmp_path: Path, keys: Keys) -> None:
    app = create_app(make_settings(tmp_path, keys, api_require_token=True))
    with TestClient(app) as c:
        problem(c.post("/api/v1/evaluate", json=patient_record()), 401)
        aud = "http://testserver/api/v1"
        token = keys.token(aud)
        r = c.post("/api/v1/evaluate", json=patient_record(), headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        log = c.app.state.netcds.store.audit_log(action="evaluate")  # type: ignore[attr-defined]
        assert log[0].actor == "ehr-client@https://ehr.example.test"
        # every read of stored cases and evaluations asks for the token too (the evaluations of a case did not)
        created = c.post(
            "/api/v1/cases", json=patient_record(), headers={"Authorization": f"Bearer {keys.token(aud)}"}
        ).json()
        case, ev = created["case_id"], created["evaluation_id"]
        for path in (f"/cases/{case}", f"/cases/{case}/evaluations", f"/evaluations/{ev}"):
            problem(c.get(f"/api/v1{path}"), 401)
            ok = c.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {keys.token(aud)}"})
            assert ok.status_code == 200, (path, ok.text)


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def test_evaluate_fhir_bundle(client: TestClient) -> None:
    from tests.api.conftest import prefetch

    pf = prefetch()
    resources = [pf["patient"]] + [
        e["resource"]
        for k in ("conditions", "observations", "medicationRequests")
        for e in (pf[k] or {}).get("entry", [])
    ]
    r = client.post(
        "/api/v1/evaluate/fhir?as_of=2025-03-20",
        json=_bundle(*resources),
        headers={"content-type": "application/fhir+json"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["patient"]["tumor"]["primary_site"] == "ileum"
    assert body["patient"]["as_of"] == "2025-03-20"
    assert body["evaluation"]["setting"]["table"] == "gi_wd_g12"
    mapped = {m["field"]: m for m in body["mapping"]["mapped"]}
    assert mapped["tumor.ki67_percent"]["from"].startswith("Observation/o-ki67")


def test_evaluate_fhir_errors_name_the_place(client: TestClient) -> None:
    body = problem(client.post("/api/v1/evaluate/fhir", json={"resourceType": "Patient"}), 422)
    assert fields(body) == ["resourceType"]
    bad = _bundle({"resourceType": "Condition", "id": "c", "onsetDateTime": "not-a-date"})
    problem(client.post("/api/v1/evaluate/fhir", json=bad), 422)
    no_tumor = _bundle({"resourceType": "Patient", "id": "p"})
    body = problem(client.post("/api/v1/evaluate/fhir", json=no_tumor), 422)
    assert fields(body) == ["tumor.primary_site"]


def test_agent_monograph_lists_its_interactions(client: TestClient) -> None:
    """docs/api.md: the monograph includes its interactions, each with its public source."""
    pytest.importorskip("netcds.safety")
    mono = client.get("/api/v1/agents/cabozantinib").json()
    for kept in ("id", "name", "sources", "dose", "adjustments", "warnings", "monitoring"):
        assert kept in mono  # the monograph as authored is still all there
    by_id = {i["id"]: i for i in mono["interactions"]}
    assert set(by_id) == {"strong_cyp3a4_inhibitor", "cyp3a4_inducer", "grapefruit", "st_johns_wort"}
    inhibitor = by_id["strong_cyp3a4_inhibitor"]
    assert inhibitor["rule"] == "adjustments"
    assert inhibitor["effect"].startswith("daily dose lowered by 20 mg")
    assert inhibitor["source"]["section"] == "Drug Interactions: Strong CYP3A4 Inhibitors"
    (klass,) = inhibitor["classes"]
    assert klass["id"] == "strong_cyp3a4_inhibitor"
    assert "clarithromycin" in klass["medications"]
    assert klass["source"]["url"].startswith("https://www.fda.gov/")
    assert {c["id"] for c in by_id["cyp3a4_inducer"]["classes"]} == {
        "strong_cyp3a4_inducer",
        "moderate_cyp3a4_inducer",
    }
    for item in mono["interactions"]:
        assert item["finding"] and item["action"] and item["source"]["document"]
        public = [item["source"], *item["source"].get("also", [])]  # a seed citation names its public copy
        assert any(s.get("url", "").startswith("https://") for s in public), item["id"]
        for c in item["classes"]:
            assert c["label"] and c["source"]["document"] and c["medications"]
    # a named medication (not a class) carries the source of its listing
    lanreotide = client.get("/api/v1/agents/lanreotide").json()
    named = [m for i in lanreotide["interactions"] for m in i["medications"]]
    assert "cyclosporine" in [m["name"] for m in named]
    assert all(m["sources"] and m["sources"][0]["document"] for m in named)
    # an agent whose monograph has no medication rule says so with an empty list
    assert client.get("/api/v1/agents/pembrolizumab").json()["interactions"] == []
