"""A CDS Hooks prefetch (resources and searchset Bundles by name) maps like the equivalent Bundle."""

from __future__ import annotations

from datetime import date
from typing import Any

from netcds.fhir import bundle_to_patient, prefetch_to_patient
from tests.fhir.conftest import load

AS_OF = date(2025, 6, 1)


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"fullUrl": f"http://example.org/fhir/{r['resourceType']}/{r['id']}", "resource": r,
                   "search": {"mode": "match"}} for r in resources],
    }  # fmt: skip


def as_prefetch(bundle: dict[str, Any]) -> dict[str, Any]:
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in bundle["entry"]:
        by_type.setdefault(e["resource"]["resourceType"], []).append(e["resource"])
    [patient] = by_type.pop("Patient")
    keys = {
        "Condition": "conditions",
        "Observation": "observations",
        "MedicationRequest": "medicationRequests",
        "MedicationStatement": "medicationStatements",
        "MedicationAdministration": "medicationAdministrations",
    }
    out: dict[str, Any] = {"patient": patient, "procedures": None}  # a prefetch the server did not fill
    for rtype, resources in by_type.items():
        out[keys[rtype]] = searchset(resources)
    return out


def test_prefetch_equals_bundle_for_each_fixture() -> None:
    for name in ("ileal_net_ssa_progression.json", "pannet_germline_vhl.json", "wd_g3_msi_high.json"):
        bundle = load(name)
        from_bundle, _ = bundle_to_patient(bundle, as_of=AS_OF)
        from_prefetch, report = prefetch_to_patient(as_prefetch(bundle), as_of=AS_OF)
        assert from_prefetch == from_bundle, name
        assert report.mapped


def test_prefetch_with_only_patient_and_condition() -> None:
    bundle = load("ileal_net_ssa_progression.json")
    resources = {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}
    p, _ = prefetch_to_patient(
        {"patient": resources["net-ileum-1"], "conditions": searchset([resources["ileum-primary"]]),
         "observations": searchset([])}, as_of=AS_OF,
    )  # fmt: skip
    assert p.tumor.primary_site == "ileum"
    assert p.treatments is None
    assert p.disease.status is None
