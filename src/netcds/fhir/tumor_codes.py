"""The tumour code tables of the FHIR mapping as data: primary site, morphology and TNM value codes.

Part of the code tables of :mod:`netcds.fhir.codes`, which turns each list into documented rows (table,
system and source named there) and prints them in the code table of docs/fhir-mapping.md. Each item is
``(code, meaning, what it sets)``; the SNOMED CT morphology items also name the ICD-O-3 morphology each is
read as (``(code, meaning, ICD-O-3, what it sets)``).
"""

from __future__ import annotations

# ---- primary site ------------------------------------------------------------------------------
# SNOMED body structures (Condition.bodySite); all appear in the mCODE 4.0.0 package
# (radiotherapy treatment location value set / TG263 concept map).
SITE_SNOMED: list[tuple[str, str, str]] = [
    ("69695003", "Stomach structure", "stomach"),
    ("38848004", "Duodenal structure", "duodenum"),
    ("21306003", "Jejunal structure", "jejunum"),
    ("34516001", "Ileal structure", "ileum"),
    ("30315005", "Structure of small intestine", "small_bowel"),
    ("90228003", "Jejunum and ileum (combined site)", "small_bowel"),
    ("66754008", "Appendix structure", "appendix"),
    ("32713005", "Cecum structure", "cecum"),
    ("71854001", "Colon structure", "colon"),
    ("9040008", "Ascending colon structure", "colon/ascending"),
    ("485005", "Transverse colon structure", "colon/transverse"),
    ("32622004", "Descending colon structure", "colon/descending"),
    ("60184004", "Sigmoid colon structure", "colon/sigmoid"),
    ("34402009", "Rectum structure", "rectum"),
    ("15776009", "Pancreatic structure", "pancreas"),
    ("64163001", "Structure of head of pancreas", "pancreas"),
    ("73239005", "Structure of tail of pancreas", "pancreas"),
    ("39607008", "Lung structure", "lung"),
    ("955009", "Bronchial structure", "lung"),
    ("102297006", "Main bronchus structure", "lung"),
    # lobes: 31094006 and 41224006 are in the mCODE 4.0.0 package; 45653009, 72481006 and 90572001 are
    # DICOM PS3.16 CID 6170 "Lobe of Lung"
    ("31094006", "Structure of lobe of lung", "lung"),
    ("45653009", "Upper lobe of lung", "lung"),
    ("72481006", "Middle lobe of right lung", "lung"),
    ("90572001", "Lower lobe of lung", "lung"),
    ("41224006", "Structure of lower lobe of left lung", "lung"),
    ("9875009", "Thymus gland structure", "thymus"),
]
# ICD-O-3 topography (bodySite) and ICD-10-CM site codes (Condition.code): matched on the code prefix,
# longest prefix first. "colon/<segment>" also sets tumor.colon_segment.
SITE_TOPOGRAPHY: list[tuple[str, str, str]] = [
    ("C16", "Stomach", "stomach"),
    ("C17", "Small intestine (other subsite)", "small_bowel"),
    ("C17.0", "Duodenum", "duodenum"),
    ("C17.1", "Jejunum", "jejunum"),
    ("C17.2", "Ileum", "ileum"),
    ("C17.8", "Small intestine, overlapping", "small_bowel"),
    ("C17.9", "Small intestine, NOS", "small_bowel"),
    ("C18.0", "Cecum", "cecum"),
    ("C18.1", "Appendix", "appendix"),
    ("C18.2", "Ascending colon", "colon/ascending"),
    ("C18.4", "Transverse colon", "colon/transverse"),
    ("C18.6", "Descending colon", "colon/descending"),
    ("C18.7", "Sigmoid colon", "colon/sigmoid"),
    ("C18", "Colon (other subsite)", "colon"),
    ("C20", "Rectum", "rectum"),
    ("C25", "Pancreas", "pancreas"),
    ("C34", "Bronchus and lung", "lung"),
    ("C37", "Thymus", "thymus"),
    ("C80", "Unknown primary site", "unknown_primary"),
]
SITE_C7A: list[tuple[str, str, str]] = [
    ("C7A.010", "Malignant carcinoid tumor of the duodenum", "duodenum"),
    ("C7A.011", "Malignant carcinoid tumor of the jejunum", "jejunum"),
    ("C7A.012", "Malignant carcinoid tumor of the ileum", "ileum"),
    ("C7A.019", "Malignant carcinoid tumor of small intestine, unspecified portion", "small_bowel"),
    ("C7A.020", "Malignant carcinoid tumor of the appendix", "appendix"),
    ("C7A.021", "Malignant carcinoid tumor of the cecum", "cecum"),
    ("C7A.022", "Malignant carcinoid tumor of the ascending colon", "colon/ascending"),
    ("C7A.023", "Malignant carcinoid tumor of the transverse colon", "colon/transverse"),
    ("C7A.024", "Malignant carcinoid tumor of the descending colon", "colon/descending"),
    ("C7A.025", "Malignant carcinoid tumor of the sigmoid colon", "colon/sigmoid"),
    ("C7A.026", "Malignant carcinoid tumor of the rectum", "rectum"),
    # ICD-10-CM inclusion term: "Malignant carcinoid tumor of the colon NOS"; the segment stays unknown
    ("C7A.029", "Malignant carcinoid tumor of the large intestine, unspecified portion (colon NOS; the "
     "segment stays unknown)", "colon"),
    ("C7A.090", "Malignant carcinoid tumor of the bronchus and lung", "lung"),
    ("C7A.091", "Malignant carcinoid tumor of the thymus", "thymus"),
    ("C7A.092", "Malignant carcinoid tumor of the stomach", "stomach"),
    ("C25.4", "Malignant neoplasm of endocrine pancreas", "pancreas"),
]  # fmt: skip

# ---- morphology (the mCODE histology-morphology-behavior extension, HistologicBehaviorAndType) -------
MORPHOLOGY_ICDO3: list[tuple[str, str, str]] = [
    ("8240", "Neuroendocrine tumor NOS / grade 1; carcinoid NOS / typical",
     "differentiation=well; grade G1 (GEP) or typical_carcinoid (lung) only if the display says grade 1 "
     "(lung: or typical) and no grade/Ki-67/mitoses observation exists"),
    ("8240/1", "Carcinoid tumour of uncertain malignant potential",
     "differentiation=well (a carcinoid); no grade or lung subtype; its uncertain behaviour (/1) is "
     "reported"),
    ("8249", "NET G2-G3 / atypical carcinoid", "differentiation=well; lung: atypical_carcinoid"),
    ("8241", "Enterochromaffin-cell (serotonin-producing) NET", "differentiation=well"),
    ("8242", "Enterochromaffin-like-cell NET", "differentiation=well"),
    ("8150", "Pancreatic neuroendocrine tumor", "differentiation=well"),
    ("8151", "Insulinoma", "differentiation=well; functional; syndromes+=insulinoma"),
    ("8152", "Glucagonoma", "differentiation=well; functional; syndromes+=glucagonoma"),
    ("8153", "Gastrinoma", "differentiation=well; functional; syndromes+=gastrinoma"),
    ("8155", "VIPoma", "differentiation=well; functional; syndromes+=vipoma"),
    ("8156", "Somatostatinoma", "differentiation=well; functional; syndromes+=somatostatinoma"),
    ("8246", "Neuroendocrine carcinoma", "differentiation=poor"),
    ("8041", "Small cell carcinoma", "differentiation=poor"),
    ("8013", "Large cell neuroendocrine carcinoma", "differentiation=poor"),
    ("8244", "Mixed neuroendocrine-non-neuroendocrine neoplasm (MiNEN; mixed adenoneuroendocrine carcinoma)",
     "neuroendocrine; differentiation not taken from it (mixed tumour, not addressed by the seed's tables: "
     "reported)"),
    ("8154", "Mixed pancreatic endocrine and exocrine tumour (mixed ductal/acinar-neuroendocrine carcinoma)",
     "neuroendocrine; differentiation not taken from it (mixed tumour, not addressed by the seed's tables: "
     "reported)"),
    ("8247", "Merkel cell carcinoma",
     "outside netcds: a primary neuroendocrine carcinoma of the skin, which the NET tables do not cover: "
     "refused"),
]  # fmt: skip
GOBLET_CELL = (
    "8243", "Goblet cell adenocarcinoma (goblet cell carcinoid)", "not a neuroendocrine tumour: refused"
)  # fmt: skip
# SNOMED CT morphologic abnormality concepts (the mCODE 4.0.0 HistologyMorphologyBehaviorVS is SNOMED CT),
# read by code as the ICD-O-3 morphology they name, so a coding without a display is read. The neuroendocrine
# ones as named in a public FHIR IG value set of WHO 5th-edition tumour types (HL7 Lithuania "WHO Breast
# Tumor Classification", neuroendocrine tumours); 128628002 also in the UZ Leuven / Tiro.health lung cancer
# diagnosis value set; the non-neuroendocrine ones are those of the mCODE 4.0.0 example resources.
MORPHOLOGY_SNOMED_NET: list[tuple[str, str, str, str]] = [
    ("1286768001", "Well-differentiated neuroendocrine tumor", "8240/3",
     "differentiation=well (no grade, no lung subtype: as 8240/3 without grade 1)"),
    ("1286769009", "Well-differentiated neuroendocrine tumor grade 1", "8240/3",
     "differentiation=well; G1 (GEP) or typical_carcinoid (lung) as 8240/3 with grade 1 in its display"),
    ("1286770005", "Well-differentiated neuroendocrine tumor grade 2", "8249/3",
     "differentiation=well; lung: atypical_carcinoid (as 8249/3)"),
    ("1286767006", "Neuroendocrine carcinoma", "8246/3", "differentiation=poor"),
    ("74364000", "Small cell carcinoma", "8041/3", "differentiation=poor"),
    ("128628002", "Large cell neuroendocrine carcinoma", "8013/3", "differentiation=poor"),
]  # fmt: skip
MORPHOLOGY_SNOMED_MCODE: list[tuple[str, str, str, str]] = [
    ("82711006", "Infiltrating duct carcinoma", "8500/3", "not a neuroendocrine tumour: refused"),
    ("77284006", "Lobular carcinoma in situ", "8520/2", "not a neuroendocrine tumour: refused"),
    ("1187332001", "Adenocarcinoma", "8140/3", "not a neuroendocrine tumour: refused"),
]

# ---- TNM value codes ------------------------------------------------------------------------------
# AJCC M category values coded in SNOMED CT (mCODE 4.0.0 TNMDistantMetastasesCategoryVS: descendants of
# 1222587001 "AJCC clinical M category allowable value"; the IG lists no expansion). Read before any words,
# so a coding without a display is read. Sources: 1229901006 cM0 as in the mCODE 4.0.0 package examples
# (npm hl7.fhir.us.mcode@4.0.0: Observation-tnm-clinical-distant-metastases-category-cM0.json and
# -jenny-m.json, display "American Joint Committee on Cancer cM0 (qualifier value)"); 1229903009 cM1,
# 1229904003 cM1a, 1229907005 cM1b, 1229910003 cM1c ("American Joint Committee on Cancer cM1 (qualifier
# value)" ...) as listed in the AJCC 8th edition clinical M value sets of public FHIR IGs (e.g. the MII/BIH
# senology "VS Senologie Metastasierung", a Tiro.health lung cancer "ClinicalMStageLungCancer" value set);
# SNOMED CT International, https://browser.ihtsdotools.org/. An M1 subcategory counts as M1, as "cM1b" in
# words does. The target is the category letter and value read (``M0``, ``M1``).
TNM_VALUE_MCODE: list[tuple[str, str, str]] = [
    ("1229901006", "American Joint Committee on Cancer cM0", "M0"),
]
TNM_VALUE_AJCC: list[tuple[str, str, str]] = [
    ("1229903009", "American Joint Committee on Cancer cM1", "M1"),
    ("1229904003", "American Joint Committee on Cancer cM1a (counts as M1)", "M1"),
    ("1229907005", "American Joint Committee on Cancer cM1b (counts as M1)", "M1"),
    ("1229910003", "American Joint Committee on Cancer cM1c (counts as M1)", "M1"),
]
