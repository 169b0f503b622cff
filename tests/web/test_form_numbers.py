"""Numbers typed in the patient form: "150,000" platelets is never read as 150 (a comma or dot before
exactly three digits is a thousands separator or a decimal mark, which is unknown), decimal commas
still work for measured values, and per-µL counts take thousands separators."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.datastructures import ImmutableMultiDict

from netcds.web.form_data import is_count, read_form
from netcds.web.form_schema import FieldDef, form_schema
from tests.web.conftest import field_block, hidden

BASE = {"tumor.primary_site": "ileum"}


def _number_fields() -> list[FieldDef]:
    schema = form_schema()
    rows = [f for group in schema.rows.values() for f in group.fields]
    return [f for f in [*schema.fields.values(), *rows] if f.kind == "number"]


def _read(name: str, raw: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    data, state = read_form(ImmutableMultiDict({**BASE, name: raw}))
    return data, state.errors


def _value(data: dict[str, Any], name: str) -> Any:
    node: Any = data
    for part in name.replace("[0]", ".0").split("."):
        node = node[int(part)] if part.isdigit() else node[part]
    return node


def test_the_count_fields_are_the_per_microlitre_cell_counts() -> None:
    counts = sorted(f.path for f in _number_fields() if is_count(f))
    assert counts == ["comorbidities.neutrophils_per_ul", "comorbidities.platelets_per_ul"]


@pytest.mark.parametrize("f", _number_fields(), ids=lambda f: f.path)
@pytest.mark.parametrize("raw", ["150,000", "1,500", "150.000", "1.500"])
def test_three_digits_after_a_comma_or_dot_is_never_read_as_a_decimal(f: FieldDef, raw: str) -> None:
    name = f.name(0)
    data, errors = _read(name, raw)
    if is_count(f) and "," in raw:
        assert not errors.get(name)
        assert _value(data, name) == float(raw.replace(",", ""))
    else:
        assert errors[name] and errors[name][0].startswith("ambiguous: write ")
        whole, frac = raw.replace(",", ".").split(".")
        assert f"{whole}{frac}" in errors[name][0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12,5", 12.5), ("12.5", 12.5), ("0,125", 0.125), ("12,50", 12.5), ("1,5000", 1.5), ("7", 7.0)],
)
def test_a_measured_value_keeps_its_decimal_comma(raw: str, expected: float) -> None:
    data, errors = _read("tumor.ki67_percent", raw)
    assert not errors
    assert data["tumor"]["ki67_percent"] == expected


def test_the_ambiguous_message_names_both_readings() -> None:
    _, errors = _read("tumor.ki67_percent", "1,500")
    assert errors["tumor.ki67_percent"] == ["ambiguous: write 1500 or 1.5 (got '1,500')"]
    _, errors = _read("treatments[0].dose_mg", "150.000")
    assert errors["treatments[0].dose_mg"] == ["ambiguous: write 150000 or 150.0 (got '150.000')"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("150000", 150000.0),
        ("150,000", 150000.0),
        ("150 000", 150000.0),
        ("150\u00a0000", 150000.0),
        ("150\u202f000", 150000.0),
        ("1,500,000", 1500000.0),
        ("1 500 000", 1500000.0),
        ("150000.0", 150000.0),
        ("1.5e5", 150000.0),
        ("85", 85.0),
    ],
)
def test_a_count_takes_thousands_separators(raw: str, expected: float) -> None:
    data, errors = _read("comorbidities.platelets_per_ul", raw)
    assert not errors
    assert data["comorbidities"]["platelets_per_ul"] == expected


@pytest.mark.parametrize(
    "raw", ["1.5", "1,5", "1500.5", "150.000", "1.500.000", "1,500 000", "1,50,000", "150,00"]
)
def test_a_count_refuses_a_decimal_or_unclear_grouping(raw: str) -> None:
    data, errors = _read("comorbidities.neutrophils_per_ul", raw)
    assert errors["comorbidities.neutrophils_per_ul"]
    assert "neutrophils_per_ul" not in data.get("comorbidities", {})


def test_posting_150_000_platelets_is_150000_not_150(bare_client: TestClient) -> None:
    r = bare_client.post("/ui/patient", data={**BASE, "comorbidities.platelets_per_ul": "150,000"})
    assert r.status_code == 200, r.text[:2000]
    assert json.loads(hidden(r.text, "patient_json"))["comorbidities"]["platelets_per_ul"] == 150000


@pytest.mark.parametrize(
    ("name", "raw"),
    [("comorbidities.platelets_per_ul", "150.000"), ("tumor.ki67_percent", "1,500"), ("weight_kg", "1.500")],
)
def test_posting_an_ambiguous_number_is_422_at_that_field(
    bare_client: TestClient, name: str, raw: str
) -> None:
    r = bare_client.post("/ui/patient", data={**BASE, name: raw})
    assert r.status_code == 422
    block = field_block(r.text, name)
    assert 'aria-invalid="true"' in block and "ambiguous: write " in block
    assert f'value="{raw}"' in block  # the user's text is kept
