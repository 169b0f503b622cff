"""Contract conformance (review C, session 25): a whole section given as null reads as unknown, as the
contract says of every null; error messages speak JSON and name the limit, not Python or pydantic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from netcds import evaluate
from netcds.cli import app
from netcds.knowledge import Knowledge
from netcds.patient import NULLABLE_SECTIONS, Patient

BASE: dict[str, Any] = {
    "id": "null-sections",
    "tumor": {"primary_site": "ileum", "differentiation": "well", "grade": "G2"},
    "disease": {"extent": "distant_metastatic", "status": "progressive"},
}


@pytest.mark.parametrize("section", NULLABLE_SECTIONS)
def test_a_null_section_is_the_section_left_out(kb: Knowledge, section: str) -> None:
    null = Patient.model_validate({**BASE, section: None})
    absent = Patient.model_validate({k: v for k, v in BASE.items() if k != section})
    assert null == absent
    assert evaluate(null, kb).model_dump_json() == evaluate(absent, kb).model_dump_json()


def test_a_null_disease_leaves_the_setting_waiting_for_its_facts(kb: Knowledge) -> None:
    ev = evaluate(Patient.model_validate({**BASE, "disease": None}), kb)
    assert ev.setting.status == "needs_data"
    assert any(m.startswith("disease.") for m in ev.needs_data)


def test_the_tumor_stays_required_and_null_is_refused() -> None:
    with pytest.raises(ValueError, match="tumor"):
        Patient.model_validate({**BASE, "tumor": None})


def test_schema_says_the_sections_may_be_null() -> None:
    props = Patient.model_json_schema()["properties"]
    for section in NULLABLE_SECTIONS:
        assert {"type": "null"} in props[section]["anyOf"], section
    assert "anyOf" not in props["tumor"]


def test_cli_accepts_null_sections(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text(json.dumps({**BASE, "comorbidities": None, "preferences": None, "biomarkers": None}))
    res = CliRunner().invoke(app, ["evaluate", str(f), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["patient_id"] == "null-sections"


def test_api_accepts_null_sections(client: TestClient) -> None:
    r = client.post("/api/v1/evaluate", json={**BASE, "context": None, "disease": None})
    assert r.status_code == 200, r.text
    assert r.json()["setting"]["status"] == "needs_data"


@pytest.mark.parametrize(
    ("body", "kind"),
    [(None, "null"), ([], "an array"), ("x", "a string"), (3, "a number"), (True, "a boolean")],
)
def test_a_body_that_is_not_an_object_is_named_in_json_words(
    client: TestClient, body: Any, kind: str
) -> None:
    r = client.post(
        "/api/v1/evaluate", content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail.endswith(f"got {kind}"), detail
    assert "NoneType" not in detail and "list" not in detail


def test_a_too_long_id_names_the_limit(client: TestClient) -> None:
    r = client.post("/api/v1/evaluate", json={**BASE, "id": "x" * 201})
    assert r.status_code == 422
    assert r.json()["errors"][0] == {"field": "id", "message": "is longer than 200 characters"}


def test_an_empty_medication_name_is_named(client: TestClient) -> None:
    r = client.post("/api/v1/evaluate", json={**BASE, "medications": [""]})
    assert r.status_code == 422
    assert r.json()["errors"][0] == {"field": "medications[0]", "message": "must not be empty"}
