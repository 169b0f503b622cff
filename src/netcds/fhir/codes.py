"""The code tables the FHIR/mCODE mapping accepts, each row with its public source.

Every code the mapper acts on is a row here; ``docs/fhir-mapping.md`` embeds the
table printed by :func:`markdown_table` (a test keeps the two in sync). Where no
standard code exists (SSTR/FDG PET, mitotic count) the accepted words are listed
in :data:`TEXT_RULES` instead. Run ``python -m netcds.fhir.codes`` to print the
table.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from netcds.fhir import tumor_codes as T  # noqa: N812
from netcds.fhir.agent_codes import AGENTS as AGENTS  # re-exported: part of the code tables
from netcds.fhir.agent_codes import OCTREOTIDE_LAR_MIN_MG as OCTREOTIDE_LAR_MIN_MG
from netcds.fhir.agent_codes import OCTREOTIDE_LAR_WORDS as OCTREOTIDE_LAR_WORDS
from netcds.fhir.agent_codes import Agent as Agent

# ---- code systems (FHIR canonical URIs -> short key) ------------------------------------------
SNOMED, LOINC, RXNORM, ICD10, ICDO3, NCIT, HGNC, V3, MRSR = (
    "SNOMED", "LOINC", "RxNorm", "ICD-10-CM", "ICD-O-3", "NCIt", "HGNC", "v3-ObsInterp", "MR-status-reason",
)  # fmt: skip
SYSTEMS: dict[str, str] = {
    "http://snomed.info/sct": SNOMED,
    "http://loinc.org": LOINC,
    "http://www.nlm.nih.gov/research/umls/rxnorm": RXNORM,
    "http://hl7.org/fhir/sid/icd-10-cm": ICD10,
    "http://hl7.org/fhir/sid/icd-10": ICD10,
    "http://terminology.hl7.org/CodeSystem/icd-o-3": ICDO3,
    "urn:oid:2.16.840.1.113883.6.43.1": ICDO3,
    "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl": NCIT,
    "http://www.genenames.org": HGNC,
    "http://www.genenames.org/geneId": HGNC,
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation": V3,
    "http://terminology.hl7.org/CodeSystem/medicationrequest-status-reason": MRSR,
}

SOURCES: dict[str, str] = {
    "mcode": "HL7 mCODE IG 4.0.0 (npm hl7.fhir.us.mcode@4.0.0; https://hl7.org/fhir/us/mcode/STU4/): "
             "value sets and example resources",
    "mcode-old": "earlier mCODE value sets (ConditionStatusTrendVS / TreatmentTerminationReasonVS, "
                 "https://hl7.org/fhir/us/mcode/STU1/)",
    "gx": "HL7 Genomics Reporting IG (https://hl7.org/fhir/uv/genomics-reporting/) as used by mCODE 4.0.0 "
          "examples",
    "mii-ihc": "MII MTB immunohistochemistry value set (https://www.medizininformatik-initiative.de/fhir/ext/"
               "modul-mtb/ValueSet/mii-vs-mtb-immunohistochemistry-specific-codes)",
    "loinc": "LOINC (https://loinc.org/<code>/)",
    "snomed": "SNOMED CT International (https://browser.ihtsdotools.org/)",
    "snomed-net": "SNOMED CT International morphologic abnormality concepts (https://browser.ihtsdotools.org/)"
                  ", as named in public FHIR value sets of WHO 5th-edition tumour types (HL7 Lithuania WHO "
                  "breast tumour classification, neuroendocrine tumours; UZ Leuven lung cancer diagnosis); "
                  "the ICD-O-3 code each is read as is netcds's equivalence by name",
    "icd10cm": "ICD-10-CM, CMS/NCHS (https://www.cms.gov/medicare/coding-billing/icd-10-codes)",
    "icdo3": "ICD-O-3.2, IACR/WHO (https://www.iacr.com.fr/index.php?option=com_content&view=article&id=149)",
    "rxnav": "RxNorm ingredient (https://mor.nlm.nih.gov/RxNav/search?searchBy=RXCUI&searchTerm=<code>); "
             "corroborated in CPIC drug table (github.com/cpicpgx/cpic-schema drug.sql) or CanDIG katsu "
             "drug table (github.com/CanDIG/katsu)",
    "uscore": "US Core / ODH pregnancy status (LOINC 82810-3 answers, https://loinc.org/82810-3/)",
    "hgnc": "HGNC (https://www.genenames.org/data/gene-symbol-report/#!/hgnc_id/HGNC:12687)",
    "v3": "HL7 v3 ObservationInterpretation (https://terminology.hl7.org/CodeSystem-v3-ObservationInterpretation.html)",
    "mcode-max": "mCODE 4.0.0 ConditionStatusTrendMaxVS (https://hl7.org/fhir/us/mcode/ValueSet-mcode-condition-status-"
                 "trend-max-vs.html): the two remission codes it keeps from earlier releases",
    "mcode-2nd": "mCODE 4.0.0 SecondaryCancerDisorderVS (SNOMED is-a 128462008, ICD-10-CM C77-C79, C7B; "
                 "https://hl7.org/fhir/us/mcode/ValueSet-mcode-secondary-cancer-disorder-vs.html)",
    "fhir-mrsr": "FHIR R4 MedicationRequest status reason codes (https://hl7.org/fhir/R4/codesystem-medicationrequest-"
                 "status-reason.html)",
    "pdq-vhl": "NCI PDQ Von Hippel-Lindau Disease, health professional version (https://www.ncbi.nlm.nih.gov/books/"
               "NBK568506/): VHL disease is caused by germline VHL pathogenic variants",
    "who-gca": "WHO Classification of Digestive System Tumours, 5th ed. (2019): goblet cell adenocarcinoma "
               "(formerly goblet cell carcinoid) is an appendiceal adenocarcinoma; see Wang, J Clin Transl "
               "Pathol 2022;2(3):69-74, doi:10.14218/JCTP.2022.00018",
}  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One accepted code: ``target`` says what it sets, e.g. ``tumor.primary_site = ileum``."""

    table: str
    system: str
    code: str
    meaning: str
    target: str
    source: str


def _rows(table: str, system: str, source: str, items: list[tuple[str, str, str]]) -> list[Row]:
    return [Row(table, system, c, m, t, source) for c, m, t in items]


# ---- primary site (the data: netcds.fhir.tumor_codes) ---------------------------------------------
SITE_SNOMED = _rows("Primary site (bodySite)", SNOMED, "mcode", T.SITE_SNOMED)
# ICD-O-3 topography (bodySite) and ICD-10-CM site codes (Condition.code): matched on the code prefix,
# longest prefix first. "colon/<segment>" also sets tumor.colon_segment.
SITE_TOPOGRAPHY = _rows("Primary site (ICD-O-3 topography / ICD-10-CM)", f"{ICDO3} / {ICD10}", "icdo3",
                        T.SITE_TOPOGRAPHY)  # fmt: skip
SITE_C7A = _rows("Primary site (ICD-10-CM carcinoid codes)", ICD10, "icd10cm", T.SITE_C7A)
# benign carcinoid tumours (D3A.0xx) use the same site digits as C7A.0xx
C7A_FAMILY = ("C7A.0", "D3A.0")

# ---- morphology (mCODE histology-morphology-behavior extension; data: netcds.fhir.tumor_codes) ------
MORPHOLOGY = _rows("Histology (ICD-O-3 morphology)", ICDO3, "icdo3", T.MORPHOLOGY_ICDO3) + _rows(
    "Histology (ICD-O-3 morphology)", ICDO3, "who-gca", [T.GOBLET_CELL]
)
_SNOMED_MORPHOLOGY = [("snomed-net", T.MORPHOLOGY_SNOMED_NET), ("mcode", T.MORPHOLOGY_SNOMED_MCODE)]
MORPHOLOGY_SNOMED = [
    Row("Histology (SNOMED CT morphology)", SNOMED, code, meaning, f"as ICD-O-3 {icdo3}: {sets}", source)
    for source, items in _SNOMED_MORPHOLOGY
    for code, meaning, icdo3, sets in items
]
# SNOMED CT morphology code -> the ICD-O-3 morphology (code/behaviour) it is read as
SNOMED_MORPHOLOGY_ICDO3: dict[str, str] = {c: i for _, items in _SNOMED_MORPHOLOGY for c, _, i, _ in items}
# ICD-O-3 morphology ranges that are neuroendocrine at all (others, e.g. 8140 adenocarcinoma, are not)
NEUROENDOCRINE_MORPHOLOGY = (
    frozenset({"8013", "8041", "8042", "8043", "8044", "8045"})
    | frozenset(str(c) for c in range(8150, 8159))
    | frozenset(str(c) for c in range(8240, 8250))
)
MERKEL_MORPHOLOGY = "8247"  # Merkel cell carcinoma: neuroendocrine, but outside the NET tables (refused)

# ---- histologic grade (mCODE HistologicGrade value set + AJCC G-grade findings) -----------------
GRADE = _rows("Histologic grade", SNOMED, "mcode", [
    ("1155708003", "Low histologic grade", "tumor.grade = G1"),
    ("1286893008", "Intermediate histologic grade", "tumor.grade = G2"),
    ("1155707008", "High histologic grade", "tumor.grade = G3"),
]) + _rows("Histologic grade", SNOMED, "snomed", [
    ("54102005", "G1 grade", "tumor.grade = G1"),
    ("1663004", "G2 grade", "tumor.grade = G2"),
    ("61026006", "G3 grade", "tumor.grade = G3"),
])  # fmt: skip
GRADE_OBSERVATION_CODES = frozenset({(NCIT, "C18000"), (SNOMED, "371469007")})

# ---- cancer disease status ----------------------------------------------------------------------
DISEASE_STATUS_CODES = frozenset({(LOINC, "97509-4"), (LOINC, "88040-1")})
DISEASE_STATUS = _rows("Cancer disease status (LOINC 97509-4 / 88040-1)", SNOMED, "mcode", [
    ("271299001", "Patient's condition worsened", "disease.status = progressive"),
    ("359746009", "Patient's condition stable", "disease.status = stable"),
    ("268910001", "Patient's condition improved", "disease.status = stable (improving: not progressing)"),
    ("709137006", "Patient condition undetermined", "(unknown; reported unmapped)"),
]) + _rows("Cancer disease status (LOINC 97509-4 / 88040-1)", SNOMED, "mcode-old", [
    ("260415000", "Not detected", "disease.status = no_evidence_of_disease"),
]) + _rows("Cancer disease status (LOINC 97509-4 / 88040-1)", SNOMED, "mcode-max", [
    ("550991000124107", "Malignant neoplasm in full remission", "disease.status = no_evidence_of_disease"),
    ("551001000124108", "Malignant neoplasm in partial remission",
     "disease.status = stable (partial remission: not progressing)"),
])  # fmt: skip

# ---- TNM ----------------------------------------------------------------------------------------
TNM_CATEGORY = _rows("TNM category (value parsed: T0-4, N0-3, M0/M1)", SNOMED, "mcode", [
    ("399504009", "cT category", "T"), ("384625004", "pT category", "T"),
    ("399534004", "cN category", "N"), ("371494008", "pN category", "N"),
    ("399387003", "cM category", "M"), ("371497001", "pM category", "M"),
])  # fmt: skip
# SNOMED CT AJCC category values read by code (the sources: netcds.fhir.tumor_codes)
_TNM_VALUE = "TNM category value (SNOMED CT AJCC value code)"
TNM_VALUE = _rows(_TNM_VALUE, SNOMED, "mcode", T.TNM_VALUE_MCODE) + _rows(
    _TNM_VALUE, SNOMED, "snomed", T.TNM_VALUE_AJCC
)

# ---- treatment termination reason (statusReason or the mCODE extension) ------------------------
# FHIR MedicationRequest.statusReason: intolerance and allergy are toxicity; the others (holds, surgery,
# interactions, duplicate therapy ...) end a course for another reason.
MR_STATUS_REASON = _rows("Treatment termination reason", MRSR, "fhir-mrsr", [
    ("sintol", "Suspected intolerance", "stop_reason = toxicity"),
    ("salg", "Allergy", "stop_reason = toxicity"),
    ("drughigh", "Drug level too high", "stop_reason = other"),
    ("altchoice", "Try another treatment first", "stop_reason = other"),
    ("clarif", "Prescription requires clarification", "stop_reason = other"),
    ("hospadm", "Admission to hospital", "stop_reason = other"),
    ("labint", "Lab interference issues", "stop_reason = other"),
    ("non-avail", "Patient not available", "stop_reason = other"),
    ("preg", "Parent is pregnant/breast feeding", "stop_reason = other"),
    ("sddi", "Drug interacts with another drug", "stop_reason = other"),
    ("sdupther", "Duplicate therapy", "stop_reason = other"),
    ("surg", "Patient scheduled for surgery", "stop_reason = other"),
    ("washout", "Waiting for old drug to wash out", "stop_reason = other"),
])  # fmt: skip
TERMINATION = _rows("Treatment termination reason", SNOMED, "mcode", [
    ("266721009", "No response to treatment", "stop_reason = progression"),
    ("407563006", "Treatment not tolerated", "stop_reason = toxicity"),
    ("105480006", "Refusal of treatment by patient", "stop_reason = patient_choice"),
    ("443729008", "Completion of clinical trial", "stop_reason = completed"),
    ("160932005", "Financial problem", "stop_reason = other"),
    ("184081006", "Patient has moved away", "stop_reason = other"),
    ("309846006", "Treatment not available", "stop_reason = other"),
    ("399307001", "Lost to follow-up", "stop_reason = other"),
    ("419620001", "Death", "stop_reason = other"),
    ("7058009", "Noncompliance with treatment", "stop_reason = other"),
    ("77386006", "Pregnancy", "stop_reason = other"),
]) + _rows("Treatment termination reason", SNOMED, "mcode-old", [
    ("182992009", "Treatment completed", "stop_reason = completed"),
])  # fmt: skip

# ---- hormone syndromes (Condition.code) ---------------------------------------------------------
SYNDROME = _rows("Hormone syndrome (Condition)", SNOMED, "snomed", [
    ("35868009", "Carcinoid syndrome", "syndromes+=carcinoid_syndrome"),
]) + _rows("Hormone syndrome (Condition)", ICD10, "icd10cm", [
    ("E34.0", "Carcinoid syndrome", "syndromes+=carcinoid_syndrome"),
    ("E16.4", "Increased secretion of gastrin (Zollinger-Ellison)", "syndromes+=gastrinoma"),
    ("E16.3", "Increased secretion of glucagon", "syndromes+=glucagonoma"),
])  # fmt: skip

# ---- secondary (metastatic) cancer --------------------------------------------------------------
SECONDARY = _rows("Distant metastasis (Condition)", ICD10, "icd10cm", [
    ("C78", "Secondary malignant neoplasm, respiratory/digestive", "disease.extent = distant_metastatic"),
    ("C79", "Secondary malignant neoplasm of other sites", "disease.extent = distant_metastatic"),
    ("C7B.0", "Secondary carcinoid tumors", "disease.extent = distant_metastatic"),
    ("C78.7", "Secondary malignant neoplasm of liver", "+ disease.liver_metastases = true"),
    ("C7B.02", "Secondary carcinoid tumors of liver", "+ disease.liver_metastases = true"),
]) + _rows("Distant metastasis (Condition)", SNOMED, "mcode", [
    ("94225005", "Secondary malignant neoplasm of brain", "disease.extent = distant_metastatic"),
    ("10200004", "Liver structure (bodySite of a secondary cancer)", "disease.liver_metastases = true"),
]) + _rows("Distant metastasis (Condition)", SNOMED, "mcode-2nd", [
    ("128462008", "Secondary malignant neoplastic disease",
     "disease.extent = distant_metastatic (not lymph nodes)"),
    ("94381002", "Secondary malignant neoplasm of liver", "+ disease.liver_metastases = true"),
    ("94222008", "Secondary malignant neoplasm of bone", "disease.extent = distant_metastatic"),
    ("94391008", "Secondary malignant neoplasm of lung", "disease.extent = distant_metastatic"),
])  # fmt: skip
VHL_CONDITION = _rows("Hereditary syndrome (Condition)", SNOMED, "pdq-vhl", [
    ("46659004", "Von Hippel-Lindau syndrome", "biomarkers.germline_vhl = true (confirmed diagnosis)"),
]) + _rows("Hereditary syndrome (Condition)", ICD10, "pdq-vhl", [
    ("Q85.83", "Von Hippel-Lindau syndrome", "biomarkers.germline_vhl = true (confirmed diagnosis)"),
])  # fmt: skip

# ---- comorbidities (Condition.code, mCODE Comorbidities related-condition[-absent]) -------------
COMORBIDITY = _rows("Comorbidity (Condition)", SNOMED, "snomed", [
    ("38341003", "Hypertensive disorder", "hypertension (control not coded: stays unknown)"),
    ("59621000", "Essential hypertension", "hypertension (control not coded: stays unknown)"),
    ("77970009", "Benign hypertensive heart disease without CHF", "hypertension (control not coded)"),
    ("73211009", "Diabetes mellitus", "diabetes = true"),
    ("44054006", "Diabetes mellitus type 2", "diabetes = true"),
    ("46635009", "Diabetes mellitus type 1", "diabetes = true"),
    ("84114007", "Heart failure", "heart_failure = true"),
    ("42343007", "Congestive heart failure", "heart_failure = true"),
    ("233703007", "Interstitial lung disease", "interstitial_lung_disease = true"),
    ("19943007", "Cirrhosis of liver", "hepatic impairment (severity not coded: stays unknown)"),
    ("49601007", "Cardiovascular disorder (absent only)", "heart_failure = false; hypertension=none"),
    ("19829001", "Disorder of lung (absent only)", "interstitial_lung_disease = false"),
    ("235856003", "Disorder of liver (absent only)", "hepatic_impairment = none"),
]) + _rows("Comorbidity (Condition)", ICD10, "icd10cm", [
    ("I10-I13, I15, I16", "Hypertensive diseases", "hypertension (control not coded: stays unknown)"),
    ("E08-E13", "Diabetes mellitus", "diabetes = true"),
    ("I50", "Heart failure", "heart_failure = true"),
    ("J84", "Other interstitial pulmonary diseases", "interstitial_lung_disease = true"),
    ("K72, K74.6, K70.3", "Hepatic failure / cirrhosis", "hepatic impairment (severity not coded)"),
])  # fmt: skip
COMORBIDITY_ICD10: dict[str, str] = {
    **dict.fromkeys(("I10", "I11", "I12", "I13", "I15", "I16"), "hypertension"),
    **dict.fromkeys(("E08", "E09", "E10", "E11", "E13"), "diabetes"),
    "I50": "heart_failure", "J84": "interstitial_lung_disease",
    **dict.fromkeys(("K72", "K74.6", "K70.3"), "hepatic_impairment"),
}  # fmt: skip
COMORBIDITY_SNOMED: dict[str, str] = {
    **dict.fromkeys(("38341003", "59621000", "77970009"), "hypertension"),
    **dict.fromkeys(("73211009", "44054006", "46635009"), "diabetes"),
    **dict.fromkeys(("84114007", "42343007"), "heart_failure"),
    "233703007": "interstitial_lung_disease", "19943007": "hepatic_impairment",
}  # fmt: skip
COMORBIDITY_ABSENT_ONLY: dict[str, tuple[str, ...]] = {
    "49601007": ("heart_failure", "hypertension"),
    "19829001": ("interstitial_lung_disease",),
    "235856003": ("hepatic_impairment",),
}

# ---- observations (LOINC) -----------------------------------------------------------------------
OBSERVATION = _rows("Observation code", LOINC, "loinc", [
    ("29593-1", "Cells.Ki-67 nuclear Ag/cells in Tissue by Immune stain (%)", "tumor.ki67_percent"),
    ("85330-9", "Cells.Ki-67 nuclear Ag/100 cells in cancer specimen (%)", "tumor.ki67_percent"),
    ("33055-5", "Ki-67 nuclear Ag [Presence] in Tissue (qualitative)", "(no percentage: reported unmapped)"),
    ("29463-7", "Body weight", "weight_kg"),
    ("3141-9", "Body weight Measured", "weight_kg"),
    ("82810-3", "Pregnancy status", "pregnant"),
    ("63895-7", "Breastfeeding status", "breastfeeding (fhir/reproductive.py)"),
    ("LA29252-6", "Currently breastfeeding (answer of 63895-7)", "breastfeeding = true"),
    ("LA29253-4", "Not currently breastfeeding (answer of 63895-7)", "breastfeeding = false"),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "comorbidities.hemoglobin_g_dl"),
    ("777-3", "Platelets [#/volume] in Blood by Automated count", "comorbidities.platelets_per_ul"),
    ("26515-7", "Platelets [#/volume] in Blood", "comorbidities.platelets_per_ul"),
    ("751-8", "Neutrophils [#/volume] in Blood by Automated count", "comorbidities.neutrophils_per_ul"),
    ("753-4", "Neutrophils [#/volume] in Blood by Manual count", "comorbidities.neutrophils_per_ul"),
    ("26499-4", "Neutrophils [#/volume] in Blood", "comorbidities.neutrophils_per_ul"),
    ("1742-6", "ALT [Enzymatic activity/volume]", "comorbidities.alt_x_uln (needs reference range)"),
    ("1920-8", "AST [Enzymatic activity/volume]", "comorbidities.ast_x_uln (needs reference range)"),
    ("1975-2", "Bilirubin.total [Mass/volume]", "comorbidities.bilirubin_x_uln (needs reference range)"),
    ("2164-2", "Creatinine clearance, 24 h urine and serum", "comorbidities.creatinine_clearance_ml_min"),
    ("35591-7", "Creatinine clearance, Cockcroft-Gault", "comorbidities.creatinine_clearance_ml_min"),
    ("10230-1", "Left ventricular Ejection fraction", "comorbidities.lvef_percent"),
    ("81695-9", "Microsatellite instability [Interpretation] in Cancer specimen", "biomarkers.msi"),
    ("94076-7", "Mutations/Megabase [# Ratio] in Tumor (TMB)", "biomarkers.tmb_mut_per_mb"),
]) + _rows("Observation code", LOINC, "mii-ihc", [
    ("81691-8", "DNA mismatch repair protein Mlh1 [Presence] by Immune stain", "biomarkers.mmr"),
    ("81692-6", "DNA mismatch repair protein Msh2 [Presence] by Immune stain", "biomarkers.mmr"),
    ("81693-4", "DNA mismatch repair protein Msh6 [Presence] by Immune stain", "biomarkers.mmr"),
    ("81694-2", "Mismatch repair endonuclease PMS2 [Presence] by Immune stain", "biomarkers.mmr"),
]) + _rows("Observation code", LOINC, "gx", [
    ("69548-6", "Genetic variant assessment (component 48018-6 gene, 48002-0 source class)",
     "biomarkers.germline_vhl (gene VHL, germline)"),
])  # fmt: skip
LAB_FIELD: dict[str, str] = {
    "718-7": "hemoglobin_g_dl", "777-3": "platelets_per_ul", "26515-7": "platelets_per_ul",
    "751-8": "neutrophils_per_ul", "753-4": "neutrophils_per_ul", "26499-4": "neutrophils_per_ul",
    "1742-6": "alt_x_uln", "1920-8": "ast_x_uln", "1975-2": "bilirubin_x_uln",
    "2164-2": "creatinine_clearance_ml_min", "35591-7": "creatinine_clearance_ml_min",
    "10230-1": "lvef_percent",
}  # fmt: skip
KI67_PERCENT = frozenset({"29593-1", "85330-9"})
KI67_QUALITATIVE = frozenset({"33055-5"})
WEIGHT = frozenset({"29463-7", "3141-9"})
MMR_IHC = frozenset({"81691-8", "81692-6", "81693-4", "81694-2"})

ANSWERS = _rows("Observation answer", LOINC, "gx", [
    ("LA26203-2", "MSI-H", "biomarkers.msi = high"),
    ("LA14122-8", "Stable (MSS)", "biomarkers.msi = stable"),
    ("LA26202-4", "MSI-L", "(not high, not stable: reported unmapped)"),
    ("LA9633-4", "Present", "variant present / protein expressed"),
    ("LA9634-2", "Absent", "variant absent / protein lost"),
    ("LA6683-2", "Germline", "genomic source class germline"),
    ("LA6684-0", "Somatic", "genomic source class somatic (not germline VHL)"),
    ("LA6668-3", "Pathogenic (component 53037-8)", "variant counts as an alteration"),
    ("LA26332-9", "Likely pathogenic (component 53037-8)", "variant counts as an alteration"),
    ("LA26333-7", "Uncertain significance (component 53037-8)", "not an alteration: reported unmapped"),
    ("LA26334-5", "Likely benign (component 53037-8)", "not an alteration: reported unmapped"),
    ("LA6675-8", "Benign (component 53037-8)", "not an alteration: reported unmapped"),
    ("LA6576-8", "Positive", "positive"),
    ("LA6577-6", "Negative", "negative"),
]) + _rows("Observation answer", LOINC, "uscore", [
    ("LA15173-0", "Pregnant", "pregnant = true"),
    ("LA26683-5", "Not pregnant", "pregnant = false"),
    ("LA4489-6", "Unknown", "(unknown)"),
]) + _rows("Observation answer", SNOMED, "mcode", [
    ("10828004", "Positive", "positive"),
    ("260385009", "Negative", "negative"),
]) + _rows("Observation answer", SNOMED, "snomed", [
    ("77386006", "Pregnant", "pregnant = true"),
    ("60001007", "Not pregnant", "pregnant = false"),
    ("169750002", "Mother currently breast-feeding", "breastfeeding = true"),
    ("169746009", "Breastfeeding stopped", "breastfeeding = false"),
]) + _rows("Observation answer", V3, "v3", [
    ("POS", "Positive", "positive"),
    ("NEG", "Negative", "negative"),
]) + _rows("Gene", HGNC, "hgnc", [
    ("HGNC:12687", "VHL", "biomarkers.germline_vhl"),
])  # fmt: skip
POSITIVE = frozenset({(LOINC, "LA6576-8"), (LOINC, "LA9633-4"), (SNOMED, "10828004"), (V3, "POS")})
NEGATIVE = frozenset({(LOINC, "LA6577-6"), (LOINC, "LA9634-2"), (SNOMED, "260385009"), (V3, "NEG")})
VHL_GENE = "HGNC:12687"
NOT_ALTERATION = frozenset({"LA26333-7", "LA26334-5", "LA6675-8"})


# ---- agents (RxNorm ingredient CUIs + names): netcds.fhir.agent_codes ------------------------------

# ---- text rules where no standard code exists ---------------------------------------------------
# the SSTR imaging tracers: naming one says the result is an imaging result
SSTR_TRACERS = ("dotatate", "dotatoc", "dotanoc", "octreoscan", "pentetreotide")
TEXT_RULES: dict[str, tuple[str, ...]] = {
    "SSTR imaging (Observation.code text/display or method; a tracer, or SSTR with PET/scan words)": (
        *SSTR_TRACERS, "somatostatin receptor", "sstr"),
    "SSTR immunohistochemistry (reported, never tumor.sstr_status)": (
        "immunohisto", "ihc", "immune stain", "immunostain"),
    "FDG PET (Observation.code text/display or method)": ("fdg", "fluorodeoxyglucose", "fludeoxyglucose"),
    "Mitotic count (Observation.code text; unit must be per 2 mm2)": ("mitos", "mitotic"),
    "Ki-67 with a local code (Observation.code text, unit %)": ("ki-67", "ki67", "mib-1"),
    "Radiotherapy (Procedure; or mCODE RadiotherapyCourseSummary profile)": (
        "radiotherapy", "radiation therapy", "external beam", "teleradiotherapy"),
    "PRRT (Procedure): lu177_dotatate when the Lu-177 dotatate name is given, else reported": (
        "peptide receptor radionuclide", "prrt", "radioligand", "radionuclide therapy"),
    "Oral octreotide (never octreotide LAR)": ("oral", "capsule", "mycapssa", "delayed release"),
}  # fmt: skip


def agent_rows() -> list[Row]:
    unverified = "no verified ingredient CUI; matched by name"
    return [
        Row("Cancer agent", RXNORM, a.rxcui or "(name match only)", ", ".join(a.names),
            f"treatments[].agent = {a.agent}", "rxnav" if a.rxcui else unverified)
        for a in AGENTS
    ]  # fmt: skip


@cache
def all_rows() -> tuple[Row, ...]:
    return tuple(
        SITE_SNOMED + SITE_TOPOGRAPHY + SITE_C7A + MORPHOLOGY + MORPHOLOGY_SNOMED + GRADE + DISEASE_STATUS
        + TNM_CATEGORY + TNM_VALUE + TERMINATION + MR_STATUS_REASON + SYNDROME + SECONDARY + VHL_CONDITION
        + COMORBIDITY + OBSERVATION + ANSWERS + agent_rows()
    )  # fmt: skip


def lookup(rows: list[Row], system: str, code: str) -> Row | None:
    return next((r for r in rows if r.system == system and r.code == code), None)


def markdown_table() -> str:
    """The code table for docs/fhir-mapping.md (deterministic)."""
    lines = ["| table | system | code | meaning | sets | source |", "|---|---|---|---|---|---|"]
    for r in all_rows():
        lines.append(f"| {r.table} | {r.system} | `{r.code}` | {r.meaning} | {r.target} | {r.source} |")
    lines += ["", "| text rule | accepted words (case-insensitive) |", "|---|---|"]
    for what, words in TEXT_RULES.items():
        lines.append(f"| {what} | {', '.join(words)} |")
    lines += ["", "| source key | reference |", "|---|---|"]
    for key, ref in SOURCES.items():
        lines.append(f"| {key} | {ref} |")
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- BEGIN CODE TABLE (generated by python -m netcds.fhir.codes) -->", "<!-- END CODE TABLE -->"


def docs_block() -> str:
    return f"{BEGIN}\n\n{markdown_table()}\n{END}"


def write_docs(path: str) -> None:  # pragma: no cover - developer tool
    from pathlib import Path

    doc = Path(path)
    text = doc.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    doc.write_text(text[:start] + docs_block() + text[end:], encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    import sys

    if sys.argv[1:2] == ["--write-docs"]:
        write_docs(sys.argv[2] if len(sys.argv) > 2 else "docs/fhir-mapping.md")
    else:
        print(markdown_table(), end="")
