"""Conditions: the primary cancer (site, histology), metastases, hormone syndromes, comorbidities.

The primary cancer is the mCODE PrimaryCancerCondition (by profile) or a Condition
whose code names a neuroendocrine or site-coded cancer. Its site comes from
``bodySite`` (SNOMED CT or ICD-O-3 topography) or the ICD-10-CM code; its
histology from the mCODE histology-morphology-behavior extension. A primary cancer
that is positively identified as not neuroendocrine is refused (netcds covers NETs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.context import Ctx
from netcds.fhir.read import Res, cc_text, codings, extensions, has_profile

NE_WORDS = ("neuroendocrine", "carcinoid", "islet cell", "insulinoma", "gastrinoma", "glucagonoma", "vipoma",
            "somatostatinoma", "small cell carcinoma", "paraganglioma")  # fmt: skip
NON_NE_WORDS = (
    "non-small cell", "adenocarcinoma", "ductal", "duct carcinoma", "lobular", "leukemia", "leukaemia",
    "lymphoma", "myeloma", "melanoma", "sarcoma", "squamous", "breast", "prostate", "glioma", "blastoma",
)  # fmt: skip
SECONDARY_WORDS = ("secondary", "metastatic to", "metastasis to", "metastases to")
PANCREAS_SYNDROMES = ("insulinoma", "gastrinoma", "glucagonoma", "vipoma", "somatostatinoma")
_ICDO3 = re.compile(r"(\d{4})\s*/?\s*(\d)?")


def icd10(code: str) -> str:
    """Normalise an ICD-10(-CM) code to dotted upper case (C7A012 -> C7A.012)."""
    c = code.strip().upper()
    if len(c) > 3 and "." not in c:
        c = c[:3] + "." + c[3:]
    return c


def status_code(res: Res, key: str) -> str | None:
    for _, code, _ in codings(res.data.get(key)):
        return code
    return None


def refuted(res: Res) -> bool:
    return status_code(res, "verificationStatus") == "refuted"


def in_error(res: Res) -> bool:
    return status_code(res, "verificationStatus") == "entered-in-error"


def active(res: Res) -> bool:
    clinical = status_code(res, "clinicalStatus")
    return clinical in (None, "active", "recurrence", "relapse")


# ---- histology -----------------------------------------------------------------------------------
@dataclass
class Histology:
    neuroendocrine: bool | None = None
    differentiation: str | None = None
    lung_subtype: str | None = None
    gep_grade_fallback: str | None = None
    syndromes: list[str] = field(default_factory=list)
    label: str = ""
    source: Res | None = None  # an Observation that carried the histology, if not the Condition


def histology_from(cc: Any, site: str | None) -> Histology | None:
    """Histology from an ICD-O-3 morphology coding, else from the words of the concept."""
    lung = site in ("lung", "thymus")
    for system, code, display in codings(cc):
        if system != C.ICDO3:
            continue
        m = _ICDO3.search(code)
        if not m:
            continue
        morph = m.group(1)
        h = Histology(neuroendocrine=morph in C.NEUROENDOCRINE_MORPHOLOGY, label=f"ICD-O-3 {code} {display}")
        if morph in ("8240", "8249", "8241", "8242", "8150", "8151", "8152", "8153", "8155", "8156"):
            h.differentiation = "well"
        if morph in ("8246", "8041", "8013", "8042", "8043", "8044", "8045"):
            h.differentiation = "poor"
        if morph == "8240":
            h.lung_subtype, h.gep_grade_fallback = ("typical_carcinoid", None) if lung else (None, "G1")
        if morph == "8249" and lung:
            h.lung_subtype = "atypical_carcinoid"
        syndrome = {"8151": "insulinoma", "8152": "glucagonoma", "8153": "gastrinoma", "8155": "vipoma",
                    "8156": "somatostatinoma"}.get(morph)  # fmt: skip
        if syndrome:
            h.syndromes.append(syndrome)
        return h
    text = cc_text(cc).lower()
    if not text:
        return None
    h = Histology(label=cc_text(cc))
    ne = any(w in text for w in NE_WORDS) and "non-small cell" not in text
    if ne:
        h.neuroendocrine = True
        if "well differentiated" in text or "well-differentiated" in text:
            h.differentiation = "well"
        elif "poorly differentiated" in text or "neuroendocrine carcinoma" in text or "small cell" in text:
            h.differentiation = "poor"
        elif "tumor" in text or "tumour" in text or "carcinoid" in text:
            h.differentiation = "well"
        if lung and "atypical carcinoid" in text:
            h.lung_subtype = "atypical_carcinoid"
        elif lung and "typical carcinoid" in text:
            h.lung_subtype = "typical_carcinoid"
    elif any(w in text for w in NON_NE_WORDS):
        h.neuroendocrine = False
    return h


# ---- site ------------------------------------------------------------------------------------------
def _topography(code: str) -> str | None:
    c = icd10(code)
    best: tuple[int, str] | None = None
    for row in C.SITE_TOPOGRAPHY:
        if c.startswith(row.code) and (best is None or len(row.code) > best[0]):
            best = (len(row.code), row.target)
    return best[1] if best else None


def site_from_condition(res: Res) -> tuple[str | None, Any, str]:
    """(site, the CodeableConcept it came from, how) from bodySite, then Condition.code."""
    for body in res.data.get("bodySite", []) or []:
        for system, code, _ in codings(body):
            if system == C.SNOMED:
                row = C.lookup(C.SITE_SNOMED, C.SNOMED, code)
                if row:
                    return row.target, body, "bodySite"
            if system == C.ICDO3:
                site = _topography(code)
                if site:
                    return site, body, "bodySite"
    cc = res.data.get("code")
    for system, code, _ in codings(cc):
        if system != C.ICD10:
            continue
        c = icd10(code)
        for prefix in C.C7A_FAMILY:
            if c.startswith(prefix):
                row = C.lookup(C.SITE_C7A, C.ICD10, "C7A" + c[3:])
                if row:
                    return row.target, cc, "code"
        row = C.lookup(C.SITE_C7A, C.ICD10, c)
        if row:
            return row.target, cc, "code"
        if c.startswith("C") and not c.startswith(("C7A", "C7B", "C77", "C78", "C79")):
            site = _topography(c)
            if site:
                return site, cc, "code"
    return None, None, ""


# ---- classification ---------------------------------------------------------------------------
def _icd(res: Res) -> list[str]:
    return [icd10(c) for s, c, _ in codings(res.data.get("code")) if s == C.ICD10]


def is_secondary(res: Res) -> bool:
    if has_profile(res, "mcode-secondary-cancer-condition"):
        return True
    if has_profile(res, "mcode-primary-cancer-condition"):
        return False
    if any(c.startswith(("C77", "C78", "C79", "C7B")) for c in _icd(res)):
        return True
    if any(s == C.SNOMED and C.lookup(C.SECONDARY, C.SNOMED, c) for s, c, _ in codings(res.data.get("code"))):
        return True
    text = cc_text(res.data.get("code")).lower()
    return any(w in text for w in SECONDARY_WORDS)


def is_primary(res: Res) -> bool:
    if has_profile(res, "mcode-primary-cancer-condition"):
        return True
    if is_secondary(res) or syndrome_of(res):
        return False
    if any(c.startswith(("C7A", "D3A")) or c == "C25.4" for c in _icd(res)):
        return True
    if extensions(res.data, "mcode-histology-morphology-behavior"):
        return True
    if any(c.startswith("C") and _topography(c) for c in _icd(res)):
        return True
    text = cc_text(res.data.get("code")).lower()
    return any(w in text for w in NE_WORDS) and "non-small cell" not in text and "syndrome" not in text


def syndrome_of(res: Res) -> str | None:
    for system, code, _ in codings(res.data.get("code")):
        table = C.SYNDROME
        key = icd10(code) if system == C.ICD10 else code
        row = C.lookup(table, system, key)
        if row:
            return row.target.split("+=")[1]
    return None


# ---- the primary cancer -----------------------------------------------------------------------
def histology_of(ctx: Ctx, res: Res, site: str | None) -> Histology | None:
    for ext in extensions(res.data, "mcode-histology-morphology-behavior"):
        h = histology_from(ext.get("valueCodeableConcept"), site)
        if h:
            return h
    for obs in ctx.of_type("Observation"):
        if not (
            has_profile(obs, "mcode-histologic-behavior-and-type")
            or any(s == C.LOINC and c == "31206-6" for s, c, _ in codings(obs.data.get("code")))
        ):
            continue
        h = histology_from(obs.data.get("valueCodeableConcept"), site)
        if h:
            h.source = obs
            return h
    if any(c.startswith("C7A.1") for c in _icd(res)):
        return Histology(neuroendocrine=True, differentiation="poor", label="ICD-10-CM C7A.1")
    if any(c.startswith(("C7A", "D3A")) for c in _icd(res)):
        return Histology(neuroendocrine=True, label="ICD-10-CM carcinoid tumor code")
    return histology_from(res.data.get("code"), site)


def choose_primary(ctx: Ctx, candidates: list[Res]) -> Res | None:
    live = [r for r in candidates if not refuted(r) and not in_error(r)]
    for r in candidates:
        if r not in live:
            ctx.unmapped(r, "primary cancer condition refuted or entered in error", r.data.get("code"))
    if len(live) <= 1:
        return live[0] if live else None
    ne = [r for r in live if (histology_of(ctx, r, None) or Histology()).neuroendocrine]
    pick = ne if ne else live
    sites = {site_from_condition(r)[0] for r in pick}
    if len(pick) > 1 and len(sites) > 1:
        refs = ", ".join(r.ref for r in pick)
        ctx.fatal = (
            "tumor.primary_site",
            f"several primary cancer conditions with different sites ({refs}); "
            "netcds evaluates one neuroendocrine primary",
        )
    chosen = pick[-1]
    for r in live:
        if r is not chosen:
            ctx.unmapped(
                r, f"another primary cancer condition; {chosen.ref} is the one evaluated", r.data.get("code")
            )
    return chosen


def map_primary(ctx: Ctx, res: Res, out: dict[str, dict[str, Any]]) -> Histology | None:
    tumor = out["tumor"]
    site, site_cc, how = site_from_condition(res)
    hist = histology_of(ctx, res, site)
    by_code = histology_from(res.data.get("code"), site)
    not_ne = hist if hist and hist.neuroendocrine is False else None
    if (
        not_ne is None
        and (hist is None or hist.neuroendocrine is None)
        and by_code
        and by_code.neuroendocrine is False
    ):
        not_ne = by_code
    if not_ne is not None:
        ctx.fatal = (
            "tumor.primary_site",
            f"{res.ref} is not a neuroendocrine neoplasm ({not_ne.label}); "
            "netcds covers neuroendocrine tumors only",
        )
        ctx.unmapped(res, f"not a neuroendocrine neoplasm ({not_ne.label})", res.data.get("code"))
        return None
    if site:
        primary, _, segment = site.partition("/")
        tumor["primary_site"] = primary
        ctx.mapped("tumor.primary_site", primary, res, site_cc, note=f"from {how}")
        if segment:
            tumor["colon_segment"] = segment
            ctx.mapped("tumor.colon_segment", segment, res, site_cc)
    else:
        ctx.unmapped(
            res,
            "primary site not coded in a form netcds reads (SNOMED CT bodySite, ICD-O-3 "
            "topography or ICD-10-CM site code)",
            res.data.get("code"),
        )
    if hist is None:
        ctx.unmapped(res, "histology not recorded: neuroendocrine type not confirmed", res.data.get("code"))
        return None
    if hist.neuroendocrine is None:
        ctx.unmapped(res, f"histology {hist.label!r} not recognised as neuroendocrine or not")
    src = hist.source or res
    if hist.differentiation:
        tumor["differentiation"] = hist.differentiation
        ctx.mapped("tumor.differentiation", hist.differentiation, src, note=hist.label)
    if hist.lung_subtype:
        tumor["lung_subtype"] = hist.lung_subtype
        ctx.mapped("tumor.lung_subtype", hist.lung_subtype, src, note=hist.label)
    for s in hist.syndromes:
        tumor.setdefault("syndromes", []).append(s)
        ctx.mapped("tumor.syndromes", s, src, note=f"functional tumor type from histology {hist.label}")
    if hist.syndromes:
        tumor["functional"] = True
        ctx.mapped("tumor.functional", True, src, note="hormone-secreting tumor type")
    ctx.used.add(res.loc)
    return hist


# ---- metastases, syndromes ----------------------------------------------------------------------
def map_secondary(ctx: Ctx, res: Res, out: dict[str, dict[str, Any]]) -> None:
    cc = res.data.get("code")
    if refuted(res) or in_error(res) or not active(res):
        ctx.unmapped(res, "metastasis condition refuted, in error or not active", cc)
        return
    icds = _icd(res)
    if icds and all(c.startswith("C77") for c in icds):
        ctx.unmapped(res, "lymph-node metastasis: regional or distant is not stated", cc)
        return
    out["disease"]["extent"] = "distant_metastatic"
    ctx.mapped(
        "disease.extent", "distant_metastatic", res, cc, note="secondary (metastatic) cancer condition"
    )
    liver = (
        any(c.startswith(("C78.7", "C7B.02")) for c in icds)
        or any(
            s == C.SNOMED and c == "10200004"
            for b in res.data.get("bodySite", []) or []
            for s, c, _ in codings(b)
        )
        or "liver" in cc_text(cc).lower()
    )
    if liver:
        out["disease"]["liver_metastases"] = True
        ctx.mapped("disease.liver_metastases", True, res, cc)


def map_syndromes(
    ctx: Ctx, rows: list[tuple[Res, str]], absent: dict[str, str], out: dict[str, dict[str, Any]]
) -> None:
    """Present syndromes make the tumor functional; documented absence may make it non-functional."""
    tumor = out["tumor"]
    for res, syndrome in rows:
        cc = res.data.get("code")
        if in_error(res):
            ctx.unmapped(res, "entered in error", cc)
        elif refuted(res):
            absent[syndrome] = res.ref
            ctx.used.add(res.loc)
        elif not active(res):
            ctx.unmapped(res, f"{syndrome.replace('_', ' ')} recorded as not active", cc)
        else:
            if syndrome not in tumor.setdefault("syndromes", []):
                tumor["syndromes"].append(syndrome)
            tumor["functional"] = True
            ctx.mapped("tumor.syndromes", syndrome, res, cc)
            ctx.mapped("tumor.functional", True, res, cc)
    site = tumor.get("primary_site")
    if tumor.get("functional") is not None or not site:
        for name, ref in absent.items():
            ctx.report.skip(
                ref,
                f"{name.replace('_', ' ')} recorded absent (not used: tumor is functional or site unknown)",
            )
        return
    needed: tuple[str, ...] = ()
    if site in (
        "stomach",
        "duodenum",
        "jejunum",
        "ileum",
        "small_bowel",
        "appendix",
        "cecum",
        "colon",
        "rectum",
    ):
        needed = ("carcinoid_syndrome",)
    elif site == "pancreas":
        needed = ("carcinoid_syndrome", *PANCREAS_SYNDROMES)
    if needed and all(n in absent for n in needed):
        tumor["functional"] = False
        for n in needed:
            ctx.report.add(
                "tumor.functional",
                False,
                f"{absent[n]} ({n.replace('_', ' ')} absent)",
                note=f"every hormone syndrome netcds tracks for a {site} primary is recorded absent",
            )
    else:
        for name, ref in absent.items():
            ctx.report.skip(
                ref,
                f"{name.replace('_', ' ')} recorded absent; not enough to call a {site} "
                "tumor non-functional (tumor.functional stays unknown)",
            )
