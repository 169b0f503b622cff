"""Review 40: a posted Bundle (``bundle_to_patient``: /api/v1/evaluate/fhir, a web upload, a SMART import)
is checked for paging as a CDS Hooks prefetch is (netcds.fhir.paging). A ``searchset`` (or ``history``)
Bundle with a ``next`` link or a ``total`` above its matches is one part of a search: the list facts a
medication or procedure search feeds are left unknown and the report says why; one that holds or searched
anything else (Conditions, Observations, a Patient's ``$everything``) is refused with a 422 naming the
place. A ``collection``, ``document`` or ``transaction`` Bundle is no search result: no paging."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from netcds.errors import InputError
from netcds.fhir import bundle_to_patient, prefetch_to_patient
from netcds.fhir.paging import NOT_ALL_READ
from tests.fhir.conftest import load, wrap
from tests.fhir.test_mcode_examples import AS_OF, JOHN, NET_PRIMARY
from tests.fhir.test_paging_39 import NEXT, searchset


def ileal() -> dict[str, Any]:
    return copy.deepcopy(load("ileal_net_ssa_progression.json"))


def split_medications(bundle: dict[str, Any], **shell: Any) -> dict[str, Any]:
    """``bundle`` as a collection whose medication resources sit in a nested searchset with ``shell``."""
    meds = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"].startswith("Medication")]
    rest = [e for e in bundle["entry"] if not e["resource"]["resourceType"].startswith("Medication")]
    out = {"resourceType": "Bundle", "type": "collection", "entry": rest}
    out["entry"].append({"resource": searchset(*meds, **shell)})
    return out


def john(net: bool = True) -> list[dict[str, Any]]:
    """John Anyperson's official mCODE 4.0.0 resources, his primary recorded as a lung NET."""
    return [*JOHN, NET_PRIMARY | {"id": "primary-cancer-condition-nsclc"}] if net else list(JOHN)


@pytest.mark.parametrize(
    ("shell", "field", "said"),
    [
        ({"link": [NEXT]}, "link", "one page of a paged search result"),
        ({"total": 40}, "total", "its total says 40 resources match the search"),
    ],
)
def test_a_paged_searchset_of_the_whole_record_is_refused(
    mcode_examples: dict[str, dict[str, Any]], shell: dict[str, Any], field: str, said: str
) -> None:
    """The official resources as the first page of a search: the Conditions and Observations on the pages
    not sent could contradict what this one says (the newest result, the primary): 422 naming the place."""
    resources = [mcode_examples[n] if isinstance(n, str) else n for n in john()]
    bundle = searchset(*copy.deepcopy(resources), **shell)
    with pytest.raises(InputError) as caught:
        bundle_to_patient(bundle, as_of=AS_OF)
    assert caught.value.field == field
    assert said in caught.value.message and "Condition" in caught.value.message
    assert "send every page" in caught.value.message


def test_the_same_resources_as_one_complete_searchset_map(mcode_examples: dict[str, dict[str, Any]]) -> None:
    resources = [mcode_examples[n] if isinstance(n, str) else n for n in john()]
    bundle = searchset(
        *copy.deepcopy(resources), total=len(resources), link=[{"relation": "self", "url": "x"}]
    )
    p, _ = bundle_to_patient(bundle, as_of=AS_OF)
    assert p.treatments is not None and p.medications == ["gefitinib"]


@pytest.mark.parametrize("kind", ["collection", "document", "transaction", "batch"])
def test_a_bundle_that_is_no_search_result_is_not_paged(kind: str) -> None:
    bundle = ileal()
    bundle["type"] = kind
    bundle["total"] = 99  # R4 bundle-1: only for a search or history; netcds does not read it as paging
    p, report = bundle_to_patient(bundle)
    assert p.treatments and NOT_ALL_READ not in (p.medications or [])
    assert not any("paged" in u.reason or "total says" in u.reason for u in report.unmapped)


@pytest.mark.parametrize(
    "shell",
    [{"link": [{"relation": "self", "url": "https://ehr.example.test/fhir/MedicationRequest?patient=p"}, NEXT]},
     {"total": 12}],
)  # fmt: skip
def test_a_nested_paged_medication_search_leaves_the_lists_unknown(shell: dict[str, Any]) -> None:
    whole = ileal()
    p, _ = bundle_to_patient(whole)
    assert p.treatments and p.medications == ["lisinopril"]
    p, report = bundle_to_patient(split_medications(whole, **shell))
    assert p.treatments is None  # the history: unknown, the engine asks for it
    assert p.medications == ["lisinopril", NOT_ALL_READ]  # each interaction check: not screened
    assert not [m for m in report.mapped if m.field.startswith("treatments[")]
    [said] = [u for u in report.unmapped if "rest of the search result was not read" in u.reason]
    assert said.resource.startswith("entry[") and said.resource.endswith("].resource")
    assert "treatment history (treatments) is left unknown" in said.reason


def test_official_medication_requests_sent_as_one_page_leave_the_history_unknown(
    mcode_examples: dict[str, dict[str, Any]],
) -> None:
    """John's official MedicationRequests as the first page of their search, beside his other resources."""
    resources = [copy.deepcopy(mcode_examples[n] if isinstance(n, str) else n) for n in john()]
    meds = [r for r in resources if r["resourceType"] == "MedicationRequest"]
    rest = [r for r in resources if r["resourceType"] != "MedicationRequest"]
    bundle = wrap(*rest)
    bundle["entry"].append({"resource": searchset(*meds, total=len(meds) + 3)})
    p, report = bundle_to_patient(bundle, as_of=AS_OF)
    assert p.tumor.primary_site == "lung"
    assert p.treatments is None and p.medications == ["gefitinib", NOT_ALL_READ]
    assert report.treatments_ended_without_end_date == []


def test_a_nested_paged_search_of_everything_is_refused() -> None:
    """A nested page of ``Patient/p/$everything`` holding only medications: the pages not sent may hold
    anything (its self link names the search), so it is refused, not read as a medication search."""
    link = [{"relation": "self", "url": "https://ehr.example.test/fhir/Patient/p/$everything"}, NEXT]
    bundle = split_medications(ileal(), link=link)
    with pytest.raises(InputError) as caught:
        bundle_to_patient(bundle)
    assert caught.value.field.endswith("].resource.link")
    assert "may return any resource type" in caught.value.message


def test_a_paged_nested_condition_search_is_refused() -> None:
    whole = ileal()
    conditions = [e["resource"] for e in whole["entry"] if e["resource"]["resourceType"] == "Condition"]
    rest = [e for e in whole["entry"] if e["resource"]["resourceType"] != "Condition"]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [*rest]}
    bundle["entry"].append({"resource": searchset(*conditions, total=len(conditions) + 1)})
    with pytest.raises(InputError) as caught:
        bundle_to_patient(bundle)
    assert caught.value.field == f"entry[{len(rest)}].resource.total"
    assert "it holds or searched Condition resources" in caught.value.message


def test_a_paged_history_bundle_is_read_as_part_too() -> None:
    bundle = split_medications(ileal(), total=30)
    bundle["entry"][-1]["resource"]["type"] = "history"
    for e in bundle["entry"][-1]["resource"]["entry"]:
        e["request"] = {"method": "PUT", "url": f"{e['resource']['resourceType']}/{e['resource']['id']}"}
    p, _ = bundle_to_patient(bundle)
    assert p.treatments is None and NOT_ALL_READ in (p.medications or [])


def test_a_prefetch_sent_in_part_says_so_in_the_report() -> None:
    """prefetch_to_patient applies the same rule (the CDS Hooks service adds what the templates say)."""
    entries = ileal()["entry"]
    meds = [e["resource"] for e in entries if e["resource"]["resourceType"].startswith("Medication")]
    rest = [e["resource"] for e in entries if not e["resource"]["resourceType"].startswith("Medication")]
    p, report = prefetch_to_patient(
        {"record": searchset(*rest), "medications": searchset(*meds, link=[NEXT])}
    )
    assert p.treatments is None and p.medications == ["lisinopril", NOT_ALL_READ]
    assert any(u.resource == "prefetch.medications" for u in report.unmapped)
    with pytest.raises(InputError) as caught:
        prefetch_to_patient({"record": searchset(*rest, total=50), "medications": searchset(*meds)})
    assert caught.value.field == "prefetch.record.total"


def test_as_of_keeps_the_rule() -> None:
    p, _ = bundle_to_patient(split_medications(ileal(), total=9), as_of=date(2025, 3, 20))
    assert p.treatments is None
