"""Conditions: the primary cancer (site, histology), metastases, hormone syndromes, comorbidities.

The primary cancer is the mCODE PrimaryCancerCondition (by profile) or a Condition
whose code names a neuroendocrine or site-coded cancer. Its site comes from
``bodySite`` (SNOMED CT or ICD-O-3 topography) or the ICD-10-CM code; its
histology (:mod:`netcds.fhir.histology`) from the mCODE histology-morphology-behavior
extension. A primary cancer that is positively identified as not neuroendocrine is
refused (netcds covers NETs).
"""

from __future__ import annotations

from typing import Any

from netcds.facts import GI_SITES
from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.condition_state import condition_on
from netcds.fhir.context import Ctx
from netcds.fhir.histology import Histology, histology_from, histology_of
from netcds.fhir.read import Res, cc_text, codings
from netcds.fhir.scope import about, icd10, icd_codes, in_error, refuted, topography, unconfirmed

PANCREAS_SYNDROMES = ("insulinoma", "gastrinoma", "glucagonoma", "vipoma", "somatostatinoma")
NODAL_WORDS = ("lymph node", "lymph nodes", "nodal", "lymphatic")


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


JEJUNOILEAL = "90228003"  # SNOMED CT "Jejunum and ileum": the one small-bowel code that excludes the duodenum


def _part_note(primary: str, site_cc: Any) -> str:
    """What the mapping report adds when a code names the small intestine without its part: netcds reads it
    as the contract's ``small_bowel`` (jejunum or ileum, midgut; docs/contract.md, ``derived.gut``); or the
    large intestine without its portion (ICD-10-CM C7A.029, D3A.029): the colon, its segment unknown."""
    if primary == "colon" and any(s == C.ICD10 and icd10(c)[4:] == "029" for s, c, _ in codings(site_cc)):
        return (
            "; the code names the large intestine without its portion (ICD-10-CM: colon NOS): read as the "
            "colon, its segment unknown (colon_segment not set)"
        )
    if primary != "small_bowel" or any(c == JEJUNOILEAL for _, c, _ in codings(site_cc)):
        return ""
    return (
        "; the code names the small intestine without its part: read as jejunum or ileum (midgut); "
        "a duodenal tumor is recorded as the duodenum"
    )


def map_primary(ctx: Ctx, res: Res, out: dict[str, dict[str, Any]]) -> Histology | None:
    tumor = out["tumor"]
    site, site_cc, how = site_from_condition(res)
    hist = histology_of(ctx, res, site)
    by_code = histology_from(res.data.get("code"), site, morphology=False)
    not_ne = hist if hist and hist.neuroendocrine is False else None
    if (
        not_ne is None
        and (hist is None or hist.neuroendocrine is None)
        and by_code
        and by_code.neuroendocrine is False
    ):
        not_ne = by_code
    if not_ne is not None:  # refused: a tumour outside the tables (Merkel cell), or not neuroendocrine
        said, covers = (
            (f"outside netcds's scope ({not_ne.label}: {not_ne.outside})", "the neuroendocrine tumors of its "
             "guideline tables only")
            if not_ne.outside
            else (f"not a neuroendocrine neoplasm ({not_ne.label})", "neuroendocrine tumors only")
        )  # fmt: skip
        ctx.fatal = ("tumor.primary_site", f"{res.ref} is {said}; netcds covers {covers}")
        ctx.unmapped(res, said, res.data.get("code"))
        return None
    if site:
        primary, _, segment = site.partition("/")
        tumor["primary_site"] = primary
        ctx.mapped(
            "tumor.primary_site", primary, res, site_cc, note=f"from {how}" + _part_note(primary, site_cc)
        )
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
    if hist.unread_note:
        ctx.unmapped(res, hist.unread_note, res.data.get("code"))
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
