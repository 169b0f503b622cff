"""The hot calls (REST evaluate, the CDS services) are answered ahead of FastAPI's router, and answer
exactly as the routed views do: same status, headers and body, errors included."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRouter
from fastapi.testclient import TestClient

import netcds.api.app
from netcds.api.app import create_app
from netcds.knowledge.load import DEFAULT_VERSION
from tests.api.conftest import (
    Keys,
    auth,
    draft_cabozantinib,
    hook_request,
    make_settings,
    patient_record,
    prefetch,
)
from tests.api.test_hooks import OS, PV

ROUTED = f"?guideline_version={DEFAULT_VERSION}"  # a query string: the same view, reached through the router


@pytest.fixture
def router_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths FastAPI's router was entered for."""
    seen: list[str] = []
    original = APIRouter.__call__

    async def counting(self: APIRouter, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(APIRouter, "__call__", counting)
    return seen


def test_hot_calls_skip_the_router_and_the_rest_goes_through_it(
    open_client: TestClient, router_calls: list[str]
) -> None:
    c = open_client
    assert c.post("/api/v1/evaluate", json=patient_record()).status_code == 200
    assert c.post(PV, json=hook_request("patient-view", prefetch_data=prefetch())).status_code == 200
    order = hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft_cabozantinib(60)])
    assert c.post(OS, json=order).status_code == 200
    assert router_calls == []
    assert c.post("/api/v1/evaluate" + ROUTED, json=patient_record()).status_code == 200
    assert c.get("/api/v1/health").status_code == 200
    assert (
        c.post(
            "/cds-services/no-such-service", json=hook_request("patient-view", prefetch_data=prefetch())
        ).status_code
        == 404
    )
    assert c.get("/api/v1/evaluate").status_code == 405
    assert router_calls == [
        "/api/v1/evaluate",
        "/api/v1/health",
        "/cds-services/no-such-service",
        "/api/v1/evaluate",
    ]


def _same(a: Any, b: Any) -> None:
    """Two answers alike but for the request id (and the problem's ``instance``, which is the path)."""
    assert a.status_code == b.status_code
    skip = {"x-request-id", "x-netcds-input-hash", "content-length"}
    assert {k: v for k, v in a.headers.items() if k not in skip} == {
        k: v for k, v in b.headers.items() if k not in skip
    }
    if a.headers["content-type"].startswith("application/problem+json"):
        pa, pb = a.json(), b.json()
        for p in (pa, pb):
            p.pop("request_id", None)
        assert pa == pb
    else:
        assert a.content == b.content


BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("valid", json.dumps(patient_record()).encode(), "application/json"),
    ("unknown field", json.dumps({**patient_record(), "tumour": {}}).encode(), "application/json"),
    ("out of range", json.dumps(patient_record(age_years=-3)).encode(), "application/json"),
    ("not JSON", b'{"tumor": ', "application/json"),
    ("not an object", b"[1, 2]", "application/json"),
    ("wrong content type", b"tumor=ileum", "application/x-www-form-urlencoded"),
    ("nested too deep", b"[" * 200 + b"]" * 200, "application/json"),
]


@pytest.mark.parametrize(("case", "body", "ctype"), BAD_BODIES, ids=[c for c, _, _ in BAD_BODIES])
def test_evaluate_answers_alike_on_both_paths(
    open_client: TestClient, case: str, body: bytes, ctype: str
) -> None:
    fast = open_client.post("/api/v1/evaluate", content=body, headers={"content-type": ctype})
    routed = open_client.post("/api/v1/evaluate" + ROUTED, content=body, headers={"content-type": ctype})
    _same(fast, routed)
    assert (fast.status_code == 200) == (case == "valid")


@pytest.fixture
def routed_client(tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The same service with no hot calls: every hook call goes through FastAPI's router (a query string
    can no longer route it there: an undeclared query parameter is a 422)."""
    monkeypatch.setattr(netcds.api.app, "hot_routes", lambda: {})
    app = create_app(make_settings(tmp_path / "routed", keys, hooks_open=True))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


HOOK_CASES: list[tuple[str, str, Any]] = [
    ("patient-view", PV, hook_request("patient-view", prefetch_data=prefetch())),
    ("order-sign", OS, hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft_cabozantinib(60)])),
    ("wrong hook", PV, hook_request("order-sign", prefetch_data=prefetch(), drafts=[draft_cabozantinib(60)])),
    (
        "no patientId",
        PV,
        {**hook_request("patient-view", prefetch_data=prefetch()), "context": {"userId": "Practitioner/1"}},
    ),
    ("no prefetch", PV, hook_request("patient-view")),
    (
        "prefetch not a bundle",
        PV,
        hook_request("patient-view", prefetch_data={**prefetch(), "conditions": 7}),
    ),
]


@pytest.mark.parametrize(("case", "path", "body"), HOOK_CASES, ids=[c for c, _, _ in HOOK_CASES])
def test_hook_calls_answer_alike_on_both_paths(
    open_client: TestClient, routed_client: TestClient, case: str, path: str, body: Any
) -> None:
    fast = open_client.post(path, json=body)
    routed = routed_client.post(path, json=body)
    assert fast.status_code == routed.status_code
    if fast.status_code == 200:  # cards carry fresh uuids and evaluation ids: compare them without
        assert _without_uuids(fast.json()) == _without_uuids(routed.json())
    else:
        _same(fast, routed)


def _without_uuids(value: Any) -> Any:
    if isinstance(value, str):
        # a signed link's id, expiry and signature differ per call
        return re.sub(r"/evaluations/[0-9a-f-]{36}(\?exp=\d+&sig=[\w-]+)?", "/evaluations/ID", value)
    if isinstance(value, dict):
        return {k: _without_uuids(v) for k, v in value.items() if k != "uuid"}
    if isinstance(value, list):
        return [_without_uuids(v) for v in value]
    return value


def test_hook_tokens_are_still_checked_on_the_fast_path(client: TestClient, keys: Any) -> None:
    body = hook_request("patient-view", prefetch_data=prefetch())
    assert client.post(PV, json=body).status_code == 401  # no token
    assert client.post(PV, json=body, headers=auth(keys, PV)).status_code == 200


def test_fast_path_log_line_names_the_route_template(
    open_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="netcds.api")
    open_client.post("/api/v1/evaluate", json=patient_record())
    open_client.post(PV, json=hook_request("patient-view", prefetch_data=prefetch()))
    assert "POST /api/v1/evaluate 200" in caplog.text
    assert "POST /cds-services/{service_id} 200" in caplog.text
    assert "netcds-patient-view" not in caplog.text


def test_an_unexpected_error_on_the_fast_path_is_a_500_problem(
    tmp_path: Any, keys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netcds.api import rest

    def broken(*_a: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(rest, "parse_patient", broken)
    app = create_app(make_settings(tmp_path, keys))
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/api/v1/evaluate", json=patient_record())
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "boom" not in r.text
