"""Order-sign says whether the guideline lists the ordered agent for this patient (one info card per
agent, from the record's cached Evaluation), and patient-view shows the SSA plan of footnote a."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from importlib.util import find_spec
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds import Patient, evaluate, load_knowledge
from netcds.api import optional
from netcds.evaluation import Evaluation
from netcds.fhir.cards import patient_view_cards
from netcds.fhir.guideline_cards import (
    GuidelineFacts,
    entry_agents,
    guideline_order_card,
    tables_listing,
)
from tests.api.conftest import (
    BASE,
    ICD10,
    OS,
    PV,
    SNOMED,
    draft_daily,
    hook_request,
    patient_record,
    prefetch,
)

THERAPY = "therapy-options"
pytestmark = [
    pytest.mark.skipif(find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping absent"),
    pytest.mark.skipif(find_spec("netcds.safety") is None, reason="safety layer absent"),
]


def draft(display: str, mg: float | None = None, rid: str = "draft-1") -> dict[str, Any]:
    return draft_daily(rid, display, mg)


SUNITINIB = draft("sunitinib 37.5 MG Oral Capsule", 37.5)
EVEROLIMUS = draft("everolimus 10 MG Oral Tablet", 10)


def pancreatic(pf: dict[str, Any]) -> dict[str, Any]:
    """The same record with a pancreatic primary (ICD-10-CM C7A.8 + SNOMED body site pancreas)."""
    out = copy.deepcopy(pf)
    primary = out["conditions"]["entry"][0]["resource"]
    primary["code"]["coding"] = [
        {"system": ICD10, "code": "C7A.8", "display": "Other malignant neuroendocrine tumors"}
    ]
    primary["bodySite"] = [
        {"coding": [{"system": SNOMED, "code": "15776009", "display": "Pancreatic structure"}]}
    ]
    return out


def without(pf: dict[str, Any], key: str, resource_id: str) -> dict[str, Any]:
    out = copy.deepcopy(pf)
    out[key]["entry"] = [e for e in out[key]["entry"] if e["resource"]["id"] != resource_id]
    return out


def call(client: TestClient, path: str, pf: dict[str, Any], *drafts: dict[str, Any]) -> list[dict[str, Any]]:
    hook = "order-sign" if path == OS else "patient-view"
    r = client.post(path, json=hook_request(hook, prefetch_data=pf, drafts=list(drafts)))
    assert r.status_code == 200, r.text
    cards: list[dict[str, Any]] = r.json()["cards"]
    for c in cards:
        assert 0 < len(c["summary"]) < 140, c["summary"]
    return cards


def guideline_cards(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in cards if c["source"]["topic"]["code"] == THERAPY]


def one_guideline_card(cards: list[dict[str, Any]]) -> dict[str, Any]:
    found = guideline_cards(cards)
    assert len(found) == 1, [c["summary"] for c in cards]
    card = found[0]
    assert card["indicator"] == "info"  # decision support: never a warning about a listed or unlisted agent
    assert "suggestions" not in card
    # pages to read, not JSON: of the knowledge release the card was computed with
    assert card["source"]["url"].startswith(f"{BASE}/ui/guideline/nccn-net/5.2024-r13")
    assert card["links"][0]["url"].startswith(f"{BASE}/ui/guideline/nccn-net/5.2024-r13")
    return card


# --- order-sign ---------------------------------------------------------------------------------------
def test_sunitinib_for_an_ileal_net_is_not_among_the_gi_table_options(open_client: TestClient) -> None:
    cards = call(open_client, OS, prefetch(), SUNITINIB)
    card = one_guideline_card(cards)
    assert card["summary"].startswith("Sunitinib: not among the options of the applicable table")
    assert "GI WD G1/2 table" in card["summary"]
    assert "listed for this patient" not in card["summary"]
    assert "NETs of the GI tract (WD G1/2)" in card["source"]["label"]
    assert "NE-H" in card["source"]["label"]
    # where the guideline does list it, and what this table offers instead (by the guideline's words)
    assert "pancreas WD G1/2 table" in card["detail"]
    assert "Everolimus" in card["detail"].split("eligible options:**")[1]
    assert len(cards) > 1  # the safety cards are still there


def test_sunitinib_for_a_pancreatic_net_is_listed_with_tier_category_and_status(
    open_client: TestClient,
) -> None:
    card = one_guideline_card(call(open_client, OS, pancreatic(prefetch()), SUNITINIB))
    assert card["summary"].startswith("Sunitinib: listed for this patient (pancreas WD G1/2 table)")
    assert "Preferred, category 1, eligible" in card["summary"]
    assert "Pancreatic NETs (WD G1/2)" in card["source"]["label"]
    assert "**Sunitinib:** Preferred, category 1, eligible" in card["detail"]


def test_pembrolizumab_for_a_g12_gi_net_is_not_listed_and_the_g3_tables_are_named(
    open_client: TestClient,
) -> None:
    card = one_guideline_card(call(open_client, OS, prefetch(), draft("pembrolizumab 200 MG injection", 200)))
    assert "Pembrolizumab: not among the options" in card["summary"]
    other = card["detail"].split("Other guideline tables that list pembrolizumab:**")[1]
    assert "WD G3 table" in other and "GI WD G1/2" not in other


def test_everolimus_with_the_extent_unrecorded_needs_that_data(open_client: TestClient) -> None:
    # no liver metastasis Condition: the extent of disease is unknown, the GI table only possible
    card = one_guideline_card(call(open_client, OS, without(prefetch(), "conditions", "c-liver"), EVEROLIMUS))
    assert "Everolimus: listed in the possible table (GI WD G1/2 table)" in card["summary"]
    assert "needs data (Extent)" in card["summary"]  # disease.extent, as labelled
    assert "**Setting not confirmed yet:** record Extent" in card["detail"]


def test_an_order_when_the_setting_needs_data_says_the_table_is_not_determined(
    open_client: TestClient,
) -> None:
    card = one_guideline_card(call(open_client, OS, without(prefetch(), "observations", "o-ki67"), SUNITINIB))
    assert card["summary"].startswith("Sunitinib: guideline table not determined yet, so not checked; record")
    assert "Grade (WHO)" in card["summary"]  # tumor.grade, as labelled
    assert "not among" not in card["summary"] and "listed for" not in card["summary"]
    assert "**Record:**" in card["detail"] and "Ki-67 index (%)" in card["detail"]
    assert "Guideline tables that list sunitinib:** pancreas WD G1/2 table" in card["detail"]


def test_one_card_per_agent_even_when_it_matches_several_options(open_client: TestClient) -> None:
    cards = call(
        open_client,
        OS,
        pancreatic(prefetch()),
        draft("capecitabine 500 MG Oral Tablet", 1000),
        draft("everolimus 10 MG Oral Tablet", 10, rid="draft-2"),
    )
    found = guideline_cards(cards)
    assert [c["summary"].split(":")[0] for c in found] == ["Capecitabine", "Everolimus"]
    cape = found[0]
    assert "listed for this patient in 2 options" in cape["summary"]
    assert "**Temozolomide + capecitabine:**" in cape["detail"] and "**CAPEOX:**" in cape["detail"]


def engine_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one each time the service runs the engine."""
    runs: list[int] = []

    def counted(*args: Any, **kw: Any) -> Evaluation:
        runs.append(1)
        return evaluate(*args, **kw)

    monkeypatch.setattr("netcds.api.context.evaluate", counted)
    return runs


def test_the_guideline_card_reuses_patient_views_evaluation_is_cached_and_accepts_feedback(
    open_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = engine_runs(monkeypatch)
    pf = pancreatic(prefetch())
    call(open_client, PV, pf)
    assert len(runs) == 1
    first = one_guideline_card(call(open_client, OS, pf, SUNITINIB))
    assert len(runs) == 1  # the chart was open: its cached Evaluation, no engine run
    again = one_guideline_card(call(open_client, OS, pf, SUNITINIB))
    assert again["uuid"] == first["uuid"]
    r = open_client.post(
        OS + "/feedback",
        json={
            "feedback": [
                {"card": first["uuid"], "outcome": "overridden", "outcomeTimestamp": "2025-03-02T10:15:00Z"}
            ]
        },
    )
    assert r.status_code == 200, r.text  # the card was recorded as issued by order-sign
    assert r.json() == {"stored": 1}


def test_an_order_for_a_new_patient_runs_the_engine_once_for_all_its_agents(
    open_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = engine_runs(monkeypatch)
    cards = call(open_client, OS, pancreatic(prefetch()), SUNITINIB, draft("everolimus 10 MG", 10, rid="d2"))
    assert len(guideline_cards(cards)) == 2 and len(runs) == 1
    # another order for the same record: its cached Evaluation (JSON bytes) is read, the engine not run
    later = call(open_client, OS, pancreatic(prefetch()), draft("capecitabine 500 MG", 1000, rid="d3"))
    assert "listed for this patient" in one_guideline_card(later)["summary"] and len(runs) == 1


def test_the_chart_opened_after_an_order_reuses_that_orders_engine_run_with_the_same_cards(
    open_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = engine_runs(monkeypatch)
    pf = pancreatic(prefetch())
    call(open_client, OS, pf, SUNITINIB)
    assert len(runs) == 1
    after_order = call(open_client, PV, pf)
    assert len(runs) == 1  # order-sign built the chart's cards while it had the Evaluation object
    open_client.app.state.netcds.eval_cache._parts.clear()
    chart_first = call(open_client, PV, pf)
    assert len(runs) == 2  # nothing cached: the engine runs for patient-view itself
    drop = ("links",)  # each call links its own stored evaluation
    assert [{k: v for k, v in c.items() if k not in drop} for c in after_order] == [
        {k: v for k, v in c.items() if k not in drop} for c in chart_first
    ]


# --- the SSA plan (footnote a) ------------------------------------------------------------------------
def judged(monkeypatch: pytest.MonkeyPatch, *, functional: bool) -> None:
    """The record as an integration that asks the clinician completes it: FHIR carries neither whether
    progression was clinically significant nor (here) whether the tumor is functional."""
    real: Callable[..., Any] = optional.prefetch_to_patient

    def mapped(
        pf: dict[str, Any], as_of: date | None, templates: Any = None, **kw: Any
    ) -> tuple[Patient, dict[str, Any]]:
        patient, report = real(pf, as_of, templates, **kw)
        data = patient.model_dump(exclude_none=True)
        data["tumor"]["functional"] = functional
        data["disease"]["progression_clinically_significant"] = True
        return Patient.model_validate(data), report

    monkeypatch.setattr(optional, "prefetch_to_patient", mapped)


def test_patient_view_shows_discontinue_for_a_non_functional_tumor_progressing_on_an_ssa(
    open_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    judged(monkeypatch, functional=False)
    card = guideline_cards(call(open_client, PV, prefetch()))[0]
    assert "footnote a: discontinue the SSA" in card["summary"]
    assert "**SSA plan (footnote a):**" in card["detail"]
    assert "*discontinue the SSA*" in card["detail"]
    assert "non-functional tumor" in card["detail"]
    assert "NE-H" in card["detail"].split("**SSA plan (footnote a):**")[1]
    # and an SSA order shows it too
    lar = one_guideline_card(call(open_client, OS, prefetch(), draft("octreotide LAR 30 MG injection", 30)))
    assert "*discontinue the SSA*" in lar["detail"]


def test_patient_view_shows_continue_for_a_functional_tumor(
    open_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    judged(monkeypatch, functional=True)
    card = guideline_cards(call(open_client, PV, prefetch()))[0]
    assert "footnote a: continue the SSA" in card["summary"]
    assert "*continue the SSA*" in card["detail"]
    assert "functional tumor" in card["detail"] and "lists continuing octreotide LAR" in card["detail"]


def test_no_ssa_plan_line_when_footnote_a_gives_no_action() -> None:
    rec = patient_record()
    rec["disease"] = {**rec["disease"], "progression_clinically_significant": False}
    ev = evaluate(Patient.model_validate(rec), load_knowledge())
    assert ev.ssa_plan.action == "not_applicable"
    card = patient_view_cards(ev, base_url=BASE, seed="s")[0]
    assert "SSA plan" not in card["detail"] and "footnote a:" not in card["summary"]


# --- the card builder ---------------------------------------------------------------------------------
def test_agents_map_to_entries_as_the_cohort_decisions_do() -> None:
    assert {"capecitabine", "temozolomide"} <= entry_agents("capecitabine_temozolomide")
    assert "capecitabine" in entry_agents("capeox") and "capecitabine" in entry_agents(
        "cytotoxic_chemotherapy"
    )
    for ssa in ("ssa", "ssa_above_label"):
        assert {"octreotide_lar", "lanreotide"} <= entry_agents(ssa)
        assert "octreotide" not in entry_agents(ssa)  # short-acting octreotide is no table entry
    assert entry_agents("sunitinib") == frozenset({"sunitinib"})


def test_an_ssa_order_matches_both_ssa_entries_and_names_the_failing_condition() -> None:
    ev = evaluate(Patient.model_validate(patient_record()), load_knowledge())  # discontinue (footnote a)
    kb = load_knowledge()
    card = guideline_order_card(
        GuidelineFacts.of(ev, b""), "lanreotide", tables_listing(kb, "lanreotide"), base_url=BASE, seed="s"
    )
    assert "in 2 options" in card["summary"]
    assert "Preferred, cat 2A, not eligible" in card["summary"]
    # 5.2024-r7: footnote a gates the above-label entry too, so a higher dose is not offered beside "stop"
    assert "Useful in certain circumstances, cat 2A, not eligible" in card["summary"]
    assert (
        "**Octreotide LAR or lanreotide:** Preferred, category 2A, not eligible (not met: footnote a does "
        "not call for stopping the SSA" in card["detail"]
    )
    assert "**Above-label dose octreotide LAR or lanreotide:**" in card["detail"]
    assert "*discontinue the SSA*" in card["detail"]
    assert len(card["summary"]) < 140


def test_no_table_applies_says_so() -> None:
    rec = patient_record()
    rec["tumor"] = {**rec["tumor"], "differentiation": "poor", "grade": "G3", "ki67_percent": 70}
    kb = load_knowledge()
    ev = evaluate(Patient.model_validate(rec), kb)
    assert ev.setting.status == "not_applicable"
    card = guideline_order_card(
        GuidelineFacts.of(None, ev.model_dump_json().encode()),  # the cached form: JSON bytes
        "etoposide",
        tables_listing(kb, "etoposide"),
        base_url=BASE,
        seed="s",
    )
    assert card["summary"].startswith("Etoposide: no NCCN NET V.")
    assert "systemic-therapy table applies" in card["summary"]
    assert "Poorly differentiated neuroendocrine carcinoma" in card["detail"]
    assert card["indicator"] == "info"
