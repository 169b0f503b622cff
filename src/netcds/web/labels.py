"""Words the web pages show for contract ids: tiers, statuses, fields, values, agents.

Ids stay as the contract spells them in every form name and ``data-`` attribute;
only the visible text is translated here.
"""

from __future__ import annotations

from netcds.vocabulary import label as vocabulary_label

TIER_LABELS: dict[str, str] = {
    "preferred": "Preferred regimens",
    "other_recommended": "Other recommended regimens",
    "useful_in_certain_circumstances": "Useful in certain circumstances",
    "listed": "Listed options (untiered)",
}
TIER_SHORT: dict[str, str] = {
    "preferred": "Preferred",
    "other_recommended": "Other recommended",
    "useful_in_certain_circumstances": "Useful in certain circumstances",
    "listed": "Listed",
}
STATUS_WORDS: dict[str, str] = {
    "eligible": "Eligible",
    "needs_data": "Needs data",
    "not_eligible": "Not eligible",
}
STATUS_SYMBOL: dict[str, str] = {"eligible": "✓", "needs_data": "?", "not_eligible": "✕"}
SETTING_STATUS_WORDS: dict[str, str] = {
    "applies": "Applies",
    "needs_data": "Needs data",
    "not_applicable": "No table applies",
}
SSA_ACTION_WORDS: dict[str, str] = {
    "continue": "Continue the SSA",
    "discontinue": "Stop the SSA",
    "not_applicable": "Not applicable",
    "not_specified": "Not specified by the guideline",
    "needs_data": "Needs data",
}
TABLE_LABELS: dict[str, str] = {
    "gi_wd_g12": "GI tract, well-differentiated G1/2",
    "lung_thymus": "Lung and thymus",
    "pancreas_wd_g12": "Pancreas, well-differentiated G1/2",
    "wd_g3": "Well-differentiated G3",
}
COLUMN_LABELS: dict[str, str] = {
    "favorable_advanced": "Favorable biology, advanced",
    "unfavorable_resectable": "Unfavorable biology, resectable",
    "unfavorable_advanced": "Unfavorable biology, advanced",
}
SEVERITY_WORDS: dict[str, str] = {"critical": "Critical", "warning": "Warning", "info": "Info"}
DIRECTION_WORDS: dict[str, str] = {"for": "For", "against": "Against", "neutral": "Neutral"}

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

VALUE_LABELS: dict[str, str] = {
    "G1": "G1", "G2": "G2", "G3": "G3",
    "CR": "CR (complete response)", "PR": "PR (partial response)",
    "SD": "SD (stable disease)", "PD": "PD (progressive disease)",
    "distant_metastatic": "distant metastatic", "locoregional": "locoregional (nodes / adjacent invasion)",
    "localized": "localized (organ-confined)", "small_bowel": "small bowel (segment unknown)",
    "unknown_primary": "unknown primary", "no_evidence_of_disease": "no evidence of disease",
    "clinically_significant": "clinically significant", "well": "well differentiated",
    "poor": "poorly differentiated", "unknown": "unknown (as stated)",
    "msi": "MSI", "high": "high", "stable": "stable",
    "octreotide_lar": "octreotide LAR", "lu177_dotatate": "Lu-177 dotatate (PRRT)",
    "ssa": "SSA (octreotide LAR or lanreotide)", "ssa_above_label": "above-label SSA",
    "capecitabine_temozolomide": "capecitabine + temozolomide (CAPTEM)",
    "temozolomide_pm_capecitabine": "temozolomide ± capecitabine",
    "folfox": "FOLFOX", "capeox": "CAPEOX", "folfiri": "FOLFIRI", "folfirinox": "FOLFIRINOX",
    "cisplatin_etoposide": "cisplatin + etoposide", "carboplatin_etoposide": "carboplatin + etoposide",
    "cisplatin_irinotecan": "cisplatin + irinotecan", "nivolumab_ipilimumab": "nivolumab + ipilimumab",
    "rt_fluoropyrimidine": "RT ± fluoropyrimidine", "cytotoxic_chemotherapy": "cytotoxic chemotherapy",
    "clinical_trial": "clinical trial", "no_preference": "no preference",
    "long_term_control": "long-term control", "fewest_visits": "fewest visits",
    "lowest_toxicity": "lowest toxicity", "patient_choice": "patient choice",
}  # fmt: skip


def field_label(path: str) -> str:
    """Visible label of a contract path; row paths ``treatments[3].end`` use the ``treatments[]`` entry."""
    import re

    generic = re.sub(r"\[\d+\]", "[]", path)
    if generic in FIELD_LABELS:
        return FIELD_LABELS[generic]
    return vocabulary_label(path).capitalize() if "." in path else path.replace("_", " ").capitalize()


def value_label(value: object) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return "unknown"
    text = str(value)
    return VALUE_LABELS.get(text, text.replace("_", " "))
