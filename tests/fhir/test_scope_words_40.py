"""Review 40, netcds.fhir.scope: neuroendocrine words are matched as words, with the negation handling of
netcds.fhir.wording ("non-neuroendocrine", "noncarcinoid", "no evidence of carcinoid tumour" name no
neuroendocrine tumour), and the SNOMED CT morphology codes of netcds.fhir.tumor_codes are known by code."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from netcds.fhir import bundle_to_patient
from netcds.fhir.read import read_bundle
from netcds.fhir.scope import recorded_as_net, tumor_named_only
from netcds.fhir.tumor_codes import MORPHOLOGY_SNOMED_MCODE, MORPHOLOGY_SNOMED_NET
from tests.fhir.conftest import load, wrap

SNOMED = "http://snomed.info/sct"
IN_WORDS = "names a neuroendocrine tumour"


def condition(code: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": "c1",
        "code": code,
        "subject": {"reference": "Patient/p"},
        **more,
    }


def res(resource: dict[str, Any]) -> Any:
    [one] = read_bundle(wrap(resource))
    return one


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Neuroendocrine tumour of the pancreas", True),
        ("Carcinoid tumor of appendix", True),
        ("Well differentiated neuroendocrine NETs", True),
        ("Gastrinomas, duodenal tumours", True),
        ("Non-neuroendocrine tumour of the pancreas", False),
        ("Non neuroendocrine neoplasm", False),
        ("Noncarcinoid tumor of the lung", False),
        ("No evidence of carcinoid tumour", False),
        ("Non-small cell carcinoma of lung", False),
        ("Carcinoid heart disease", False),
        ("Pseudocarcinoid tumour", False),
    ],
)
def test_words_are_matched_as_words_with_negation(text: str, named: bool) -> None:
    assert (tumor_named_only(res(condition({"text": text}))) is not None) is named


@pytest.mark.parametrize("code", [c for c, *_ in MORPHOLOGY_SNOMED_NET])
def test_a_condition_coded_only_by_a_snomed_net_morphology_names_a_tumour(code: str) -> None:
    assert tumor_named_only(res(condition({"coding": [{"system": SNOMED, "code": code}]}))) is not None


@pytest.mark.parametrize("code", [c for c, *_ in MORPHOLOGY_SNOMED_MCODE])
def test_a_snomed_morphology_that_is_not_neuroendocrine_names_none(code: str) -> None:
    assert tumor_named_only(res(condition({"coding": [{"system": SNOMED, "code": code}]}))) is None


def primary(morph: dict[str, Any] | None = None, text: str = "Malignant tumour") -> dict[str, Any]:
    ext = (
        [{"url": "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior",
          "valueCodeableConcept": {"coding": [morph]}}]
        if morph else []
    )  # fmt: skip
    return condition({"text": text}, extension=ext)


def test_recorded_as_net_knows_snomed_morphology_codes() -> None:
    for code, *_ in MORPHOLOGY_SNOMED_NET:
        assert recorded_as_net(res(primary({"system": SNOMED, "code": code})))
    for code, *_ in MORPHOLOGY_SNOMED_MCODE:
        assert not recorded_as_net(res(primary({"system": SNOMED, "code": code})))
    assert recorded_as_net(res(primary({"system": "http://terminology.hl7.org/CodeSystem/icd-o-3",
                                        "code": "8240/3"})))  # fmt: skip


@pytest.mark.parametrize(
    ("text", "net"),
    [
        ("Neuroendocrine carcinoma", True),
        ("Non-neuroendocrine carcinoma", False),
        ("Noncarcinoid tumour", False),
    ],
)
def test_recorded_as_net_reads_words_with_negation(text: str, net: bool) -> None:
    assert recorded_as_net(res(primary(text=text))) is net


def test_a_condition_coded_by_morphology_only_is_reported_not_taken_as_a_comorbidity() -> None:
    bundle = copy.deepcopy(load("ileal_net_ssa_progression.json"))
    subject = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")["id"]
    extra = condition(
        {"coding": [{"system": SNOMED, "code": "1286767006"}]}, id="nec-code-only",
        subject={"reference": f"Patient/{subject}"},
    )  # fmt: skip
    bundle["entry"].append({"resource": extra})
    _, report = bundle_to_patient(bundle)
    [row] = [u for u in report.unmapped if u.resource == "Condition/nec-code-only"]
    assert IN_WORDS in row.reason and "SNOMED CT morphology code 1286767006" in row.reason


def test_a_non_neuroendocrine_tumour_in_words_is_not_reported_as_a_net() -> None:
    bundle = copy.deepcopy(load("ileal_net_ssa_progression.json"))
    subject = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")["id"]
    extra = condition(
        {"text": "Non-neuroendocrine tumour of the pancreas"}, id="other-tumour",
        subject={"reference": f"Patient/{subject}"},
    )  # fmt: skip
    bundle["entry"].append({"resource": extra})
    p, report = bundle_to_patient(bundle)
    assert not [u for u in report.unmapped if u.resource == "Condition/other-tumour"]
    assert p.comorbidities.other == ["Non-neuroendocrine tumour of the pancreas"]  # another condition
