"""Clinician-readable labels of the contract's field paths (``tumor.sstr_status`` -> "SSTR status ...").

Shared by the web pages (netcds.web.labels re-exports them) and the CDS Hooks cards (netcds.fhir.cards),
so a data request reads the same wherever it is shown; ids stay as the contract spells them everywhere
else.
"""

from __future__ import annotations

import re

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


def field_label(path: str) -> str:
    """Visible label of a contract path; row paths ``treatments[3].end`` use the ``treatments[]`` entry."""
    generic = re.sub(r"\[\d+\]", "[]", path)
    if generic in FIELD_LABELS:
        return FIELD_LABELS[generic]
    words = vocabulary_label(path) if "." in path else path.replace("_", " ")
    return words[:1].upper() + words[1:]  # not str.capitalize(): "WHO grade" stays "WHO grade"
