"""Conditions: the primary cancer (site, histology), metastases, hormone syndromes, comorbidities.

The primary cancer is the mCODE PrimaryCancerCondition (by profile) or a Condition
whose code names a neuroendocrine or site-coded cancer. Its site comes from
``bodySite`` (SNOMED CT or ICD-O-3 topography) or the ICD-10-CM code; its
histology from the mCODE histology-morphology-behavior extension. A primary cancer
that is positively identified as not neuroendocrine is refused (netcds covers NETs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from netcds.facts import GI_SITES
from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.clinical import condition_on
from netcds.fhir.context import Ctx
from netcds.fhir.dating import newest_first
from netcds.fhir.observations import not_known_then
from netcds.fhir.read import Res, cc_text, codings, extensions, has_profile
from netcds.fhir.scope import (
    NE_WORDS,
    SKIP_OBS_STATUS,
    about,
    icd10,
    icd_codes,
    in_error,
    refuted,
    topography,
    unconfirmed,
)
from netcds.fhir.wording import readings

NON_NE_WORDS = (
    "non-small cell", "adenocarcinoma", "ductal", "duct carcinoma", "lobular", "leukemia", "leukaemia",
    "lymphoma", "myeloma", "melanoma", "sarcoma", "squamous", "breast", "prostate", "glioma", "blastoma",
)  # fmt: skip
PANCREAS_SYNDROMES = ("insulinoma", "gastrinoma", "glucagonoma", "vipoma", "somatostatinoma")
GOBLET_NOTE = (
    "WHO 2019 classifies it as an adenocarcinoma of the appendix, not a neuroendocrine tumour, and the NET "
    "guideline does not cover it"
)
# mixed neuroendocrine-non-neuroendocrine neoplasms (ICD-O-3 8244/3 MiNEN / mixed adenoneuroendocrine
# carcinoma, 8154/3 mixed pancreatic endocrine-exocrine): the seed's tables do not address mixed tumours
MIXED_MORPHOLOGY = frozenset({"8244", "8154"})
MIXED_WORDS = ("minen", "manec", "mixed neuroendocrine", "adenoneuroendocrine", "mixed adeno-neuroendocrine",
               "non-neuroendocrine neoplasm", "mixed endocrine and exocrine")  # fmt: skip
MIXED_NOTE = (
    "mixed neuroendocrine-non-neuroendocrine neoplasm (MiNEN): the guideline tables netcds encodes do not "
    "address mixed tumours and netcds reads only the neuroendocrine component, so differentiation is not "
    "taken from the histology (record the neuroendocrine component's); the non-neuroendocrine component is "
    "outside netcds"
)
_ICDO3 = re.compile(r"(\d{4})\s*/?\s*(\d)?")
GRADE1_WORDS: dict[str, tuple[str, ...]] = {"g1": (r"\bgrade\s*(?:1|i|one)\b", r"\bG1\b")}
TYPICAL_WORDS: dict[str, tuple[str, ...]] = {"typical": (r"(?<!a)typical\s+carcinoid",)}
NODAL_WORDS = ("lymph node", "lymph nodes", "nodal", "lymphatic")
_DIFF = {"well": "well differentiated", "poor": "poorly differentiated"}


def _explicit(text: str, terms: Mapping[str, tuple[str, ...]]) -> bool:
    """The words name the term, neither negated nor hedged ("possibly grade 1" is not grade 1)."""
    found = readings(text, terms)
    return bool(found) and all(not r.negated and not r.unsure for r in found)


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
    unstated: str = ""  # why the grade / lung subtype is not taken from the morphology
    superseded: list[Res] = field(default_factory=list)  # older histology Observations
    tied: list[Res] = field(default_factory=list)  # other newest histology Observations (no date order)
    conflict: str = ""  # set when the newest histology Observations disagree: the histology is unknown
    # Observations disagreeing with the Condition's morphology on differentiation (then it is unknown)
    disagree: list[Res] = field(default_factory=list)


def histology_from(cc: Any, site: str | None) -> Histology | None:
    """Histology from an ICD-O-3 morphology coding, else from the words of the concept.

    ICD-O-3.2 8240/3 is "neuroendocrine tumour, NOS" and "carcinoid, NOS" as well as
    "NET grade 1" / "typical carcinoid": the code alone gives neither a grade nor a lung
    subtype; only its display saying grade 1 (or typical carcinoid) does."""
    lung = site in ("lung", "thymus")
    for system, code, display in codings(cc):
        if system != C.ICDO3:
            continue
        m = _ICDO3.search(code)
        if not m:
            continue
        morph = m.group(1)
        label = f"ICD-O-3 {code} {display}".strip()
        if morph == "8243":
            return Histology(
                neuroendocrine=False, label=f"{label} (goblet cell adenocarcinoma: {GOBLET_NOTE})"
            )
        h = Histology(neuroendocrine=morph in C.NEUROENDOCRINE_MORPHOLOGY, label=label)
        if morph in MIXED_MORPHOLOGY:
            h.unstated = MIXED_NOTE
            return h
        if morph in ("8240", "8249", "8241", "8242", "8150", "8151", "8152", "8153", "8155", "8156"):
            h.differentiation = "well"
        if morph in ("8246", "8041", "8013", "8042", "8043", "8044", "8045"):
            h.differentiation = "poor"
        words = " ".join([display, cc_text(cc)])
        if morph == "8240" and (_explicit(words, GRADE1_WORDS) or (lung and _explicit(words, TYPICAL_WORDS))):
            h.lung_subtype, h.gep_grade_fallback = ("typical_carcinoid", None) if lung else (None, "G1")
        elif morph == "8240":
            h.unstated = (
                "ICD-O-3 8240/3 without 'grade 1' or 'typical carcinoid' in its display (8240/3 is also "
            )
            h.unstated += "neuroendocrine tumour NOS and carcinoid NOS): grade" + (
                " and lung subtype" if lung else ""
            )
            h.unstated += " not taken from it"
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
    if "goblet cell" in text:
        h.neuroendocrine, h.label = False, f"{cc_text(cc)} ({GOBLET_NOTE})"
    elif any(
        w in text for w in MIXED_WORDS
    ):  # before the NE words: "adenoneuroendocrine carcinoma" is no NEC
        h.neuroendocrine, h.unstated = True, MIXED_NOTE
    elif ne:
        h.neuroendocrine = True
        if "well differentiated" in text or "well-differentiated" in text:
            h.differentiation = "well"
        elif "poorly differentiated" in text or "neuroendocrine carcinoma" in text or "small cell" in text:
            h.differentiation = "poor"
        elif "tumor" in text or "tumour" in text or "carcinoid" in text:
            h.differentiation = "well"
        if lung and "atypical carcinoid" in text:
            h.lung_subtype = "atypical_carcinoid"
        elif lung and _explicit(text, TYPICAL_WORDS):
            h.lung_subtype = "typical_carcinoid"
    elif any(w in text for w in NON_NE_WORDS):
        h.neuroendocrine = False
    return h


def _reading(h: Histology) -> tuple[object, ...]:
    """What a histology says for the Patient (two labels with the same reading agree)."""
    return (h.neuroendocrine, h.differentiation, h.lung_subtype, h.gep_grade_fallback, tuple(h.syndromes),
            h.unstated)  # fmt: skip


# ---- site ------------------------------------------------------------------------------------------
def site_from_condition(res: Res) -> tuple[str | None, Any, str]:
    """(site, the CodeableConcept it came from, how) from bodySite, then Condition.code."""
    for body in res.data.get("bodySite", []) or []:
        for system, code, _ in codings(body):
            if system == C.SNOMED:
                row = C.lookup(C.SITE_SNOMED, C.SNOMED, code)
                if row:
                    return row.target, body, "bodySite"
            if system == C.ICDO3:
                site = topography(code)
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
            site = topography(c)
            if site:
                return site, cc, "code"
    return None, None, ""


# ---- the primary cancer -----------------------------------------------------------------------
def _histology_observations(ctx: Ctx, res: Res, site: str | None) -> list[tuple[Res, Histology]]:
    """The usable HistologicBehaviorAndType Observations about a primary cancer, with their histology."""
    found: list[tuple[Res, Histology]] = []
    for obs in ctx.of_type("Observation"):
        if not (
            has_profile(obs, "mcode-histologic-behavior-and-type")
            or any(s == C.LOINC and c == "31206-6" for s, c, _ in codings(obs.data.get("code")))
        ):
            continue
        if str(obs.data.get("status", "")) in SKIP_OBS_STATUS or about(ctx, obs, res)[0] == "other":
            continue  # map_observations reports these
        if not_known_then(ctx, obs) is not None:
            continue  # issued after the record date, or dated across it: map_observations reports these
        h = histology_from(obs.data.get("valueCodeableConcept"), site)
        if h:
            h.source = obs
            found.append((obs, h))
    return found


def _disagreeing(ctx: Ctx, res: Res, ext: Histology, found: list[tuple[Res, Histology]]) -> Histology | None:
    """A histology without differentiation when a newest histology Observation disagrees on it (well vs
    poorly differentiated) with the Condition's own morphology extension, else None.

    Neither is taken: the extension carries no date of its own, and no rule says which of a Condition's
    morphology and a separate pathology result is the later or better reading; WD-G3 NET against NEC
    changes the whole treatment, so it is left to the clinician (reported on both resources)."""
    newest = newest_first(found, lambda f: f[0])[0] if found else []
    odd = [
        (o, h)
        for o, h in newest
        if ext.differentiation and h.differentiation and h.differentiation != ext.differentiation
    ]
    if not odd:
        return None
    said = "; ".join(
        sorted(f"{ctx.source(o)} has {h.label} ({_DIFF[h.differentiation or '']})" for o, h in odd)
    )
    return Histology(
        neuroendocrine=ext.neuroendocrine, label=ext.label, disagree=[o for o, _ in odd],
        conflict=f"histology disagrees on differentiation: {res.ref} (morphology extension) has {ext.label} "
        f"({_DIFF[ext.differentiation or '']}), {said}; neither is taken: tumor.differentiation (and the "
        "grade or lung subtype the morphology would give) is left unknown",
    )  # fmt: skip


def histology_of(ctx: Ctx, res: Res, site: str | None) -> Histology | None:
    """The histology of a primary cancer: its morphology extension (unless a newest histology
    Observation disagrees with it on differentiation: then neither), else the newest usable
    HistologicBehaviorAndType Observation about it, else its ICD-10-CM code or words."""
    found = _histology_observations(ctx, res, site)
    for ext in extensions(res.data, "mcode-histology-morphology-behavior"):
        h = histology_from(ext.get("valueCodeableConcept"), site)
        if h:
            return _disagreeing(ctx, res, h, found) or h
    if found:
        newest, older = newest_first(found, lambda f: f[0])
        if len({_reading(h) for _, h in newest}) > 1:
            listing = "; ".join(sorted(f"{h.label} in {ctx.source(o)}" for o, h in newest))
            return Histology(
                label="conflicting histology",
                conflict=f"conflicting histology values and their dates do not say which is newer: {listing}",
                tied=[o for o, _ in newest],
                superseded=[o for o, _ in older],
            )
        chosen = newest[0][1]
        chosen.tied, chosen.superseded = [o for o, _ in newest[1:]], [o for o, _ in older]
        return chosen
    goblet = histology_from(res.data.get("code"), site)
    if goblet is not None and goblet.neuroendocrine is False and "goblet" in goblet.label.lower():
        return goblet
    if any(c.startswith("C7A.1") for c in icd_codes(res)):
        return Histology(neuroendocrine=True, differentiation="poor", label="ICD-10-CM C7A.1")
    if any(c.startswith(("C7A", "D3A")) for c in icd_codes(res)):
        return Histology(neuroendocrine=True, label="ICD-10-CM carcinoid tumor code")
    return histology_from(res.data.get("code"), site)


def choose_primary(ctx: Ctx, candidates: list[Res]) -> Res | None:
    """The primary cancer evaluated; sets ``ctx.primary`` and ``ctx.other_primaries``."""
    live: list[Res] = []
    for r in candidates:
        if refuted(r) or in_error(r):
            ctx.unmapped(r, "primary cancer condition refuted or entered in error", r.data.get("code"))
        elif (status := unconfirmed(r)) is not None:
            ctx.unconfirmed_primaries.append(r.ref)
            ctx.unmapped(
                r,
                f"primary cancer condition is {status} (verification status): the diagnosis is not "
                "confirmed, so it is not used",
                r.data.get("code"),
            )
        else:
            live.append(r)
    if len(live) <= 1:
        ctx.primary = live[0] if live else None
        return ctx.primary
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
    ctx.primary = chosen
    for r in live:
        if r is chosen:
            continue
        if r in pick and len(sites) == 1:
            ctx.same_tumor.add(r.loc)
        else:
            ctx.other_primaries.append(r)
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
    if hist.disagree:
        for r in (res, *hist.disagree):
            ctx.unmapped(
                r, hist.conflict, res.data.get("code") if r is res else r.data.get("valueCodeableConcept")
            )
        return hist
    if hist.conflict:
        refs = ", ".join(sorted({o.ref for o in hist.tied}))
        for o in hist.tied:
            ctx.unmapped(o, f"{hist.conflict}; left unknown", o.data.get("valueCodeableConcept"))
        for old in hist.superseded:
            ctx.unmapped(old, f"older histology superseded by {refs} (conflicting)", old.data.get("code"))
        ctx.used.add(res.loc)
        return hist
    if hist.neuroendocrine is None:
        ctx.unmapped(res, f"histology {hist.label!r} not recognised as neuroendocrine or not")
    src = hist.source or res
    for o in hist.tied:
        ctx.unmapped(o, f"same histology as {src.ref}, not ordered by date; used once", o.data.get("code"))
    for old in hist.superseded:
        ctx.unmapped(old, f"older histology superseded by {src.ref}", old.data.get("valueCodeableConcept"))
    if hist.unstated:
        ctx.report.skip(src.ref, hist.unstated)
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
def _nodal(res: Res) -> bool:
    """A lymph-node metastasis whose regional or distant nature is not stated."""
    icds = icd_codes(res)
    if any(c.startswith("C7B.01") for c in icds):
        return False  # ICD-10-CM: secondary carcinoid tumors of distant lymph nodes
    if icds and all(c.startswith("C77") for c in icds):
        return True
    words = " ".join(
        [cc_text(res.data.get("code")), *(cc_text(b) for b in res.data.get("bodySite", []) or [])]
    ).lower()
    return any(w in words for w in NODAL_WORDS) and "distant" not in words


def map_secondary(ctx: Ctx, res: Res, out: dict[str, dict[str, Any]]) -> None:
    cc = res.data.get("code")
    if refuted(res) or in_error(res):
        ctx.unmapped(res, "metastasis condition refuted or entered in error", cc)
        return
    if (status := unconfirmed(res)) is not None:
        ctx.unmapped(
            res, f"metastasis is {status} (verification status), not confirmed: extent left unknown", cc
        )
        return
    state, then = condition_on(ctx, res)  # as it was on the record date, never its later state
    if state != "present":
        ctx.unmapped(
            res, f"metastasis condition {then}" if state == "not_active" else f"metastasis: {then}", cc
        )
        return
    verdict, why = about(ctx, res)
    if verdict == "other" and ctx.primary is not None:
        ctx.unmapped(res, f"metastasis of another cancer ({why}), not of {ctx.primary.ref}; not used", cc)
        return
    if _nodal(res):
        ctx.unmapped(
            res, "lymph-node metastasis: regional or distant is not stated; extent not set from it", cc
        )
        return
    note = "secondary (metastatic) cancer condition"
    if verdict == "unstated" and ctx.other_primaries:
        note += f"; does not say of which primary; read as of {ctx.primary.ref if ctx.primary else 'the NET'}"
    out["disease"]["extent"] = "distant_metastatic"
    ctx.mapped("disease.extent", "distant_metastatic", res, cc, note=note)
    icds = icd_codes(res)
    liver = (
        any(c.startswith(("C78.7", "C7B.02")) for c in icds)
        or any(
            s == C.SNOMED and c in ("10200004", "94381002")
            for b in [*(res.data.get("bodySite", []) or []), cc]
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
        elif (status := unconfirmed(res)) is not None:
            ctx.unmapped(res, f"{syndrome.replace('_', ' ')} is {status} (verification status): not used", cc)
        elif (state := condition_on(ctx, res))[0] != "present":
            name = syndrome.replace("_", " ")
            ctx.unmapped(res, f"{name} {state[1]}" if state[0] == "not_active" else f"{name}: {state[1]}", cc)
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
    if site in GI_SITES:
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
