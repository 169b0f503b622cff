"""Footnote a's SSA plan while the setting waits for data, and footnote n's "progression after prior
treatment" with a line whose progression is not recorded (clinical review, session 23)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import g3, gi, opt, run

OCT_PROGRESSED = {
    "agent": "octreotide_lar",
    "dose_mg": 30,
    "interval_days": 28,
    "start": "2023-01-01",
    "progressed": True,
}


def _grade_unknown(**over: Any) -> dict[str, Any]:
    """An ileal tumor of unknown grade and differentiation: GI G1/2 or WD G3 remain possible."""
    record = gi(**{"treatments": [OCT_PROGRESSED], **over})
    record["tumor"] = {"primary_site": "ileum", "sstr_status": "positive", "functional": False}
    return record


def test_the_plan_waits_when_several_settings_remain():
    ev = run(_grade_unknown())
    assert ev.setting.status == "needs_data" and len(ev.possible_settings) >= 2
    assert {p.table for p in ev.possible_settings} == {"gi_wd_g12", "wd_g3"}
    assert ev.ssa_plan.action == "needs_data" and ev.ssa_plan.footnote == "a"
    assert {"tumor.grade", "tumor.ki67_percent"} <= set(ev.ssa_plan.missing)
    said = " ".join(ev.ssa_plan.reasons)
    assert (
        "If the Neuroendocrine tumors of the GI tract, well-differentiated grade 1/2 table applies: discontinue"
        in said
    )
    assert "No table applies" not in said


def test_the_plan_waits_when_the_one_possible_table_may_not_apply():
    record = gi(treatments=[OCT_PROGRESSED], disease={"extent": "locoregional", "resectable": None})
    ev = run(record)
    assert ev.setting.status == "needs_data" and ev.setting.table == "gi_wd_g12"
    assert ev.ssa_plan.action == "needs_data" and "disease.resectable" in ev.ssa_plan.missing
    resectable = run(gi(treatments=[OCT_PROGRESSED], disease={"extent": "locoregional", "resectable": True}))
    assert resectable.ssa_plan.action == "not_applicable"  # no table: footnote a does not speak
    unresectable = run(
        gi(treatments=[OCT_PROGRESSED], disease={"extent": "locoregional", "resectable": False})
    )
    assert unresectable.ssa_plan.action == "discontinue"


def test_a_plan_that_is_the_same_in_every_setting_stands():
    ev = run(_grade_unknown(treatments=[]))  # no SSA course: footnote a has nothing to say anywhere
    assert ev.setting.status == "needs_data" and ev.ssa_plan.action == "not_applicable"
    assert ev.ssa_plan.missing == []


def _pembrolizumab(**over: Any):
    record = g3(
        disease={"biology": "unfavorable", "status": "stable"},
        biomarkers={"msi": "high"},
        **over,
    )
    return opt(run(record), "g3adv.pembrolizumab")


CAPTEM = {"agent": "capecitabine_temozolomide", "start": "2023-01-01", "end": "2024-01-01"}


def test_an_unrecorded_progression_after_prior_treatment_is_unknown_not_no():
    o = _pembrolizumab(treatments=[CAPTEM, {"agent": "folfox", "start": "2024-02-01", "progressed": False}])
    assert o.status == "needs_data" and o.missing == ["treatments[0].progressed"]


@pytest.mark.parametrize(
    ("lines", "status"),
    [
        ([{**CAPTEM, "progressed": False}], "not_eligible"),
        ([{**CAPTEM, "progressed": True}], "eligible"),
        ([{**CAPTEM, "stop_reason": "progression"}], "eligible"),
        ([], "not_eligible"),
    ],
    ids=["recorded_without_progression", "progressed", "stopped_for_progression", "no_prior_treatment"],
)
def test_progression_after_prior_treatment_when_it_is_recorded(lines, status):
    assert _pembrolizumab(treatments=lines).status == status


def test_progression_after_prior_treatment_names_the_status_when_it_is_missing():
    record = g3(disease={"biology": "unfavorable", "status": None}, biomarkers={"msi": "high"})
    record["treatments"] = [{**CAPTEM, "progressed": False}]
    ev = run(record)
    assert (
        "disease.status" in ev.setting.missing or "disease.status" in opt(ev, "g3adv.pembrolizumab").missing
    )
