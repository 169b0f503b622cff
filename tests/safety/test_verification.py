"""Facts that could not be confirmed against a stored copy of the label are flagged, never shown as settled.

Also pins the corrections made when the monographs were checked against the labels (each test names the
label fact it encodes)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from netcds.errors import KnowledgeError
from netcds.knowledge.load import default_knowledge_dir
from netcds.safety import AgentKnowledge, SafetyItem, screen_agent, validate_knowledge
from netcds.safety.load import load_folder
from tests.safety.conftest import comorb, meds, patient


def item(items: list[SafetyItem], ident: str) -> SafetyItem:
    found = [i for i in items if i.id == ident]
    assert found, f"no item {ident}: {[i.id for i in items]}"
    return found[0]


# ------------------------------------------------------------------------------ the flag itself


def test_unverified_needs_an_explanation(tmp_path: Path) -> None:
    src = default_knowledge_dir()
    (tmp_path / "agents").mkdir()
    (tmp_path / "interactions").symlink_to(src / "interactions")
    data = yaml.safe_load((src / "agents" / "leucovorin.yaml").read_text())
    data["warnings"][0]["verified"] = False
    (tmp_path / "agents" / "leucovorin.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(KnowledgeError) as exc:
        load_folder(tmp_path)
    assert any("verification" in m for _, m in exc.value.problems)


def test_summary_counts_unverified_items() -> None:
    summary = validate_knowledge()
    assert "marked unverified" in summary


def test_verified_items_carry_no_note(akb: AgentKnowledge) -> None:
    s = screen_agent("cabozantinib", patient(meds("clarithromycin")), akb)
    it = item(s.safety, "strong_cyp3a4_inhibitor")
    assert it.verified and it.verification is None and not it.finding.startswith("UNVERIFIED")
    assert s.dose.unverified == [] and s.dose.adjusted == "40 mg orally once daily"


def test_unverified_rule_is_reported_as_such(akb: AgentKnowledge) -> None:
    # LUTATHERA: the bilirubin > 3 x ULN definition of hepatotoxicity was not found in any stored label copy
    # (a rule for hepatotoxicity on treatment: it needs an earlier LUTATHERA dose)
    after_prrt = {"treatments": [{"agent": "lu177_dotatate", "start": "2024-10-01"}]}
    s = screen_agent("lu177_dotatate", patient({**comorb(bilirubin_x_uln=3.5), **after_prrt}), akb)
    it = item(s.safety, "hepatotoxicity")
    assert not it.verified and it.finding.startswith("UNVERIFIED — ")
    assert it.verification is not None and "3 x ULN" in it.verification
    assert s.dose.adjusted is not None and s.dose.adjusted.startswith("UNVERIFIED — ")
    assert any(u.startswith("hepatotoxicity:") for u in s.dose.unverified)


def test_unverified_rule_with_unknown_fact_is_marked_in_not_assessed(akb: AgentKnowledge) -> None:
    # renal_toxicity (unverified threshold) is a rule for patients given LUTATHERA before
    after_prrt = {"treatments": [{"agent": "lu177_dotatate", "start": "2024-10-01"}]}
    s = screen_agent(
        "lu177_dotatate", patient({"comorbidities": {"creatinine_clearance_ml_min": ...}, **after_prrt}), akb
    )
    na = [
        i
        for i in s.safety
        if i.kind == "not_assessed" and "comorbidities.creatinine_clearance_ml_min" in i.fields
    ]
    assert len(na) == 1
    assert "[UNVERIFIED]" in na[0].finding and not na[0].verified


def test_unverified_class_membership_is_reported(akb: AgentKnowledge) -> None:
    # conivaptan's strong-inhibitor membership is disputed: the stored copy of FDA's current table
    # lists it as moderate, the erlotinib label's examples as strong
    s = screen_agent("everolimus", patient(meds("conivaptan")), akb)
    it = item(s.safety, "strong_cyp3a4_inhibitor")
    assert not it.verified and "class membership UNVERIFIED" in it.finding
    assert s.dose.adjusted is not None and s.dose.adjusted.startswith("UNVERIFIED — avoid")
    keto = screen_agent("everolimus", patient(meds("ketoconazole")), akb)
    assert item(keto.safety, "strong_cyp3a4_inhibitor").verified  # an AFINITOR label example
    # posaconazole: corroborated (2026-11) by the stored copy of FDA's table and the erlotinib label
    posa = screen_agent("everolimus", patient(meds("posaconazole")), akb)
    assert item(posa.safety, "strong_cyp3a4_inhibitor").verified


def test_unverified_membership_is_per_class(akb: AgentKnowledge) -> None:
    # atazanavir: strong CYP3A4 inhibitor (AFINITOR example, verified); UGT1A1 inhibitor (not confirmed)
    assert set(akb.unverified_meds["atazanavir"]) == {"strong_ugt1a1_inhibitor"}
    s = screen_agent("cabozantinib", patient(meds("atazanavir")), akb)
    assert item(s.safety, "strong_cyp3a4_inhibitor").verified


def test_screened_drug_with_unverified_membership_says_so(akb: AgentKnowledge) -> None:
    # fluvoxamine: FDA's current table (stored copy) has it as a weak CYP3A inhibitor, not moderate
    s = screen_agent("lanreotide", patient(meds("fluvoxamine")), akb)
    it = item(s.safety, "medication_00_screened")
    assert "UNVERIFIED" in it.finding and not it.verified


def test_every_membership_is_corroborated_or_flagged(akb: AgentKnowledge) -> None:
    for lst in akb.interactions:
        if lst.id != "cyp3a4":
            continue
        for d in lst.drugs:
            only_fda_table = d.source.ref == "fda_ddi" and not d.source.also
            assert d.verified is not only_fda_table, d.name


# ------------------------------------------------------------------------------ corrections pinned


def test_phenobarbital_and_rifabutin_are_strong_inducers(akb: AgentKnowledge) -> None:
    # AFINITOR lists both among strong CYP3A4/P-gp inducers (double the everolimus dose in 5 mg steps)
    for name in ("phenobarbital", "rifabutin", "Mycobutin"):
        s = screen_agent("everolimus", patient(meds(name)), akb)
        assert s.dose.adjusted_mg == 20, name


def test_primidone_is_a_moderate_inducer_per_fda_table(akb: AgentKnowledge) -> None:
    # was flagged UNVERIFIED until the stored copy of FDA's table (2026-11) confirmed "moderate"
    s = screen_agent("cabozantinib", patient(meds("primidone")), akb)
    it = item(s.safety, "cyp3a4_inducer")
    assert it.verified and s.dose.adjusted_mg == 80


def test_sunitinib_pnet_has_one_reduction_to_25mg(akb: AgentKnowledge) -> None:
    d = akb.agents["sunitinib"].dose
    assert d.minimum == 25 and d.maximum == 62.5  # SUTENT 2.4 Table 1 and 2.5 (pNET)


def test_capecitabine_breastfeeding_interval_is_two_weeks(akb: AgentKnowledge) -> None:
    s = screen_agent("capecitabine", patient({"breastfeeding": True}), akb)
    assert "2 weeks" in item(s.safety, "breastfeeding").finding


def test_belzutifan_moderate_hepatic_impairment_not_studied(akb: AgentKnowledge) -> None:
    s = screen_agent("belzutifan", patient(comorb(hepatic_impairment="moderate")), akb)
    it = item(s.safety, "hepatic_moderate_severe")
    # no data, so no labelled dose: the dose rule gives "not determined" and the item is a warning
    assert it.severity == "warning" and it.kind == "adjustment" and it.verified


def test_everolimus_male_contraception_interval_flagged(akb: AgentKnowledge) -> None:
    s = screen_agent("everolimus", patient(), akb)
    assert item(s.safety, "contraception").verified
    s = screen_agent("everolimus", patient({"sex": "male", "pregnant": ...}), akb)  # the item is for males
    male = item(s.safety, "contraception_male")
    assert not male.verified and male.finding.startswith("UNVERIFIED")
