"""Traceability review (fixer E): sources of the no-table reasons (M3), every unknown that decides the
SSA plan (M5), the sequencing statement without a table (M7), agents named in words (L1), the unavailable
references of the possible settings (L3) and the source of the octreotide insulinoma item (M4)."""

from __future__ import annotations

from typing import Any

import pytest

from netcds import Patient, evaluate, load_knowledge
from netcds.evaluation import Evaluation
from netcds.safety import load_agents

KB = load_knowledge()
BASE: dict[str, Any] = {"age_years": 60, "sex": "male", "weight_kg": 75, "as_of": "2025-06-16"}
PROGRESSIVE = {"extent": "distant_metastatic", "resectable": False, "status": "progressive"}

P21 = {
    "tumor": {"primary_site": "lung", "differentiation": "well", "lung_subtype": "typical_carcinoid",
              "functional": False, "syndromes": [], "hormonal_symptoms": False, "sstr_status": "positive"},
    "disease": {"extent": "distant_metastatic", "tumor_burden": "mild", "status": "stable",
                "tumor_symptoms": False},
    "treatments": [],
}  # fmt: skip
P22 = {
    "tumor": {"primary_site": "lung", "differentiation": "well", "lung_subtype": "atypical_carcinoid",
              "sstr_status": "positive"},
    "disease": {"extent": "locoregional", "resectable": False, "status": "progressive"},
    "treatments": [],
}  # fmt: skip
P29 = {
    "tumor": {"primary_site": "colon", "differentiation": "poor", "grade": "G3", "ki67_percent": 80},
    "disease": PROGRESSIVE,
    "treatments": [],
}
OCT_LINE = {"agent": "octreotide_lar", "start": "2023-01-10", "end": "2025-03-01", "progressed": True,
            "stop_reason": "progression", "dose_mg": 30, "interval_days": 28, "progression_date": "2025-02-20"}  # fmt: skip
P30 = {
    "tumor": {"primary_site": "unknown_primary", "differentiation": "well", "grade": "G2", "ki67_percent": 7,
              "sstr_status": "positive"},
    "disease": {**PROGRESSIVE, "tumor_burden": "clinically_significant", "progression_clinically_significant": True},
    "treatments": [OCT_LINE],
}  # fmt: skip
P34 = {
    "tumor": {"primary_site": "ileum", "differentiation": "well", "grade": "G2"},
    "disease": {"extent": "distant_metastatic", "resectable": True, "status": "no_evidence_of_disease"},
    "treatments": [],
}
P01 = {
    "tumor": {"primary_site": "ileum", "differentiation": "well", "grade": "G2", "ki67_percent": 8,
              "functional": False, "syndromes": [], "hormonal_symptoms": False, "sstr_status": "positive"},
    "disease": {**PROGRESSIVE, "tumor_burden": "clinically_significant", "progression_clinically_significant": True,
                "small_bowel_mesenteric": True},
    "treatments": [OCT_LINE],
}  # fmt: skip
P04 = {
    "tumor": {"primary_site": "small_bowel", "differentiation": "well", "grade": "G2"},
    "disease": {"extent": "distant_metastatic", "status": "progressive"},
}
P28 = {
    "tumor": {"primary_site": "pancreas", "differentiation": "well", "grade": "G3", "ki67_percent": 30,
              "sstr_status": "positive"},
    "disease": {**PROGRESSIVE, "tumor_burden": "clinically_significant"},
    "treatments": [],
}  # fmt: skip
NO_TABLE = {"p21": P21, "p22": P22, "p29": P29, "p30": P30, "p34": P34}


def run(record: dict[str, Any]) -> Evaluation:
    return evaluate(Patient.model_validate({**BASE, "id": "e", **record}), KB)


def exclusion(eid: str) -> Any:
    return next(e for e in KB.exclusions if e.id == eid)


# ---------------------------------------------------------------- M3: each no-table reason's source


@pytest.mark.parametrize(
    ("name", "eid"),
    [("p21", "lung_thymus_outside_row"), ("p22", "lung_thymus_not_distant"), ("p29", "poorly_differentiated"),
     ("p30", "unknown_primary_g12"), ("p34", "no_evidence_of_disease")],
)  # fmt: skip
def test_no_table_reasons_carry_the_exclusions_source(name: str, eid: str) -> None:
    ev = run(NO_TABLE[name])
    s = ev.setting
    assert s.table is None and s.status == "not_applicable" and s.source is None
    assert len(s.reason_sources) == len(s.reasons)
    e = exclusion(eid)
    i = s.reasons.index(" ".join(e.text.split()))
    src = s.reason_sources[i]
    assert (src.document, src.page, src.table, src.section) == (
        e.source.document, e.source.page, e.source.table, e.source.section,
    )  # fmt: skip
    assert src.version == KB.version
    dumped = ev.model_dump(mode="json")["setting"]
    assert dumped["reason_sources"][i]["page"] == "NE-H"


def test_every_setting_reason_has_a_source_when_a_table_applies_or_waits() -> None:
    for record in (P01, P04, P28):
        s = run(record).setting
        assert len(s.reason_sources) == len(s.reasons) and all(r.document for r in s.reason_sources)
    applies = run(P01).setting
    assert {r.table for r in applies.reason_sources} == {applies.source.table}  # type: ignore[union-attr]


def test_without_an_exclusion_each_table_says_why_with_its_source() -> None:
    # the fallback when no exclusion names the situation: each table's "does not apply", sourced to it
    kb = KB.model_copy(update={"exclusions": []})
    ev = evaluate(Patient.model_validate({**BASE, "id": "e", **P21}), kb)
    s = ev.setting
    assert s.status == "not_applicable" and len(s.reasons) == len(kb.tables)
    assert [r.table for r in s.reason_sources] == [t.source.table for t in kb.tables]
    assert ev.unavailable_references == []


def test_a_check_the_record_remark_names_netcds_derived_facts_as_its_source() -> None:
    ev = run({"tumor": {"primary_site": "ileum", "differentiation": "poor", "ki67_percent": 2},
              "disease": PROGRESSIVE})  # fmt: skip
    s = ev.setting
    assert len(s.reason_sources) == len(s.reasons) == 2
    assert s.reason_sources[0].section == exclusion("poorly_differentiated").source.section
    assert "check the record" in s.reasons[1] and s.reason_sources[1].section == "derived.differentiation"
    assert "netcds derived facts" in s.reason_sources[1].document


@pytest.mark.parametrize(("name", "eid"), [("p22", "lung_thymus_not_distant"), ("p29", "poorly_differentiated"),
                                          ("p30", "unknown_primary_g12")])  # fmt: skip
def test_pages_not_in_source_reasons_are_listed_as_unavailable(name: str, eid: str) -> None:
    ev = run(NO_TABLE[name])
    refs = [r for r in ev.unavailable_references if eid in r.ref]
    assert len(refs) == 1 and refs[0].available is False
    # the source does not name the pages: nothing is invented (no page id of the manifest is claimed)
    assert {r.ref for r in ev.unavailable_references}.isdisjoint({r.id for r in KB.manifest.references})


def test_reasons_that_restate_a_tables_row_add_no_unavailable_reference() -> None:
    assert run(P21).unavailable_references == [] and run(P34).unavailable_references == []


# ---------------------------------------------------------------- M5: every unknown that decides the plan


def test_ssa_plan_names_every_unknown_that_could_change_it() -> None:
    ev = run(P04)
    plan = ev.ssa_plan
    assert plan.action == "needs_data"
    for field in ("disease.progression_clinically_significant", "tumor.functional", "treatments"):
        assert field in plan.missing, field
    assert all(m in ev.needs_data for m in plan.missing)


def test_ssa_plan_does_not_name_what_cannot_change_it() -> None:
    # progression recorded as not clinically significant: the footnote asks nothing, whatever else is unknown
    ev = run({**P04, "disease": {**P04["disease"], "progression_clinically_significant": False}})
    assert ev.ssa_plan.action == "not_applicable" and ev.ssa_plan.missing == []


# ---------------------------------------------------------------- M7: the statement with no table


@pytest.mark.parametrize("name", ["p21", "p29", "p30", "p34"])
def test_no_table_statement_does_not_say_a_table_lists_options(name: str) -> None:
    ev = run(NO_TABLE[name])
    assert ev.options == [] and ev.setting.table is None
    st = ev.sequencing_statement
    assert "lists these" not in st and "lists them" not in st
    assert "NCCN NET V.5.2024, NE-H" in st  # keeps its source


def test_a_table_keeps_its_statement() -> None:
    assert "lists these systemic options" in run(P28).sequencing_statement  # WD G3 (no principle)
    assert "(NCCN NET V.5.2024, NE-H)" in run(P01).sequencing_statement


# ---------------------------------------------------------------- L1: agents named in words


def test_octreotide_lar_is_named_in_words_in_plan_and_reasons() -> None:
    ev = run(P01)
    texts = list(ev.ssa_plan.reasons) + [r for o in ev.options for r in o.reasons]
    assert not [t for t in texts if "octreotide lar" in t]
    assert any("progressed on octreotide LAR or lanreotide" in t for t in ev.ssa_plan.reasons)


# ---------------------------------------------------------------- L3: references of the possible settings


def test_possible_settings_references_are_listed_as_unavailable() -> None:
    ev = run(P28)
    assert ev.possible_settings and ev.options == []
    refs = {r.ref for r in ev.unavailable_references}
    assert {"NE-J", "NE-I", "NE-H-references"} <= refs


# ---------------------------------------------------------------- M4: the insulinoma item's primary source


@pytest.mark.parametrize("agent", ["octreotide_lar", "octreotide"])
def test_insulinoma_item_rests_on_the_source_that_names_insulinoma(agent: str) -> None:
    mono = load_agents().monograph(agent)
    item = next(w for w in mono.warnings if w.id == "insulinoma_hypoglycemia")
    assert item.source.ref == "formulary" and "insulinoma" in item.source.section
    also = {a.ref: a.section for a in item.source.also}
    assert "Hyperglycemia and Hypoglycemia" in also["label"]
    assert item.verified is False
