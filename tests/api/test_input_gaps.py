"""Input the service used to take silently: unknown and repeated query parameters, HEAD, a Content-Encoding,
lax as_of dates, a case version of another patient, a repeated Idempotency-Key, unknown feedback members."""

from __future__ import annotations

import gzip
import json
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.testclient import TestClient

from netcds.api.problems import ApiProblem, install_handlers
from netcds.api.request_checks import known_query
from netcds.api.rest import _iso_date
from netcds.store import Store
from tests.api.conftest import OS, PV, Keys, auth, patient_record

ISSUED = "5d9f4c3e-1b2a-5c6d-8e7f-0a1b2c3d4e5f"
BUNDLE = {"resourceType": "Bundle", "type": "collection", "entry": []}


def refused(r: httpx.Response, status: int, *fields: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    if fields:
        assert [e["field"] for e in body["errors"]] == list(fields), body
    return body


# 1. query parameters ------------------------------------------------------------------------------------
def test_a_misspelt_query_parameter_is_refused_not_ignored(client: TestClient) -> None:
    r = client.post("/api/v1/evaluate?knowlege_version=5.2024-r6", json=patient_record())
    body = refused(r, 422, "query.knowlege_version")
    assert "guideline_version" in body["errors"][0]["message"]  # what the endpoint does take


def test_a_single_valued_parameter_given_twice_is_refused(client: TestClient) -> None:
    r = client.post(
        "/api/v1/evaluate?guideline_version=5.2024&guideline_version=5.2024-r2", json=patient_record()
    )
    refused(r, 422, "query.guideline_version")
    r = client.post("/api/v1/evaluate/fhir?as_of=2025-01-01&as_of=2025-06-01", json=BUNDLE)
    refused(r, 422, "query.as_of")


def test_declared_query_parameters_still_work(client: TestClient) -> None:
    r = client.post("/api/v1/evaluate?guideline_version=5.2024", json=patient_record())
    assert r.status_code == 200, r.text
    assert client.post("/api/v1/evaluate?", json=patient_record()).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/health"),
        ("get", "/api/v1/guidelines"),
        ("get", "/api/v1/agents"),
        ("get", "/api/v1/docs"),
        ("get", "/cds-services"),
        ("post", PV),
        ("post", OS + "/feedback"),
        ("post", "/api/v1/cases"),
    ],
)
def test_every_rest_and_hooks_route_refuses_unknown_query_parameters(
    client: TestClient, keys: Keys, method: str, path: str
) -> None:
    headers = auth(keys, path) if path.startswith("/cds-services") else {}
    r = client.request(method, path + "?b=1&verbose=1", json={}, headers=headers)
    refused(r, 422, "query.b", "query.verbose")


def test_a_parameter_declared_as_a_list_may_repeat() -> None:
    router = APIRouter(dependencies=[Depends(known_query)])

    @router.get("/items")
    async def items(tag: Annotated[list[str] | None, Query()] = None, one: str | None = None) -> list[str]:
        return tag or []

    app = FastAPI()
    install_handlers(app)
    app.include_router(router)
    c = TestClient(app)
    assert c.get("/items?tag=a&tag=b&one=x").json() == ["a", "b"]
    refused(c.get("/items?tag=a&one=x&one=y"), 422, "query.one")


# 2. HEAD -------------------------------------------------------------------------------------------------
VARYING = {"x-request-id", "date"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/health",
        "/api/v1/guidelines/nccn-net/5.2024",
        "/api/v1/agents/no-such-agent",
        "/api/v1/docs",
        "/cds-services",
        "/ui",
        "/ui/guideline",
        "/",
        "/api/v1/evaluate",  # POST only: HEAD answers as GET does (405)
    ],
)
def test_head_answers_as_get_without_the_body(client: TestClient, keys: Keys, path: str) -> None:
    def headers() -> dict[str, str]:  # a fresh token each time: a token's jti is used once
        return auth(keys, path) if path.startswith("/cds-services") else {}

    get = client.get(path, headers=headers(), follow_redirects=False)
    head = client.head(path, headers=headers(), follow_redirects=False)
    assert head.status_code == get.status_code != 500, (path, head.status_code, get.status_code)
    assert head.content == b""
    assert {k: v for k, v in head.headers.items() if k not in VARYING} == {
        k: v for k, v in get.headers.items() if k not in VARYING
    }


# 3. Content-Encoding -----------------------------------------------------------------------------------
def test_a_compressed_body_is_415_not_unreadable_json(client: TestClient) -> None:
    body = gzip.compress(json.dumps(patient_record()).encode())
    for coding in ("gzip", "br", "deflate, gzip"):
        r = client.post(
            "/api/v1/evaluate",
            content=body,
            headers={"content-type": "application/json", "content-encoding": coding},
        )
        problem = refused(r, 415)
        assert problem["type"] == "urn:netcds:problem:unsupported-content-encoding"
        assert coding in problem["detail"]
        assert r.headers["accept-encoding"] == "identity"
    plain = client.post(
        "/api/v1/evaluate",
        content=json.dumps(patient_record()).encode(),
        headers={"content-type": "application/json", "content-encoding": "identity"},
    )
    assert plain.status_code == 200, plain.text


# 4. as_of ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["20261101", "2026-W45-1", "2026-02-30", "2026-11-01T00:00", "2026-1-01"])
def test_as_of_takes_only_real_yyyy_mm_dd_dates(text: str) -> None:
    with pytest.raises(ApiProblem) as caught:
        _iso_date(text)
    said = f"must be a calendar date written YYYY-MM-DD (got {text!r})"
    assert caught.value.status == 422 and caught.value.errors == [("query.as_of", said)]


def test_as_of_refused_through_the_api(client: TestClient) -> None:
    """One message for every refused text, the same in detail and errors (session 42: a text the pattern
    refused got the framework's wording, a non-date another message than its errors entry)."""
    for text in ("20261101", "2026-W45-1", "2026-02-30", "0"):
        r = client.post(f"/api/v1/evaluate/fhir?as_of={text}", json=BUNDLE)
        refused(r, 422, "query.as_of")
        said = f"must be a calendar date written YYYY-MM-DD (got {text!r})"
        body = r.json()
        assert body["detail"] == f"query.as_of: {said}"
        assert body["errors"] == [{"field": "query.as_of", "message": said}]
    assert str(_iso_date("2024-02-29")) == "2024-02-29"


# 5. a case version of another patient -------------------------------------------------------------------
def _versions(client: TestClient, case_id: str) -> int:
    return len(client.get(f"/api/v1/cases/{case_id}").json()["versions"])


def test_a_case_version_with_another_patient_id_is_409(client: TestClient) -> None:
    first = client.post("/api/v1/cases", json=patient_record(id="pt-1"))
    assert first.status_code == 201, first.text
    cid = first.json()["case_id"]
    body = refused(client.post(f"/api/v1/cases/{cid}/versions", json=patient_record(id="pt-2")), 409, "id")
    assert body["type"] == "urn:netcds:problem:case-patient-mismatch"
    without = {k: v for k, v in patient_record().items() if k != "id"}
    refused(client.post(f"/api/v1/cases/{cid}/versions", json=without), 409, "id")  # an id dropped
    assert _versions(client, cid) == 1  # nothing stored
    same = client.post(f"/api/v1/cases/{cid}/versions", json=patient_record(id="pt-1", age_years=63.0))
    assert same.status_code == 201, same.text
    assert _versions(client, cid) == 2


def test_a_case_without_id_takes_no_id_later(client: TestClient) -> None:
    without = {k: v for k, v in patient_record().items() if k != "id"}
    cid = client.post("/api/v1/cases", json=without).json()["case_id"]
    refused(client.post(f"/api/v1/cases/{cid}/versions", json=patient_record(id="pt-9")), 409, "id")
    assert client.post(f"/api/v1/cases/{cid}/versions", json=without).status_code == 201


# 6. Idempotency-Key twice ---------------------------------------------------------------------------------
def test_idempotency_key_on_two_lines_is_refused(client: TestClient) -> None:
    for values in (("key-a", "key-b"), ("key-a", "key-a")):
        r = client.post(
            "/api/v1/cases",
            json=patient_record(),
            headers=[("Idempotency-Key", values[0]), ("Idempotency-Key", values[1])],
        )
        refused(r, 422, "header.Idempotency-Key")
    assert client.get("/api/v1/health").status_code == 200
    one = client.post("/api/v1/cases", json=patient_record(), headers={"Idempotency-Key": "key-a"})
    assert one.status_code == 201, one.text


# 7. feedback members ------------------------------------------------------------------------------------
def _store(client: TestClient) -> Store:
    store: Store = client.app.state.netcds.store  # type: ignore[attr-defined]
    return store


def _feedback(client: TestClient, keys: Keys, body: dict[str, Any]) -> httpx.Response:
    path = OS + "/feedback"
    return client.post(path, json=body, headers=auth(keys, path))


def _item(**extra: Any) -> dict[str, Any]:
    return {"card": ISSUED, "outcome": "overridden", "outcomeTimestamp": "2025-03-02T10:15:00Z", **extra}


def test_feedback_with_an_unknown_member_is_422_naming_it(client: TestClient, keys: Keys) -> None:
    _store(client).record_issued_cards("netcds-order-sign", [(ISSUED, [])])
    reason = {"reason": {"code": "x", "system": "urn:s"}, "userComment": "seen"}
    cases = [
        ({"feedback": [_item(overideReason=reason)]}, "feedback[0].overideReason"),
        (
            {"feedback": [_item(overrideReason={**reason, "comment": "x"})]},
            "feedback[0].overrideReason.comment",
        ),
        ({"feedback": [_item()], "feedbacks": []}, "feedbacks"),
    ]
    for body, field in cases:
        problem = refused(_feedback(client, keys, body), 422, field)
        assert "unknown member" in problem["errors"][0]["message"]
    assert _store(client).feedback() == []
    ok = _feedback(client, keys, {"feedback": [_item(overrideReason=reason, extension={"org.example": 1})]})
    assert ok.status_code == 200 and ok.json() == {"stored": 1}, ok.text  # the reserved `extension`
