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
