"""The web form as the session-27 browser review used it: numbers are sent as typed (a browser's number
input dropped a decimal comma, so "1,5" became 15 without a word), list fields take one item per line, a
digit separator is refused, an unrecorded history is not "0 treatments", headings go in order."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from fastapi.testclient import TestClient
from starlette.datastructures import ImmutableMultiDict

from netcds.web.form_data import read_form
from tests.web.conftest import example, form_fields, hidden


def test_number_fields_are_text_inputs_so_the_server_reads_what_was_typed(client: TestClient) -> None:
    html = client.get("/ui/patient?example=small_bowel_after_ssa").text
    assert 'type="number"' not in html
    ki67 = re.search(r'<input[^>]*name="tumor.ki67_percent"[^>]*>', html)
    assert ki67 and 'type="text"' in ki67[0] and 'inputmode="decimal"' in ki67[0]


def test_the_what_if_box_is_a_text_input(client: TestClient) -> None:
    r = client.post(
        "/ui/patient", data={**form_fields(example("small_bowel_after_ssa")), "action": "evaluate"}
    )
    assert r.status_code == 200
    assert 'type="number"' not in r.text


@pytest.mark.parametrize("raw", ["1_0", "15_0000", "1__5"])
def test_a_digit_separator_is_refused_naming_the_field(raw: str) -> None:
    for name in ("tumor.ki67_percent", "comorbidities.platelets_per_ul"):
        _, state = read_form(ImmutableMultiDict({"tumor.primary_site": "ileum", name: raw}))
        assert state.errors.get(name), (name, raw)


def test_list_fields_take_one_item_per_line_and_keep_commas() -> None:
    form = {
        "tumor.primary_site": "ileum",
        "medications": "amoxicillin, clavulanate\nmetformin",
        "comorbidities.other": "Chronic kidney disease, stage 3; on dialysis",
    }
    data, state = read_form(ImmutableMultiDict(form))
    assert not state.errors
    assert data["medications"] == ["amoxicillin, clavulanate", "metformin"]
    assert data["comorbidities"]["other"] == ["Chronic kidney disease, stage 3; on dialysis"]


def test_an_unrecorded_history_is_not_shown_as_zero_treatments(client: TestClient) -> None:
    record = example("small_bowel_after_ssa")
    record.pop("treatments", None)
    r = client.post("/ui/patient", data={**form_fields(record), "action": "evaluate"})
    assert r.status_code == 200
    assert "treatments" not in json.loads(hidden(r.text, "patient_json"))
    strip = re.search(r"Treatments recorded.{0,200}", r.text, re.S)
    assert strip and "not recorded" in strip[0] and ">0<" not in strip[0]


def test_the_wd_g3_guideline_page_has_its_headings_in_order(client: TestClient) -> None:
    html = client.get("/ui/guideline/wd_g3").text
    levels = [int(h) for h in re.findall(r"<h([1-6])\b", html)]
    assert levels and levels[0] == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels
