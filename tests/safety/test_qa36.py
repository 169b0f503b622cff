"""Clinical QA findings of session 36 (LOW): two moderate CYP3A4 inducers and sex-specific contraception.

- Modafinil and nafcillin are named as moderate CYP3A inducers by the same stored source as bosentan,
  efavirenz and etravirine (knowledge/interactions/cyp3a4.yaml, ``alunbrig_hk``) but were not listed, so
  cabozantinib's dose increase for a strong or moderate inducer never fired for them.
- The label items for females of reproductive potential were shown for a male patient (and everolimus's
  item for males for a female); each now has a ``when`` on sex. Unknown sex is said, never passed.
"""

from __future__ import annotations

from typing import Any

import pytest

from netcds.safety import AgentKnowledge, screen_agent
from tests.safety.conftest import meds, patient


def _items(agent: str, over: dict[str, Any], akb: AgentKnowledge) -> dict[str, Any]:
    return {i.id: i for i in screen_agent(agent, patient(over), akb).safety}


@pytest.mark.parametrize("drug", ["modafinil", "Provigil 200 mg", "nafcillin"])
def test_moderate_inducers_raise_cabozantinib_dose(drug: str, akb: AgentKnowledge) -> None:
    s = screen_agent("cabozantinib", patient(meds(drug)), akb)
    item = next(i for i in s.safety if i.id == "cyp3a4_inducer")
    assert "moderate CYP3A4 inducer" in item.finding and item.fields == ["medications[0]"]
    assert "not_screened" not in " ".join(i.id for i in s.safety)
    assert s.dose.adjusted_mg == 80 and s.dose.rules_applied[0].startswith(
        "cyp3a4_inducer:"
    )  # 60 + 20 mg (label)
    assert akb.registry.classes[akb.registry.match(0, drug)[0].generic] == {"moderate_cyp3a4_inducer"}


FEMALE_ONLY = ["cabozantinib", "everolimus", "ipilimumab", "nivolumab", "pembrolizumab"]


@pytest.mark.parametrize("agent", FEMALE_ONLY)
def test_the_female_contraception_item_follows_sex(agent: str, akb: AgentKnowledge) -> None:
    female = _items(agent, {"sex": "female"}, akb)
    assert female["contraception"].kind == "monitoring" and "Females" in female["contraception"].finding
    assert "contraception" not in _items(agent, {"sex": "male", "pregnant": ..., "breastfeeding": ...}, akb)
    unknown = _items(agent, {"sex": ...}, akb)["contraception"]
    assert unknown.kind == "not_assessed" and "sex" in unknown.fields


def test_everolimus_male_item_is_not_shown_for_a_female(akb: AgentKnowledge) -> None:
    assert "contraception_male" not in _items("everolimus", {"sex": "female"}, akb)
    assert "contraception_male" in _items(
        "everolimus", {"sex": "male", "pregnant": ..., "breastfeeding": ...}, akb
    )
