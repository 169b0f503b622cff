"""Review M (drug-safety screening gaps): EHR spellings, unscreened names and the dose, not-assessed
severity, "do not give" warnings and the dose, procedure dates against as_of, the held-back line, topical
forms."""

from __future__ import annotations

from typing import Any

import pytest

from netcds.report import held_back_words
from netcds.safety import AgentKnowledge, screen_agent, screen_regimen
from netcds.safety.adjusted_dose import NO_DOSE, gives_no_dose
from tests.safety.conftest import patient


def meds(*names: str) -> dict[str, Any]:
    return {"medications": list(names)}


def comorb(**kw: Any) -> dict[str, Any]:
    return {"comorbidities": kw}


# ---------------------------------------------------------------- 1. EHR spellings resolve to ingredients
@pytest.mark.parametrize(
    ("raw", "generics"),
    [("verapamil HCl ER 240 mg", ["verapamil"]), ("diltiazem hydrochloride 120 mg", ["diltiazem"]),
     ("warfarin sodium 5 mg tablet", ["warfarin"]), ("phenytoin sodium extended 100 mg", ["phenytoin"]),
     ("enalapril maleate 10 mg", ["enalapril"]), ("phenobarbital sodium", ["phenobarbital"]),
     ("carbamazepine extended-release 200 mg", ["carbamazepine"]), ("metformin ER 500 mg", ["metformin"]),
     ("clarithromycin delayed-release tablet", ["clarithromycin"]),
     ("nirmatrelvir-ritonavir", ["nirmatrelvir and ritonavir"]),
     ("sulfamethoxazole-trimethoprim 800-160 mg", ["sulfamethoxazole and trimethoprim"]),
     ("sitagliptin-metformin", ["sitagliptin", "metformin"]), ("sitagliptin/metformin", ["sitagliptin", "metformin"]),
     ("lisinopril-hydrochlorothiazide", ["lisinopril", None]), ("Ery-Tab 500 mg", ["erythromycin"])],
)  # fmt: skip
def test_ehr_spellings_resolve(raw: str, generics: list[str | None], akb: AgentKnowledge) -> None:
    assert [m.generic for m in akb.registry.match(0, raw)] == generics


def test_listed_hyphenated_names_stay_one_drug(akb: AgentKnowledge) -> None:
    import yaml

    from netcds.safety.load import default_knowledge_dir

    for path in sorted((default_knowledge_dir() / "interactions").glob("*.yaml")):
        for drug in yaml.safe_load(path.read_text())["drugs"]:
            for name in [drug["name"], *drug.get("brands", []), *drug.get("synonyms", [])]:
                if "-" in name:
                    for spelled in (name, f"{name} 10 mg"):
                        found = akb.registry.match(0, spelled)
                        assert [m.generic for m in found] == [drug["name"]], spelled


def test_salt_and_release_words_change_the_dose(akb: AgentKnowledge) -> None:
    s = screen_agent("everolimus", patient(meds("verapamil HCl ER 240 mg")), akb)
    assert s.dose.adjusted_mg == 2.5
    s = screen_agent("cabozantinib", patient(meds("phenytoin sodium extended 100 mg")), akb)
    assert s.dose.adjusted_mg == 80
    s = screen_agent("capecitabine", patient(meds("warfarin sodium 5 mg")), akb)
    assert any(i.kind == "warning" and "medications[0]" in i.fields for i in s.safety)


def test_unscreened_medication_leaves_the_dose_pending(akb: AgentKnowledge) -> None:
    s = screen_agent("everolimus", patient(meds("zorblaxamab 5 mg")), akb)
    assert s.dose.adjusted is None
    assert "strong_cyp3a4_inhibitor: needs medications[0]" in s.dose.pending
    assert "moderate_cyp3a4_inhibitor: needs medications[0]" in s.dose.pending
    # everolimus avoids strong CYP3A4 inhibitors (critical): the unscreened name is a warning
    (item,) = [i for i in s.safety if i.kind == "not_screened"]
    assert item.severity == "warning" and "zorblaxamab" in item.finding
    # a rule already decided by a listed drug (or a clear record) adds nothing
    assert screen_agent("everolimus", patient(meds("verapamil")), akb).dose.pending == []


def test_unscreened_item_shown_in_the_default_report() -> None:
    from rich.console import Console

    from netcds import evaluate, load_knowledge
    from netcds.patient import Patient
    from netcds.report import render

    record = patient(meds("zorblaxamab 5 mg")).model_dump(mode="json", exclude_none=True)
    ev = evaluate(Patient.model_validate(record), load_knowledge())
    console = Console(width=200, record=True, color_system=None)
    for block in render(ev):
        console.print(block)
    text = " ".join(console.export_text().split())
    assert "not screened: 'zorblaxamab 5 mg'" in text
    assert "not final until checked or recorded: medications[0]" in text


# ---------------------------------------------------------------- 2. not assessed: one step below the check
def test_not_assessed_critical_check_is_a_warning(akb: AgentKnowledge) -> None:
    s = screen_agent("cabozantinib", patient(comorb(recent_hemorrhage=...)), akb)
    (na,) = [
        i for i in s.safety if i.kind == "not_assessed" and i.fields == ["comorbidities.recent_hemorrhage"]
    ]
    assert na.severity == "warning"
    s = screen_agent("cabozantinib", patient(comorb(proteinuria=...)), akb)  # guards a warning: info
    (na,) = [i for i in s.safety if i.kind == "not_assessed" and i.fields == ["comorbidities.proteinuria"]]
    assert na.severity == "info"


# ---------------------------------------------------------------- 3. "do not give" warnings leave no dose
@pytest.mark.parametrize(
    ("agent", "rule", "over"),
    [("cabozantinib", "recent_hemorrhage", comorb(recent_hemorrhage=True)),
     ("cabozantinib", "uncontrolled_hypertension", comorb(hypertension="uncontrolled")),
     ("cabozantinib", "recent_major_surgery", comorb(recent_major_surgery_date="2025-02-25")),
     ("cabozantinib", "wound_not_healed", comorb(wound_healed=False)),
     ("cabozantinib", "surgery_within_3_weeks", comorb(planned_surgery_date="2025-03-10")),
     ("sunitinib", "wound_not_healed", comorb(wound_healed=False)),
     ("sunitinib", "recent_major_surgery", comorb(recent_major_surgery_date="2025-02-25"))],
)  # fmt: skip
def test_do_not_give_warning_gives_no_dose(
    agent: str, rule: str, over: dict[str, Any], akb: AgentKnowledge
) -> None:
    s = screen_agent(agent, patient(over), akb)
    assert any(i.id == rule and i.severity == "critical" for i in s.safety)
    assert gives_no_dose(s.dose.adjusted) and s.dose.adjusted.startswith(NO_DOSE[0])  # type: ignore[union-attr]
    assert s.dose.adjusted_mg is None
    assert any(r.startswith(f"{rule}: ") for r in s.dose.rules_applied)
    assert rule in s.dose.rule_names


def test_pregnancy_keeps_the_dose(akb: AgentKnowledge) -> None:  # a risk discussion, not "do not give"
    s = screen_agent("cabozantinib", patient({"pregnant": True}), akb)
    assert s.dose.adjusted is None


# ---------------------------------------------------------------- 6. procedure dates against as_of
def test_past_planned_and_future_recent_dates_are_not_assessed(akb: AgentKnowledge) -> None:
    s = screen_agent("cabozantinib", patient(comorb(planned_surgery_date="2025-02-28")), akb)  # as_of - 1
    (na,) = [
        i for i in s.safety if i.kind == "not_assessed" and i.fields == ["comorbidities.planned_surgery_date"]
    ]
    assert na.severity == "warning" and "already past" in na.finding
    s = screen_agent("cabozantinib", patient(comorb(recent_major_surgery_date="2025-03-04")), akb)
    (na,) = [
        i
        for i in s.safety
        if i.kind == "not_assessed" and i.fields == ["comorbidities.recent_major_surgery_date"]
    ]
    assert na.severity == "warning" and "after as_of" in na.finding


# ---------------------------------------------------------------- 7. held-back line names each finding
def test_held_back_words_name_each_finding_once() -> None:
    reasons = (
        "critical safety finding for cabozantinib: Recent hemorrhage: the label says not (x = y); "
        "critical safety finding for cabozantinib: Uncontrolled hypertension: the label starts it"
    )
    assert held_back_words(reasons) == (
        "critical safety finding for cabozantinib: Recent hemorrhage, Uncontrolled hypertension"
    )


# ---------------------------------------------------------------- 8. topical forms
@pytest.mark.parametrize(
    "raw", ["ketoconazole 2% shampoo", "ketoconazole cream", "erythromycin ophthalmic ointment"]
)
def test_topical_forms_do_not_change_the_dose(raw: str, akb: AgentKnowledge) -> None:
    s = screen_agent("cabozantinib", patient(meds(raw)), akb)
    assert s.dose.adjusted is None and not any(i.kind == "adjustment" for i in s.safety)
    (item,) = [i for i in s.safety if i.kind == "not_screened"]
    assert "not screened for systemic interaction" in item.finding
    assert s.dose.pending  # the dose is not final until the preparation is checked
    rs = screen_regimen("cabozantinib", patient(meds(raw)), akb)
    assert rs.doses[0].adjusted is None
