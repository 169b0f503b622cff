"""Words the web pages show for contract ids: tiers, statuses, fields, values, agents.

Ids stay as the contract spells them in every form name and ``data-`` attribute;
only the visible text is translated here.
"""

from __future__ import annotations

# the field labels live beside the vocabulary (the CDS Hooks cards show them too); re-exported here
from netcds.field_labels import FIELD_LABELS as FIELD_LABELS
from netcds.field_labels import field_label as field_label

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
    "transverse_proximal": "transverse (proximal two-thirds)",
    "transverse_distal": "transverse (distal third)",
    "first": "first part (bulb)", "second": "second part (side of the papilla unknown)",
    "second_preampullary": "second part, above the major papilla", "ampullary": "ampulla (major papilla)",
    "second_postampullary": "second part, below the major papilla", "third": "third part",
    "fourth": "fourth part",
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


def value_label(value: object) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return "unknown"
    text = str(value)
    return VALUE_LABELS.get(text, text.replace("_", " "))
