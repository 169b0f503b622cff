"""A recorded pregnancy or breastfeeding counts whatever the recorded sex (clinical QA, session 37, MEDIUM).

The label items on pregnancy and breastfeeding read ``sex is not male and pregnant``. With the sex not
recorded (a FHIR Patient without ``gender``), three-valued logic left a recorded pregnancy "not assessed"
(a warning) instead of a critical finding, and the options were not held back. They now read
``derived.pregnant`` / ``derived.breastfeeding`` (facts._reproductive): the flag as recorded; unrecorded,
false for a male patient (no item, as before) and unknown otherwise, naming the sex too while it is
unrecorded. The cohort SQL mirrors the fact (tests/cohort/test_reproductive_sql37.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from netcds.facts import build_facts
from netcds.safety import AgentKnowledge, screen_agent
from tests.safety.conftest import patient

PREGNANCY = [
    "belzutifan", "cabozantinib", "capecitabine", "carboplatin", "cisplatin", "dacarbazine", "etoposide",
    "everolimus", "fluorouracil", "ipilimumab", "irinotecan", "lu177_dotatate", "nivolumab", "oxaliplatin",
    "pembrolizumab", "sunitinib", "temozolomide",
]  # fmt: skip


def _items(agent: str, over: dict[str, Any], akb: AgentKnowledge) -> dict[str, Any]:
    return {i.id: i for i in screen_agent(agent, patient(over), akb).safety}


def _with(akb: AgentKnowledge, item: str) -> list[str]:
    return sorted(a for a, m in akb.agents.items() if any(i.id == item for i in m.warnings))


def test_the_agents_with_the_items() -> None:
    """The list above is every agent whose monograph has a pregnancy item (a new one is tested too)."""
    from netcds.safety import load_agents

    akb = load_agents()
    assert len(_with(akb, "pregnancy")) >= 17
    assert set(PREGNANCY) <= set(_with(akb, "pregnancy"))


@pytest.mark.parametrize("agent", PREGNANCY)
def test_recorded_pregnancy_is_critical_with_sex_unrecorded(agent: str, akb: AgentKnowledge) -> None:
    for sex in (..., "unknown", "other", "female"):
        item = _items(agent, {"sex": sex, "pregnant": True}, akb)["pregnancy"]
        assert item.kind != "not_assessed", (agent, sex, item)
        assert item.severity == "critical" and item.fields == ["pregnant"], (agent, sex, item)


@pytest.mark.parametrize("agent", PREGNANCY)
def test_unrecorded_pregnancy(agent: str, akb: AgentKnowledge) -> None:
    assert "pregnancy" not in _items(agent, {"sex": "male", "pregnant": ...}, akb)  # no noise for a man
    assert "pregnancy" not in _items(agent, {"sex": "female", "pregnant": False}, akb)
    unknown = _items(agent, {"sex": ..., "pregnant": ...}, akb)["pregnancy"]
    assert unknown.kind == "not_assessed" and unknown.fields == ["sex", "pregnant"]
    female = _items(agent, {"sex": "female", "pregnant": ...}, akb)["pregnancy"]
    assert female.kind == "not_assessed" and female.fields == ["pregnant"]


def test_recorded_breastfeeding_counts_with_sex_unrecorded(akb: AgentKnowledge) -> None:
    agents = _with(akb, "breastfeeding")
    assert len(agents) >= 15
    for agent in agents:
        item = _items(agent, {"sex": ..., "breastfeeding": True}, akb)["breastfeeding"]
        assert item.kind != "not_assessed" and item.fields == ["breastfeeding"], (agent, item)
        assert "breastfeeding" not in _items(agent, {"sex": "male", "breastfeeding": ...}, akb)


@pytest.mark.parametrize(
    ("over", "value", "missing"),
    [
        ({"sex": "male", "pregnant": ...}, False, ()),
        ({"sex": ..., "pregnant": True}, True, ()),
        ({"sex": "female", "pregnant": False}, False, ()),
        ({"sex": "female", "pregnant": ...}, None, ("pregnant",)),
        ({"sex": "unknown", "pregnant": ...}, None, ("sex", "pregnant")),
        ({"sex": ..., "pregnant": ...}, None, ("sex", "pregnant")),
    ],
)
def test_derived_pregnant(over: dict[str, Any], value: bool | None, missing: tuple[str, ...]) -> None:
    d = build_facts(patient(over)).derived["derived.pregnant"]
    assert (d.value, d.missing) == (value, missing)
