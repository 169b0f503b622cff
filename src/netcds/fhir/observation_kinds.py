"""The kind of fact an Observation carries, read from its code (tables in :mod:`netcds.fhir.codes`), profile
and words, with the kinds that are about a tumour and those that are only reported."""

from __future__ import annotations

from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.read import Res, cc_text, codings, has_code, has_profile

# kinds that are about a tumour: a resource that says it is about another cancer is not used for them
TUMOR_KINDS = (
    "disease_status", "tnm", "stage_group", "grade", "histology", "ki67", "ki67_qualitative", "msi", "tmb",
    "mmr", "sstr", "sstr_ihc", "sstr_method", "fdg", "imaging_ambiguous", "mitoses",
)  # fmt: skip
# kinds that are reported and never set a field, with why
REPORTED_ONLY = {
    "sstr_ihc": "SSTR immunohistochemistry: tumor.sstr_status is the SSTR-PET/scintigraphy result "
    "(contract), so an IHC result does not set it",
    "sstr_method": "SSTR result without its method (no tracer, PET/scan/scintigraphy or imaging category): "
    "tumor.sstr_status is the SSTR imaging result, so it is not set from this",
    "imaging_ambiguous": "imaging names both an SSTR tracer and FDG; cannot tell which",
    "history_of_metastasis": "mCODE history of metastatic cancer: a past fact, not tied to this tumour or "
    "to the decision's date, so it sets neither disease.extent nor disease.liver_metastases (record the "
    "current extent from staging or imaging)",
}
IMAGING_WORDS = (
    "pet",
    "scan",
    "scintigra",
    "spect",
    "imaging",
    "uptake",
    "krenning",
    "ga-68",
    "68ga",
    "cu-64",
)


def code_words(res: Res) -> str:
    """The words of the code and method, lower case."""
    return " ".join([cc_text(res.data.get("code")), cc_text(res.data.get("method"))]).lower()


def _loinc(res: Res) -> set[str]:
    return {c for s, c, _ in codings(res.data.get("code")) if s == C.LOINC}


def _rule(name_start: str) -> tuple[str, ...]:
    return next(v for k, v in C.TEXT_RULES.items() if k.startswith(name_start))


def classify(res: Res) -> str:
    """The kind of fact an Observation carries, or ``other``."""
    code = res.data.get("code")
    loinc = _loinc(res)
    words = code_words(res)
    if has_profile(res, "mcode-cancer-disease-status") or any(
        (C.LOINC, c) in C.DISEASE_STATUS_CODES for c in loinc
    ):
        return "disease_status"
    if has_profile(res, "mcode-comorbidities") or has_code(code, C.SNOMED, {"398192003"}):
        return "comorbidities"
    if has_profile(res, "mcode-history-of-metastatic-cancer") or has_code(code, C.SNOMED, {"1287652008"}):
        return "history_of_metastasis"
    if has_code(code, C.SNOMED, {r.code for r in C.TNM_CATEGORY}):
        return "tnm"
    if has_profile(res, "mcode-tnm-stage-group") or has_code(code, C.SNOMED, {"399537006", "399588009"}):
        return "stage_group"
    if has_profile(res, "mcode-histologic-grade") or any(
        has_code(code, s, {c}) for s, c in C.GRADE_OBSERVATION_CODES
    ):
        return "grade"
    if has_profile(res, "mcode-histologic-behavior-and-type") or "31206-6" in loinc:
        return "histology"
    if loinc & C.KI67_PERCENT:
        return "ki67"
    if loinc & C.KI67_QUALITATIVE:
        return "ki67_qualitative"
    if "81695-9" in loinc:
        return "msi"
    if "94076-7" in loinc:
        return "tmb"
    if loinc & C.MMR_IHC:
        return "mmr"
    if "69548-6" in loinc or has_profile(res, "mcode-genomic-variant"):
        return "variant"
    if loinc & C.WEIGHT:
        return "weight"
    if "82810-3" in loinc:
        return "pregnancy"
    if loinc & set(C.LAB_FIELD):
        return "lab"
    sstr = any(w in words for w in _rule("SSTR imaging"))
    fdg = any(w in words for w in _rule("FDG"))
    if sstr and fdg:
        return "imaging_ambiguous"
    if sstr:
        if any(w in words for w in _rule("SSTR immuno")):
            return "sstr_ihc"
        tracer = any(w in words for w in C.SSTR_TRACERS)
        category = " ".join(cc_text(c) for c in res.data.get("category", []) or []).lower()
        if not (tracer or any(w in words for w in IMAGING_WORDS) or "imaging" in category):
            return "sstr_method"
        return "sstr"
    if fdg:
        return "fdg"
    if any(w in words for w in _rule("Mitotic")):
        return "mitoses"
    if any(w in words for w in _rule("Ki-67 with")):
        return "ki67"
    return "other"
