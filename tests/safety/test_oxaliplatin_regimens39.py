"""Oxaliplatin's US label gives the FOLFOX dose only (85 mg/m2 every 2 weeks, 65 mg/m2 below a creatinine clearance
of 30 mL/min). Until session 39 CAPEOX and FOLFIRINOX showed that FOLFOX amount and its renal reduction ("65 mg/m2
intravenously every 2 weeks (FOLFOX)") beside a CAPEOX protocol of 130 mg/m2 every 3 weeks (QA MEDIUM): now their
oxaliplatin dose follows the protocol, and in severe renal impairment it is not determined, saying why."""

from __future__ import annotations

import pytest

from netcds.safety import AgentKnowledge, screen_regimen
from netcds.safety.adjusted_dose import NO_DOSE
from tests.safety.conftest import comorb, patient

NOT_DETERMINED = NO_DOSE[1]


def _oxaliplatin(regimen: str, crcl: float, akb: AgentKnowledge):  # type: ignore[no-untyped-def]
    rs = screen_regimen(regimen, patient(comorb(creatinine_clearance_ml_min=crcl)), akb)
    (d,) = [x for x in rs.doses if x.agent == "oxaliplatin"]
    return d


@pytest.mark.parametrize("regimen", ["capeox", "folfirinox"])
def test_protocol_regimens_show_no_folfox_amount(regimen: str, akb: AgentKnowledge) -> None:
    d = _oxaliplatin(regimen, 80, akb)
    assert "protocol" in d.standard and "85 mg/m2" not in d.standard and d.adjusted is None


@pytest.mark.parametrize("regimen", ["capeox", "folfirinox"])
def test_protocol_regimens_in_severe_renal_impairment_have_no_labelled_dose(
    regimen: str, akb: AgentKnowledge
) -> None:
    d = _oxaliplatin(regimen, 25, akb)
    assert d.adjusted is not None and d.adjusted.startswith(NOT_DETERMINED)
    assert "65 mg/m2 intravenously every 2 weeks" not in d.adjusted and "FOLFOX schedule" in d.adjusted
    assert d.adjusted_mg is None and [r.split(":")[0] for r in d.rules_applied] == ["renal_severe"]


def test_folfox_keeps_the_label_reduction(akb: AgentKnowledge) -> None:
    assert _oxaliplatin("folfox", 25, akb).adjusted == "65 mg/m2 intravenously every 2 weeks (FOLFOX)"
    assert _oxaliplatin("folfox", 30, akb).adjusted is None  # the label's line is under 30 mL/min


# ---- QA session 39, LOW: two monograph items ---------------------------------------------------------------


def test_everolimus_carcinoid_syndrome_item_is_settled_for_a_non_functional_tumor() -> None:
    """A tumor recorded non-functional has no hormone syndrome (the contract refuses one listed beside it): the
    footnote-b item is neither shown nor "not assessed" for the unrecorded list; a recorded syndrome shows it."""
    from tests.conftest import gi, run

    def items(tumor: dict[str, object]) -> list[tuple[str, str]]:
        ev = run(gi(tumor=tumor))
        (o,) = [o for o in ev.options if o.regimen == "everolimus"]
        return [(s.id, s.kind) for s in o.safety if s.id == "carcinoid_syndrome"]

    assert items({"functional": False}) == []
    assert items({"functional": True, "syndromes": ["carcinoid_syndrome"]}) == [
        ("carcinoid_syndrome", "warning")
    ]
    assert items({"functional": ..., "syndromes": ...}) == [("carcinoid_syndrome", "not_assessed")]


def test_lanreotide_breastfeeding_is_a_warning_like_the_other_agents(akb: AgentKnowledge) -> None:
    from netcds.safety import screen_agent

    p = patient({"sex": "female", "breastfeeding": True})
    (it,) = [s for s in screen_agent("lanreotide", p, akb).safety if s.id == "breastfeeding"]
    assert it.severity == "warning"
