"""Session-32 check of the chemotherapy monograph items that were unconfirmed.

Confirmed in a stored copy of the US label (now verified, citing that copy):
cisplatin renal_impairment / pregnancy / breastfeeding, etoposide pregnancy, carboplatin aminoglycoside.

Corrected: carboplatin + aminoglycoside. The US carboplatin label (Warnings) calls for caution when both
are given; it does not advise avoiding the combination, which the item used to say.

Still unconfirmed: they keep ``verified: false`` and must still fire, marked UNVERIFIED.
"""

from __future__ import annotations

from typing import Any

import pytest

from netcds.safety import AgentKnowledge, SafetyItem, screen_agent
from tests.safety.conftest import comorb, meds, patient

PREG: dict[str, Any] = {"pregnant": True}
BF: dict[str, Any] = {"breastfeeding": True}

# (agent, item id, new source ref, URL of the stored copy, patient overrides that make the rule fire)
VERIFIED = [
    (
        "cisplatin",
        "renal_impairment",
        "openfda_label",
        "https://api.fda.gov/drug/label.json?search=set_id%3A%22508496cb-3441-46b3-a4fe-e0d440e6adc6%22",
        comorb(creatinine_clearance_ml_min=55),
    ),
    (
        "cisplatin",
        "pregnancy",
        "medlibrary_label",
        "https://medlibrary.org/lib/rx/meds/cisplatin-10/page/3/",
        PREG,
    ),
    (
        "cisplatin",
        "breastfeeding",
        "medlibrary_label",
        "https://medlibrary.org/lib/rx/meds/cisplatin-10/page/3/",
        BF,
    ),
    (
        "etoposide",
        "pregnancy",
        "etopophos_copy",
        "https://globalrph.com/rx-list/etopophos-drug",
        PREG,
    ),
    (
        "carboplatin",
        "aminoglycoside",
        "pfizer_warnings",
        "https://pfizermedicalinformation.com/carboplatin/warnings",
        meds("tobramycin"),
    ),
]

STILL_UNVERIFIED = [
    ("cisplatin", "aminoglycoside", meds("gentamicin")),
    ("carboplatin", "pregnancy", PREG),
    ("carboplatin", "breastfeeding", BF),
    ("etoposide", "breastfeeding", BF),
    ("fluorouracil", "pregnancy", PREG),
    ("fluorouracil", "breastfeeding", BF),
    ("dacarbazine", "breastfeeding", BF),
    ("capecitabine", "hyperbilirubinemia", comorb(bilirubin_x_uln=3.5)),
    ("irinotecan", "counts_low", comorb(neutrophils_per_ul=1400)),
    ("irinotecan", "pregnancy", PREG),
    ("temozolomide", "breastfeeding", BF),
]


def _warning(akb: AgentKnowledge, agent: str, ident: str) -> Any:
    found = [w for w in akb.agents[agent].warnings if w.id == ident]
    assert len(found) == 1, f"{agent}.warnings.{ident} missing"
    return found[0]


def _fired(agent: str, ident: str, over: dict[str, Any], akb: AgentKnowledge) -> list[SafetyItem]:
    return [i for i in screen_agent(agent, patient(over), akb).safety if i.id == ident]


@pytest.mark.parametrize(
    ("agent", "ident", "ref", "url", "over"), VERIFIED, ids=[f"{a}:{i}" for a, i, *_ in VERIFIED]
)
def test_verified_item_cites_stored_label_copy(
    akb: AgentKnowledge, agent: str, ident: str, ref: str, url: str, over: dict[str, Any]
) -> None:
    w = _warning(akb, agent, ident)
    assert w.verified is True
    assert w.verification is None
    assert ref == w.source.ref or ref in {a.ref for a in w.source.also}
    assert akb.agents[agent].sources[ref].url == url
    items = _fired(agent, ident, over, akb)
    assert items, f"{agent}:{ident} did not fire"
    assert all(i.verified for i in items)
    assert not any(i.finding.startswith("UNVERIFIED") for i in items)
    assert url in {i.source.url for i in items} | {a.url for i in items for a in i.source.also}


def test_carboplatin_aminoglycoside_says_caution_not_avoid(akb: AgentKnowledge) -> None:
    items = _fired("carboplatin", "aminoglycoside", meds("gentamicin"), akb)
    assert len(items) == 1
    it = items[0]
    assert it.severity == "warning"
    assert "caution" in it.action
    assert "advises against" not in it.action
    assert "does not say to avoid" in it.action
    assert not _fired("carboplatin", "aminoglycoside", {}, akb)


def test_cisplatin_renal_threshold_unchanged(akb: AgentKnowledge) -> None:
    assert _fired("cisplatin", "renal_impairment", comorb(creatinine_clearance_ml_min=59), akb)
    assert not _fired("cisplatin", "renal_impairment", comorb(creatinine_clearance_ml_min=60), akb)


@pytest.mark.parametrize(
    ("agent", "ident", "over"), STILL_UNVERIFIED, ids=[f"{a}:{i}" for a, i, _ in STILL_UNVERIFIED]
)
def test_unconfirmed_item_stays_flagged_and_fires(
    akb: AgentKnowledge, agent: str, ident: str, over: dict[str, Any]
) -> None:
    w = _warning(akb, agent, ident)
    assert w.verified is False
    assert w.verification
    items = _fired(agent, ident, over, akb)
    assert items, f"{agent}:{ident} did not fire"
    assert all(not i.verified for i in items)
    assert all(i.finding.startswith("UNVERIFIED") for i in items)


def test_cisplatin_renal_item_says_the_cut_off_is_not_the_labels(akb: AgentKnowledge) -> None:
    """The label gives no creatinine clearance number; the 60 mL/min boundary comes from FDA's renal guidance
    (review R1 of session 32: with the item verified, the number must not read as the label's)."""
    (it,) = _fired("cisplatin", "renal_impairment", comorb(creatinine_clearance_ml_min=45), akb)
    assert "no creatinine clearance cut-off" in it.action and "FDA renal-guidance" in it.action
    assert "fda_renal" in {a.ref for a in _warning(akb, "cisplatin", "renal_impairment").source.also}


def test_cisplatin_aminoglycoside_no_longer_claims_the_us_label_advises_against(akb: AgentKnowledge) -> None:
    (it,) = _fired("cisplatin", "aminoglycoside", meds("gentamicin"), akb)
    assert not it.verified and it.finding.startswith("UNVERIFIED")
    assert "The label advises against" not in it.action
    assert "without naming aminoglycosides" in it.action and "non-US" in it.action


@pytest.mark.parametrize("agent", ["dacarbazine", "etoposide"])
def test_unconfirmed_nursing_actions_do_not_claim_the_labels_wording(akb: AgentKnowledge, agent: str) -> None:
    (it,) = _fired(agent, "breastfeeding", BF, akb)
    assert "Per the label" not in it.action and "not seen" in it.action
