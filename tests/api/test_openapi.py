"""The checked-in OpenAPI document is current and complete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.api.openapi import DEFAULT_PATH, build_openapi, main, render


def test_checked_in_openapi_is_current() -> None:
    assert DEFAULT_PATH.exists(), "run: python -m netcds.api.openapi"
    assert DEFAULT_PATH.read_text(encoding="utf-8") == render(), (
        "docs/openapi.json is stale: run python -m netcds.api.openapi"
    )


def test_the_writer_never_takes_an_option_for_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--help"]) == 0 and "usage:" in capsys.readouterr().out
    assert main(["--bogus"]) == 2 and main(["a.json", "b.json"]) == 2
    assert list(tmp_path.iterdir()) == []  # nothing written under an option's name
    assert main(["--check", str(DEFAULT_PATH)]) == 0


def test_openapi_is_complete() -> None:
    doc = build_openapi()
    paths: dict[str, Any] = doc["paths"]
    expected = {
        ("post", "/api/v1/evaluate"),
        ("post", "/api/v1/evaluate/fhir"),
        ("get", "/api/v1/guidelines"),
        ("get", "/api/v1/guidelines/{guideline_id}/{version}"),
        ("get", "/api/v1/agents/{agent_id}"),
        ("post", "/api/v1/cases"),
        ("get", "/api/v1/cases/{case_id}"),
        ("get", "/api/v1/cases/{case_id}/evaluations"),
        ("get", "/api/v1/health"),
        ("get", "/cds-services"),
        ("post", "/cds-services/{service_id}"),
        ("post", "/cds-services/{service_id}/feedback"),
        ("post", "/api/v1/evaluations/{evaluation_id}/replay"),
    }
    have = {(m, p) for p, ops in paths.items() for m in ops}
    assert expected <= have
    schemas = doc["components"]["schemas"]
    assert {"Patient", "Evaluation", "Problem", "CaseResult", "ReplayResult"} <= set(schemas)
    assert "HTTPValidationError" not in json.dumps(doc)
    for p, ops in paths.items():
        for m, op in ops.items():
            assert op.get("summary"), (m, p)
            assert "200" in op["responses"] or "201" in op["responses"], (m, p)
            if m == "post" and not p.endswith("/replay"):
                assert "requestBody" in op, (m, p)
                body = op["requestBody"]["content"]
                assert any("example" in c or "examples" in c for c in body.values()), (m, p)
                assert "422" in op["responses"], (m, p)
    ev = paths["/api/v1/evaluate"]["post"]
    assert ev["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Patient"
    }
    assert ev["responses"]["422"]["content"]["application/problem+json"]["schema"]["$ref"].endswith(
        "/Problem"
    )


def test_documented_hook_examples_are_answered_as_sent(open_client: TestClient) -> None:
    """An integrator copies the request examples from the checked-in document: each must get cards
    (a prefetch key sent as null means "not fetched"; a missing key is a 412)."""
    doc = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    examples = doc["paths"]["/cds-services/{service_id}"]["post"]["requestBody"]["content"][
        "application/json"
    ]["examples"]
    services = {"patient-view": "netcds-patient-view", "order-sign": "netcds-order-sign"}
    assert set(examples) == set(services)
    for name, example in examples.items():
        r = open_client.post(f"/cds-services/{services[name]}", json=example["value"])
        assert r.status_code == 200, (name, r.text)
        assert r.json()["cards"], name
