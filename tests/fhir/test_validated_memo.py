"""Resources validated before are served from the memo: same normalised JSON, fresh copies, and
nothing invalid or merely similar is ever served from it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from netcds.errors import InputError
from netcds.fhir.read import MEMO_MAX_CHARS, VALIDATED, validate_resource

OBS: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "ki67",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "29593-1"}]},
    "valueQuantity": {"value": 12.5, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
}


def test_a_repeated_resource_gives_the_same_normalised_json_as_a_fresh_copy() -> None:
    first = validate_resource(copy.deepcopy(OBS), "entry[0].resource")
    hits = VALIDATED.hits
    second = validate_resource(copy.deepcopy(OBS), "entry[0].resource")
    assert VALIDATED.hits == hits + 1
    assert second == first and second is not first
    second["valueQuantity"]["value"] = 99  # the caller's copy is its own
    assert validate_resource(copy.deepcopy(OBS), "x")["valueQuantity"]["value"] == 12.5


def test_key_order_does_not_matter_but_values_and_types_do() -> None:
    base = validate_resource(copy.deepcopy(OBS), "x")
    reordered = dict(reversed(list(copy.deepcopy(OBS).items())))
    assert validate_resource(reordered, "x") == base
    other = copy.deepcopy(OBS)
    other["valueQuantity"]["value"] = 13
    assert validate_resource(other, "x")["valueQuantity"]["value"] == 13


def test_an_invalid_resource_is_refused_every_time() -> None:
    bad = copy.deepcopy(OBS)
    bad["status"] = 7
    for _ in range(2):
        with pytest.raises(InputError) as err:
            validate_resource(copy.deepcopy(bad), "entry[1].resource")
        assert err.value.field.startswith("entry[1].resource.status")


def test_large_resources_are_not_kept() -> None:
    big = copy.deepcopy(OBS)
    big["id"] = "big"
    big["note"] = [{"text": "x" * (MEMO_MAX_CHARS + 1)}]
    size = len(VALIDATED)
    validate_resource(copy.deepcopy(big), "x")
    validate_resource(copy.deepcopy(big), "x")
    assert len(VALIDATED) == size
