"""Regimen screens: agents from REGIMEN_AGENTS, SSA dose levels, RT and clinical-trial scope items."""

from __future__ import annotations

import pytest

from netcds.patient import REGIMEN_AGENTS
from netcds.safety import AgentKnowledge, screen_regimen
from tests.safety.conftest import comorb, meds, patient


def test_ssa_standard_and_above_label_doses(akb: AgentKnowledge) -> None:
    std = screen_regimen("ssa", patient(), akb)
    above = screen_regimen("ssa_above_label", patient(), akb)
    assert std.agents == above.agents == ["octreotide_lar", "lanreotide"]
    std_doses = {d.agent: d.standard for d in std.doses}
    above_doses = {d.agent: d for d in above.doses}
    assert "20-30 mg" in std_doses["octreotide_lar"] and "every 4 weeks" in std_doses["lanreotide"]
    assert "up to 60 mg" in above_doses["octreotide_lar"].standard
    assert "every 14 days" in above_doses["lanreotide"].standard
    assert above_doses["lanreotide"].source.section.startswith("Footnote h")


def test_rt_fluoropyrimidine_screens_the_drugs_and_says_rt_is_out_of_scope(akb: AgentKnowledge) -> None:
    s = screen_regimen("rt_fluoropyrimidine", patient(meds("warfarin")), akb)
    assert s.agents == ["fluorouracil", "capecitabine"]
    scope = [i for i in s.safety if i.kind == "scope"]
    assert len(scope) == 1 and scope[0].agent == "radiotherapy" and scope[0].severity == "info"
    assert {i.agent for i in s.safety if i.id == "vitamin_k_antagonist"} == {"fluorouracil", "capecitabine"}


def test_clinical_trial_has_no_agents(akb: AgentKnowledge) -> None:
    s = screen_regimen("clinical_trial", patient(), akb)
    assert s.agents == [] and s.doses == []
    assert [i.id for i in s.safety] == ["clinical_trial_protocol"]


def test_folfox_screens_three_agents_and_lists_unknown_meds_once(akb: AgentKnowledge) -> None:
    s = screen_regimen(
        "folfox", patient({**meds("mystery pill"), **comorb(creatinine_clearance_ml_min=25)}), akb
    )
    assert s.agents == ["fluorouracil", "leucovorin", "oxaliplatin"]
    not_screened = [i for i in s.safety if i.kind == "not_screened"]
    assert len(not_screened) == 1 and not_screened[0].agent == "folfox"
    ox = next(d for d in s.doses if d.agent == "oxaliplatin")
    assert ox.adjusted == "65 mg/m2 intravenously every 2 weeks (FOLFOX)"


@pytest.mark.parametrize("regimen", sorted(REGIMEN_AGENTS))
def test_every_regimen_screens(regimen: str, akb: AgentKnowledge) -> None:
    s = screen_regimen(regimen, patient({"pregnant": True}), akb)
    assert len(s.doses) == len(s.agents)
    if s.agents:
        assert any(i.id == "pregnancy" and i.kind == "warning" for i in s.safety)


def test_unknown_regimen(akb: AgentKnowledge) -> None:
    with pytest.raises(KeyError):
        screen_regimen("folfoxx", patient(), akb)


def test_option_safety_shapes(akb: AgentKnowledge) -> None:
    from netcds.safety import option_safety

    items, dose = option_safety("cabozantinib", patient(meds("Biaxin")), akb)
    assert dose is not None and dose["agent"] == "cabozantinib" and dose["adjusted_mg"] == 40
    assert all({"severity", "agent", "finding", "action", "source", "fields"} <= set(i) for i in items)
    _, combo = option_safety("capeox", patient(), akb)
    assert combo is not None and [d["agent"] for d in combo["agents"]] == ["capecitabine", "oxaliplatin"]
    assert option_safety("clinical_trial", patient(), akb)[1] is None
