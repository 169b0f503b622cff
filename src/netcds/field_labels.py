"""Clinician-readable labels of the contract's field paths (``tumor.sstr_status`` -> "SSTR status ..."),
of agents ("octreotide LAR") and of dose rules (by their situation, "Strong CYP3A4 inhibitor").

Shared by the web pages (netcds.web.labels re-exports them) and the CDS Hooks cards (netcds.fhir.cards),
so a data request reads the same wherever it is shown; ids stay as the contract spells them everywhere
else.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from netcds.vocabulary import label as vocabulary_label

FIELD_LABELS: dict[str, str] = {
    "id": "Patient or record id",
    "age_years": "Age (years)",
    "sex": "Sex",
    "weight_kg": "Weight (kg)",
    "pregnant": "Pregnant",
    "breastfeeding": "Breastfeeding",
    "as_of": "Record date (as of)",
    "tumor.primary_site": "Primary site",
    "tumor.differentiation": "Differentiation",
    "tumor.grade": "Grade (WHO)",
    "tumor.lung_subtype": "Lung/thymus carcinoid subtype",
    "tumor.ki67_percent": "Ki-67 index (%)",
    "tumor.mitoses_per_2mm2": "Mitoses per 2 mm²",
    "tumor.necrosis": "Necrosis",
    "tumor.colon_segment": "Colon segment",
    "tumor.duodenal_part": "Duodenal part (relative to the major papilla)",
    "tumor.proliferation_high_end": "Ki-67/mitoses at the high end of the atypical range",
    "tumor.functional": "Functional (hormone syndrome present)",
    "tumor.syndromes": "Hormone syndromes",
    "tumor.hormonal_symptoms": "Symptoms from hormone excess now",
    "tumor.sstr_status": "SSTR status (SSTR-PET / scintigraphy)",
    "tumor.fdg_avid": "FDG-PET avid",
    "disease.extent": "Extent",
    "disease.resectable": "Resectable",
    "disease.small_bowel_mesenteric": "Mesenteric small-bowel disease",
    "disease.liver_metastases": "Liver metastases",
    "disease.tumor_burden": "Tumor burden",
    "disease.tumor_symptoms": "Symptoms from tumor bulk",
    "disease.status": "Disease status",
    "disease.status_date": "Date the disease status was assessed",
    "disease.progression_clinically_significant": "Progression clinically significant",
    "disease.progression_pace": "Pace of progression",
    "disease.biology": "Biology (WD G3 only)",
    "biomarkers.msi": "MSI",
    "biomarkers.mmr": "Mismatch repair (MMR)",
    "biomarkers.tmb_mut_per_mb": "TMB (mutations/Mb)",
    "biomarkers.germline_vhl": "Germline VHL alteration",
    "medications": "Concomitant medications (generic names, one per line)",
    "context.no_other_options_feasible": "No other options feasible (MDT judgement)",
    "context.no_satisfactory_alternative": "No satisfactory alternative treatment",
    "preferences.route": "Preferred route",
    "preferences.priority": "Patient's priority",
    "preferences.travel_limit": "Travel is limited",
    "preferences.prrt_center_access": "Access to a PRRT center",
    "comorbidities.hypertension": "Hypertension",
    "comorbidities.recent_hemorrhage": "Recent hemorrhage",
    "comorbidities.gi_perforation_or_fistula_history": "History of GI perforation or fistula",
    "comorbidities.recent_arterial_thromboembolism": "Recent arterial thromboembolism",
    "comorbidities.recent_venous_thromboembolism": "Recent venous thromboembolism",
    "comorbidities.hepatic_impairment": "Hepatic impairment",
    "comorbidities.creatinine_clearance_ml_min": "Creatinine clearance (mL/min)",
    "comorbidities.proteinuria": "Proteinuria",
    "comorbidities.nephrotic_syndrome": "Nephrotic syndrome",
    "comorbidities.diabetes": "Diabetes",
    "comorbidities.interstitial_lung_disease": "Interstitial lung disease",
    "comorbidities.heart_failure": "Heart failure",
    "comorbidities.lvef_percent": "LVEF (%)",
    "comorbidities.qt_prolongation": "QT prolongation",
    "comorbidities.hemoglobin_g_dl": "Hemoglobin (g/dL)",
    "comorbidities.platelets_per_ul": "Platelets (/µL)",
    "comorbidities.neutrophils_per_ul": "Neutrophils (/µL)",
    "comorbidities.alt_x_uln": "ALT (× ULN)",
    "comorbidities.ast_x_uln": "AST (× ULN)",
    "comorbidities.bilirubin_x_uln": "Bilirubin (× ULN)",
    "comorbidities.planned_surgery_date": "Planned surgery date",
    "comorbidities.planned_dental_procedure_date": "Planned dental procedure date",
    "comorbidities.recent_major_surgery_date": "Recent major surgery date",
    "comorbidities.wound_healed": "Surgical wound healed",
    "comorbidities.surgery_planned": "Elective surgery planned",
    "comorbidities.dental_procedure_planned": "Invasive dental procedure planned",
    "comorbidities.recent_major_surgery": "Major surgery in the past 4 weeks",
    "comorbidities.other": "Other comorbidities (one per line)",
    "treatments[].agent": "Agent or regimen",
    "treatments[].start": "Start",
    "treatments[].end": "End (blank = ongoing)",
    "treatments[].dose_mg": "Dose (mg)",
    "treatments[].interval_days": "Every (days)",
    "treatments[].best_response": "Best response",
    "treatments[].progressed": "Progressed on/after it",
    "treatments[].progression_date": "Progression date",
    "treatments[].stop_reason": "Reason stopped",
    "treatments[].progression_type": "How progression was shown",
    "assessments[].date": "Date",
    "assessments[].recist_response": "RECIST response",
    "assessments[].sum_of_diameters_mm": "Sum of diameters (mm)",
}


#: How every output (CLI, web page, PDF, CDS cards) says that an option's category waits for data
#: (``Option.category_missing``): the shown category is the table's, and a rule could change it once the
#: fields are recorded. One phrase, so a clinician reading two outputs reads one idea.
CATEGORY_UNSETTLED = "unsettled until recorded"


def field_label(path: str) -> str:
    """Visible label of a contract path; row paths ``treatments[3].end`` use the ``treatments[]`` entry."""
    generic = re.sub(r"\[\d+\]", "[]", path)
    if generic in FIELD_LABELS:
        return FIELD_LABELS[generic]
    words = vocabulary_label(path) if "." in path else path.replace("_", " ")
    return words[:1].upper() + words[1:]  # not str.capitalize(): "WHO grade" stays "WHO grade"


# agents whose id does not read as their name ("octreotide_lar" is not "octreotide lar")
AGENT_NAMES = {
    "octreotide_lar": "octreotide LAR",
    "lu177_dotatate": "Lu-177 dotatate",
    # the regimen ids a line may be recorded with when the record does not say which SSA
    "ssa": "octreotide LAR or lanreotide",
    "ssa_above_label": "octreotide LAR or lanreotide at an above-label dose",
}


def agent_name(agent: str) -> str:
    """An agent's name inside a sentence ("octreotide LAR", "cabozantinib", "Lu-177 dotatate"): what the
    engine's reasons, the pages and the cards say instead of the id."""
    return AGENT_NAMES.get(agent, agent.replace("_", " "))


# --- dose rules: named by their situation, not their id --------------------------------------------------
UNVERIFIED_RULE = " [UNVERIFIED]"  # how the safety screen marks an unverified rule in rules_applied


def in_sentence(words: str) -> str:
    """``words`` for use inside a sentence: a leading capital lowered unless it starts an abbreviation
    ("Strong CYP3A4 inhibitor" -> "strong CYP3A4 inhibitor", "CYP3A4 inducer" stays)."""
    return words[0].lower() + words[1:] if len(words) > 1 and words[1].islower() else words


def situation_name(finding: str) -> str:
    """A dose rule's situation from its finding: the words before the colon ("Strong CYP3A4 inhibitor:
    raises cabozantinib exposure" -> "Strong CYP3A4 inhibitor")."""
    return finding.split(":", 1)[0].strip() or finding


def rule_id(entry: str) -> str:
    """The rule id an entry of rules_applied or pending starts with ("renal_toxicity [UNVERIFIED]: ..."
    -> "renal_toxicity")."""
    return entry.split(":", 1)[0].removesuffix(UNVERIFIED_RULE).strip()


def applied_rule_words(entry: str, names: dict[str, str]) -> str:
    """An entry of rules_applied with its rule named in words ("strong_cyp3a4_inhibitor: daily dose
    lowered by 20 mg" -> "Strong CYP3A4 inhibitor: daily dose lowered by 20 mg"); a note that is no rule
    (e.g. a conflict), or a rule without a name, as it is."""
    head, sep, text = entry.partition(":")
    name = names.get(rule_id(entry))
    if not sep or name is None:
        return entry
    mark = UNVERIFIED_RULE if head.endswith(UNVERIFIED_RULE) else ""
    return f"{name}{mark}:{text}"


def pending_rule_words(pending: list[str], names: dict[str, str], labels: Callable[[list[str]], str]) -> str:
    """The dose rules waiting for data ("hepatic_mild: needs comorbidities.hepatic_impairment") as the
    facts to record, by ``labels`` (of the paths), each with the situations of the rules that wait on it."""
    waiting: dict[tuple[str, ...], list[str]] = {}
    for entry in pending:
        rule, sep, rest = entry.partition(": needs ")
        if not sep:
            return "; ".join(pending)  # not the screen's wording: shown as it is
        waiting.setdefault(tuple(x.strip() for x in rest.split(",")), []).append(rule.strip())
    return "; ".join(
        f"{labels(list(fields))} (for the dose rule{'s' if len(rules) > 1 else ''} on "
        + "; ".join(in_sentence(names.get(r, r)) for r in rules)
        + ")"
        for fields, rules in waiting.items()
    )
