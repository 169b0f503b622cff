"""A posted form field that names no patient field is an error at the form, never dropped silently
(the JSON import rejects an unknown field the same way)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import example, form_fields, hidden

SMALL_BOWEL = "small_bowel_after_ssa"


@pytest.mark.parametrize(
    "name",
    ["tumor.ki67_precent", "tumour.grade", "treatments[0].agnet", "foo[0].bar", "tumor.syndromes_x:none"],
)
def test_an_unknown_form_field_is_422_naming_it(bare_client: TestClient, name: str) -> None:
    data = {**form_fields(example(SMALL_BOWEL)), name: "12", "action": "evaluate"}
    r = bare_client.post("/ui/patient", data=data)
    assert r.status_code == 422
    summary = r.text.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert f"{name}: unknown field" in summary
    assert 'value="ileum" selected' in r.text  # the rest of the form is kept


def test_form_controls_and_patient_fields_are_not_unknown(bare_client: TestClient) -> None:
    record = example("five_lines")
    data = {**form_fields(record), "tumor.syndromes:none": "1", "action": "evaluate"}
    data.pop("tumor.syndromes", None)
    r = bare_client.post("/ui/patient", data=data)
    assert r.status_code == 200, r.text[:2000]
    assert "unknown field" not in r.text
    assert json.loads(hidden(r.text, "patient_json"))["tumor"]["syndromes"] == []


@pytest.mark.parametrize(
    ("name", "values"),
    [("tumor.primary_site", ["ileum", "lung"]), ("treatments[0].agent", ["everolimus", "sunitinib"])],
)
def test_a_one_value_field_posted_twice_is_422_naming_it(
    bare_client: TestClient, name: str, values: list[str]
) -> None:
    fields = [(k, v) for k, v in form_fields(example(SMALL_BOWEL)).items() if k != name]
    fields += [(name, v) for v in values] + [("action", "evaluate")]
    r = bare_client.post(
        "/ui/patient",
        content=_urlencode(fields),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 422
    summary = r.text.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert f"{name}: sent more than once" in summary


def _urlencode(fields: list[tuple[str, str]]) -> bytes:
    from urllib.parse import urlencode

    return urlencode(fields).encode()
