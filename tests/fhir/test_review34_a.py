"""Review 34 (fixer A): numbers too large for a float are a 422 naming the field; a quantity with a comparator
(a bound such as "<30 mL/min") is never read as its number; a Ki-67 inside a panel Observation's component is
read; final results are preferred to preliminary ones. Inputs are built from the NET fixtures."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.errors import InputError
from netcds.fhir import MappingReport, bundle_to_patient
from netcds.patient import Patient
from netcds.settings import Settings
from tests.fhir.conftest import load

AS_OF = date(2025, 6, 1)
UCUM, LNC, SCT = "http://unitsofmeasure.org", "http://loinc.org", "http://snomed.info/sct"
PREFETCH_KEYS = {
    "Condition": "conditions",
    "Observation": "observations",
    "MedicationRequest": "medicationRequests",
    "MedicationStatement": "medicationStatements",
}


# ---- helpers ----------------------------------------------------------------------------------------------
def ileal() -> dict[str, Any]:
    return load("ileal_net_ssa_progression.json")


def res(bundle: dict[str, Any], rid: str) -> dict[str, Any]:
    found: dict[str, Any] = next(e["resource"] for e in bundle["entry"] if e["resource"].get("id") == rid)
    return found


def add(bundle: dict[str, Any], resource: dict[str, Any]) -> None:
    url = f"http://example.org/fhir/{resource['resourceType']}/{resource['id']}"
    bundle["entry"].append({"fullUrl": url, "resource": resource})


def qty(value: Any, unit: str, comparator: str | None = None) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    if comparator:
        q["comparator"] = comparator
    return q


def lab(rid: str, loinc: str, q: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": "final",
            "code": {"coding": [{"system": LNC, "code": loinc}]}, "subject": {"reference": "Patient/net-ileum-1"},
            "effectiveDateTime": "2025-05-15", "valueQuantity": q, **extra}  # fmt: skip


def mapped(bundle: dict[str, Any]) -> tuple[Patient, MappingReport]:
    return bundle_to_patient(bundle, as_of=AS_OF)


def reasons(report: MappingReport, ref: str) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == ref)


def mapped_item(report: MappingReport, field: str) -> Any:
    [item] = [m for m in report.mapped if m.field == field]
    return item


def prefetch_of(bundle: dict[str, Any]) -> dict[str, Any]:
    """The bundle as a CDS Hooks prefetch (a resource for the patient, searchsets for the rest)."""
    out: dict[str, Any] = {k: {"resourceType": "Bundle", "type": "searchset", "entry": []}
                           for k in PREFETCH_KEYS.values()}  # fmt: skip
    for e in bundle["entry"]:
        r = e["resource"]
        if r["resourceType"] == "Patient":
            out["patient"] = r
        elif r["resourceType"] in PREFETCH_KEYS:
            out[PREFETCH_KEYS[r["resourceType"]]]["entry"].append(
                {"fullUrl": e.get("fullUrl"), "resource": r}
            )
    return out


def hook_body(bundle: dict[str, Any], drafts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {"userId": "Practitioner/example", "patientId": "net-ileum-1"}
    if drafts is not None:
        context["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": d} for d in drafts]}  # fmt: skip
    return {"hook": "order-sign" if drafts is not None else "patient-view",
            "hookInstance": "11111111-2222-4333-8444-555555555555", "context": context,
            "prefetch": prefetch_of(bundle)}  # fmt: skip


CAPECITABINE_DRAFT = {
    "resourceType": "MedicationRequest", "id": "draft-cape", "status": "draft", "intent": "order",
    "subject": {"reference": "Patient/net-ileum-1"},
    "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                              "code": "194000", "display": "capecitabine 500 MG Oral Tablet"}]},
    "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                           "doseAndRate": [{"doseQuantity": qty(1000, "mg")}]}],
}  # fmt: skip


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'netcds.db'}", hooks_open=True))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def options_named(node: Any, regimen: str) -> list[dict[str, Any]]:
    """Every option for ``regimen`` anywhere in an evaluation (its setting's options or a possible one's)."""
    if isinstance(node, dict):
        own = [node] if node.get("regimen") == regimen and "status" in node else []
        return own + [o for v in node.values() for o in options_named(v, regimen)]
    if isinstance(node, list):
        return [o for v in node for o in options_named(v, regimen)]
    return []


# ---- 1. an integer too large for a float is a 422 naming the field, never a 500 ---------------------------
def huge_ki67() -> dict[str, Any]:
    bundle = ileal()
    res(bundle, "ileum-ki67")["valueQuantity"]["value"] = (
        10**309
    )  # valid JSON; FHIR validation lets it through
    return bundle


def test_integer_beyond_a_float_is_an_input_error_naming_the_field() -> None:
    bundle = huge_ki67()
    index = next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["id"] == "ileum-ki67")
    with pytest.raises(InputError) as err:
        mapped(bundle)
    assert err.value.field == f"entry[{index}].resource.valueQuantity.value"
    assert "must be a finite number" in err.value.message


def test_integer_beyond_a_float_is_a_422_from_rest_and_patient_view(client: TestClient) -> None:
    r = client.post("/api/v1/evaluate/fhir?as_of=2025-06-01", json=huge_ki67())
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["field"].endswith(".resource.valueQuantity.value")
    assert "must be a finite number" in error["message"]
    # the same message as a 1e400 (a float the parser reads as infinite) gets
    inf = ileal()
    res(inf, "ileum-ki67")["valueQuantity"]["value"] = 123456.789
    text = json.dumps(inf).replace("123456.789", "1e400")
    r = client.post("/api/v1/evaluate/fhir", content=text, headers={"content-type": "application/fhir+json"})
    assert r.status_code == 422 and "must be a finite number" in r.json()["errors"][0]["message"]
    r = client.post("/cds-services/netcds-patient-view", json=hook_body(huge_ki67()))
    assert r.status_code == 422, r.text
    assert "valueQuantity.value: must be a finite number" in r.text


# ---- 2. a bound is not a value ----------------------------------------------------------------------------
def tmb_below_10() -> dict[str, Any]:
    """The WD G3 case made MSS (LOINC LA14122-8) and pMMR (MLH1, PMS2 present), with TMB "<10 mut/Mb"."""
    bundle = load("wd_g3_msi_high.json")
    res(bundle, "g3-msi")["valueCodeableConcept"] = {"coding": [{"system": LNC, "code": "LA14122-8"}]}
    for rid in ("g3-mlh1", "g3-pms2"):  # all four MMR proteins present
        res(bundle, rid)["valueCodeableConcept"] = {"coding": [{"system": LNC, "code": "LA9633-4"}]}
    res(bundle, "g3-tmb")["valueQuantity"] = {"value": 10, "comparator": "<", "system": UCUM,
                                              "code": "1/1000000{Base}"}  # fmt: skip
    return bundle


def test_tmb_below_10_is_unknown_and_pembrolizumab_not_eligible(client: TestClient) -> None:
    p, report = mapped(tmb_below_10())
    assert p.biomarkers.msi == "stable" and p.biomarkers.mmr == "proficient"
    assert p.biomarkers.tmb_mut_per_mb is None  # was 10.0: "<10" read as 10, i.e. TMB-high
    assert "TMB recorded as <10" in reasons(report, "Observation/g3-tmb")
    assert "a bound, not a value" in reasons(report, "Observation/g3-tmb")
    r = client.post("/api/v1/evaluate/fhir?as_of=2025-06-01", json=tmb_below_10())
    assert r.status_code == 200, r.text
    pembro = options_named(r.json()["evaluation"], "pembrolizumab")
    assert pembro
    assert all(o["status"] == "needs_data" for o in pembro)
    assert all("biomarkers.tmb_mut_per_mb" in o["missing"] for o in pembro)


@pytest.mark.parametrize(
    ("rid", "q", "field", "written"),
    [
        ("ileum-crcl", qty(30, "mL/min", "<"), "creatinine_clearance_ml_min", "<30 mL/min"),
        ("ileum-platelets", qty(20, "10*3/uL", "<"), "platelets_per_ul", "<20 10*3/uL"),
    ],
)
def test_lab_bound_is_unknown_with_the_bound_reported(
    rid: str, q: dict[str, Any], field: str, written: str
) -> None:
    bundle = ileal()
    res(bundle, rid)["valueQuantity"] = q
    p, report = mapped(bundle)
    assert getattr(p.comorbidities, field) is None
    assert f"recorded as {written}: a bound, not a value" in reasons(report, f"Observation/{rid}")


def test_weight_bilirubin_and_lvef_bounds_are_unknown() -> None:
    bundle = ileal()
    res(bundle, "ileum-weight")["valueQuantity"] = qty(150, "kg", ">")
    res(bundle, "ileum-weight")["effectiveDateTime"] = "2025-05-15"  # recent: only the bound makes it unknown
    uln = [{"high": qty(1.2, "mg/dL")}]
    add(bundle, lab("bili", "1975-2", qty(3.0, "mg/dL", ">"), referenceRange=uln))
    add(bundle, lab("lvef", "10230-1", qty(40, "%", "<")))
    p, report = mapped(bundle)
    assert p.weight_kg is None
    assert p.comorbidities.bilirubin_x_uln is None
    assert p.comorbidities.lvef_percent is None
    assert "body weight recorded as >150 kg: a bound" in reasons(report, "Observation/ileum-weight")
    assert "recorded as >3 mg/dL: a bound" in reasons(report, "Observation/bili")
    assert "recorded as <40 %: a bound" in reasons(report, "Observation/lvef")
    # the measured values still map
    exact = ileal()
    res(exact, "ileum-weight")["effectiveDateTime"] = "2025-05-15"  # within the 30 days a weight stands
    add(exact, lab("bili", "1975-2", qty(3.0, "mg/dL"), referenceRange=uln))
    add(exact, lab("lvef", "10230-1", qty(40, "%")))
    p, _ = mapped(exact)
    assert (p.weight_kg, p.comorbidities.bilirubin_x_uln, p.comorbidities.lvef_percent) == (78, 2.5, 40)


def test_capecitabine_order_with_crcl_below_30_reads_crcl_as_unknown(client: TestClient) -> None:
    bundle = ileal()
    res(bundle, "ileum-crcl")["valueQuantity"] = qty(30, "mL/min", "<")
    r = client.post("/cds-services/netcds-order-sign", json=hook_body(bundle, [CAPECITABINE_DRAFT]))
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    text = " ".join(f"{c['summary']} {c.get('detail', '')}" for c in cards)
    # not the false reassurance of a CrCl of 30 (only the 30-50 dose warning): the check is not assessed
    assert not any("30-50" in c["summary"] for c in cards)
    assert not any(c["indicator"] == "critical" for c in cards)
    assert "not assessed: Creatinine clearance" in text


# ---- 11. a Ki-67 inside a panel Observation ---------------------------------------------------------------
def ki67_panel(panel: dict[str, Any], value: float = 8) -> dict[str, Any]:
    """A Ki-67 Observation made a synoptic pathology panel (LOINC 60568-3) with Ki-67 as its component."""
    panel.pop("valueQuantity")
    panel["code"] = {"coding": [{"system": LNC, "code": "60568-3", "display": "Pathology Synoptic report"}]}
    panel["component"] = [
        {"code": {"coding": [{"system": LNC, "code": "21907-1", "display": "Mitotic rate"}]}},
        {
            "code": {"coding": [{"system": LNC, "code": "29593-1", "display": "Ki-67"}]},
            "valueQuantity": qty(value, "%"),
        },
    ]
    return panel


def test_ki67_component_of_a_panel_is_read_and_reported_as_from_it() -> None:
    bundle = ileal()
    ki67_panel(res(bundle, "ileum-ki67"))
    p, report = mapped(bundle)
    assert p.tumor.ki67_percent == 8  # was None: "observation code not used by netcds"
    item = mapped_item(report, "tumor.ki67_percent")
    assert item.from_.startswith("Observation/ileum-ki67 [LOINC 29593-1")
    assert "2023-11-28" in item.from_  # the panel's date
    assert "component[1] of Observation/ileum-ki67" in (item.note or "")
    assert "not used by netcds" not in reasons(report, "Observation/ileum-ki67")


def test_ki67_component_takes_the_panels_status_date_and_focus() -> None:
    bundle = ileal()
    ki67_panel(res(bundle, "ileum-ki67"), 25)["status"] = "entered-in-error"
    p, _ = mapped(bundle)
    assert p.tumor.ki67_percent is None
    newer = (
        ileal()
    )  # a standalone Ki-67 8 % of 2023-11-28 and a panel's 25 % of 2024-05-01: the panel is newer
    panel = copy.deepcopy(res(newer, "ileum-ki67"))
    panel["id"], panel["effectiveDateTime"] = "panel", "2024-05-01"
    add(newer, panel)
    ki67_panel(panel, 25)
    p, report = mapped(newer)
    assert p.tumor.ki67_percent == 25
    assert "superseded by Observation/panel" in reasons(report, "Observation/ileum-ki67")
    add(newer, {"resourceType": "Condition", "id": "breast", "subject": {"reference": "Patient/net-ileum-1"},
                "meta": {"profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-primary-cancer-condition"]},
                "code": {"coding": [{"system": SCT, "code": "353431000119107"}]}})  # fmt: skip
    panel["focus"] = [{"reference": "Condition/breast"}]
    p, report = mapped(newer)
    assert p.tumor.ki67_percent == 8
    assert "about another cancer" in reasons(report, "Observation/panel")


# ---- 13. final results are preferred to preliminary ones ---------------------------------------------------
def test_newer_preliminary_status_does_not_override_the_final_one() -> None:
    bundle = ileal()
    stable = copy.deepcopy(res(bundle, "ileum-status"))
    stable.update(id="ileum-status-2", status="preliminary", effectiveDateTime="2025-05-01",
                  valueCodeableConcept={"coding": [{"system": SCT, "code": "359746009"}]})  # fmt: skip
    add(bundle, stable)
    p, report = mapped(bundle)
    assert p.disease.status == "progressive"  # was 'stable' from the preliminary result
    assert p.disease.status_date == date(2025, 3, 1)
    why = reasons(report, "Observation/ileum-status-2")
    assert "preliminary value 'stable' is newer than the final value 'progressive'" in why
    assert "disagrees" in why


def test_newer_preliminary_ki67_does_not_override_the_amended_one() -> None:
    bundle = ileal()
    res(bundle, "ileum-ki67")["status"] = "amended"
    prelim = copy.deepcopy(res(bundle, "ileum-ki67"))
    prelim.update(
        id="ki67-prelim", status="preliminary", effectiveDateTime="2024-05-01", valueQuantity=qty(25, "%")
    )
    add(bundle, prelim)
    p, report = mapped(bundle)
    assert p.tumor.ki67_percent == 8  # was 25
    assert "preliminary value 25.0 is newer than the final value 8.0" in reasons(
        report, "Observation/ki67-prelim"
    )
    # an older preliminary one is set aside too, and said to be
    prelim["effectiveDateTime"] = "2023-01-01"
    p, report = mapped(bundle)
    assert p.tumor.ki67_percent == 8
    assert "disagrees with the final value 8.0 in Observation/ileum-ki67, which is used" in reasons(
        report, "Observation/ki67-prelim"
    )


def test_a_preliminary_result_alone_is_used_and_the_report_says_so() -> None:
    bundle = ileal()
    res(bundle, "ileum-status")["status"] = "preliminary"
    p, report = mapped(bundle)
    assert p.disease.status == "progressive"
    for field in ("disease.status", "disease.status_date"):
        assert "a preliminary result" in (mapped_item(report, field).note or "")
