"""Observations: pathology, imaging, disease status, TNM, genomics, vitals and labs.

Each Observation is classified by its code (:mod:`netcds.fhir.observation_kinds`, tables in
:mod:`netcds.fhir.codes`). When several carry the same fact, a final result is preferred to a preliminary
one, then the newest wins (:mod:`netcds.fhir.precedence`). Ki-67 (also from the components of a panel) is
read in :mod:`netcds.fhir.ki67`, the disease extent from TNM categories in :mod:`netcds.fhir.tnm`.
"""

from __future__ import annotations

import re
from typing import Any

from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.biomarkers import map_mmr, msi_of, result_polarity, tmb_of, variant_of
from netcds.fhir.context import Ctx
from netcds.fhir.dating import earliest_day
from netcds.fhir.histology import histology_from
from netcds.fhir.ki67 import ki67_components, percent_of
from netcds.fhir.observation_kinds import REPORTED_ONLY, TUMOR_KINDS, classify, code_words
from netcds.fhir.precedence import Cand, latest_cand, not_known_then
from netcds.fhir.read import Res, cc_text, codings, no_value_reason, quantity
from netcds.fhir.scope import UNREAD_OBS_STATUS, for_the_net
from netcds.fhir.tnm import map_extent_from_tnm
from netcds.fhir.wording import brief, not_plain, readings

UNKNOWN_STATUS_NOTE = (
    ": the source does not know whether the result is final, preliminary or entered in error"
)
# a grade in words: only one grade, named neither in a range ("G2-G3", "grade 1-2"), negated ("not G3") nor
# hedged ("possible G3", "?G3", "r/o G3"): anything else leaves the grade unknown (netcds.fhir.wording)
_GRADE_NUM = {"G1": r"(?:1|I|one)", "G2": r"(?:2|II|two)", "G3": r"(?:3|III|three)"}
_GRADE_WORDS = {g: (rf"\bG{g[1]}\b", rf"\bgrade\s*:?\s*{n}\b") for g, n in _GRADE_NUM.items()}
_GRADE_RANGE = re.compile(
    r"(?:\bG|\bgrade\s*:?\s*)(?:[1-3]|I{1,3}|one|two|three)\s*(?:[-\u2010-\u2014/&+]|\bto\b|\bor\b|\band\b)\s*"
    r"(?:G|grade\s*)?(?:[1-3]|I{1,3}|one|two|three)\b",
    re.IGNORECASE,
)


# ---- handlers --------------------------------------------------------------------------------------
def _grade(res: Res) -> tuple[str | None, str]:
    """The grade (G1-G3) and, when it stays unknown, why: a code of the table decides, else the words name
    exactly one grade, with no range, negation or hedge."""
    cc = res.data.get("valueCodeableConcept")
    for system, code, _ in codings(cc):
        row = C.lookup(C.GRADE, system, code)
        if row:
            return row.target.rsplit(" ", 1)[-1], ""
    text = " ".join(t for t in (cc_text(cc), str(res.data.get("valueString") or "")) if t.strip())
    found = readings(text, _GRADE_WORDS)
    if not found:
        return None, "histologic grade value not recognised"
    said = f"histologic grade not used: the words {brief(text)!r}"
    named = sorted({r.label for r in found})
    if len(named) > 1 or _GRADE_RANGE.search(text):
        return None, f"{said} name more than one grade or a range ({', '.join(named)}); grade left unknown"
    if why := not_plain(found):
        return None, f"{said} {why}; grade left unknown"
    return named[0], ""


def _mitoses(ctx: Ctx, res: Res) -> float | None:
    q = quantity(res.data.get("valueQuantity"))
    if q is None:
        ctx.unmapped(
            res, no_value_reason("mitotic count", res.data.get("valueQuantity")), res.data.get("code")
        )
        return None
    unit = re.sub(r"[\s{}()^²]", "", q[1].lower()).replace("mm2", "mm").replace("mm", "mm2")
    text = code_words(res)
    if "2mm2" in unit or "2.mm2" in unit or ("2 mm" in text and unit in ("", "1", "/2mm2")):
        if q[0] < 0:
            ctx.unmapped(res, "mitotic count is negative", res.data.get("code"))
            return None
        return q[0]
    ctx.unmapped(
        res,
        f"mitotic count unit {q[1]!r} is not per 2 mm² (per-HPF counts need the field area)",
        res.data.get("code"),
    )
    return None


def map_observations(ctx: Ctx, out: dict[str, dict[str, Any]]) -> dict[str, list[Res]]:
    """Map every Observation; return the ones the caller handles (comorbidities, labs, vitals)."""
    kinds: dict[str, list[Res]] = {}
    for res in ctx.of_type("Observation"):
        if res.loc in ctx.used:
            continue
        status = str(res.data.get("status", ""))
        if status in UNREAD_OBS_STATUS:
            said = UNKNOWN_STATUS_NOTE if status == "unknown" else ""
            ctx.unmapped(res, f"observation status {status!r}{said}: no usable result", res.data.get("code"))
            continue
        if (why := not_known_then(ctx, res)) is not None:
            ctx.unmapped(res, why, res.data.get("code"))
            continue
        kind = classify(res)
        parts = ki67_components(res) if kind != "ki67" else []
        if kind == "other" and parts:
            ctx.use(res)  # a panel: read through its Ki-67 components
        elif kind in TUMOR_KINDS and not for_the_net(ctx, res, kind.replace("_", " ")):
            continue
        else:
            kinds.setdefault(kind, []).append(res)
        kinds.setdefault("ki67", []).extend(p for p in parts if for_the_net(ctx, p, "Ki-67 component"))
    tumor, disease, bio = out["tumor"], out["disease"], out["biomarkers"]
    lists: dict[str, list[Cand]] = {}

    def add(key: str, res: Res, value: Any, cc: Any = None, note: str | None = None) -> None:
        lists.setdefault(key, []).append(
            Cand(res, value, cc if cc is not None else res.data.get("code"), note)
        )

    for res in kinds.pop("disease_status", []):
        cc = res.data.get("valueCodeableConcept")
        row = next(
            (C.lookup(C.DISEASE_STATUS, s, c) for s, c, _ in codings(cc) if C.lookup(C.DISEASE_STATUS, s, c)),
            None,
        )
        if row is None or "unknown" in row.target:
            ctx.unmapped(res, "cancer disease status value not mapped (undetermined or unknown code)", cc)
            continue
        value = row.target.split("= ")[1].split(" ")[0]
        add("disease.status", res, value, cc, note=row.target.split("= ", 1)[1])
    for res in kinds.pop("grade", []):
        g, why = _grade(res)
        if g is None:
            ctx.unmapped(res, why, res.data.get("valueCodeableConcept"))
        else:
            add("tumor.grade", res, g, res.data.get("valueCodeableConcept"))
    for res in kinds.pop("ki67", []):
        part = res.loc.rsplit(".", 1)[-1] if ".component[" in res.loc else None
        v = percent_of(ctx, res, f"Ki-67 ({part} of this panel)" if part else "Ki-67")
        if v is not None:
            add("tumor.ki67_percent", res, v, note=f"{part} of {res.ref}" if part else None)
    for res in kinds.pop("ki67_qualitative", []):
        ctx.unmapped(res, "Ki-67 reported as presence only; a percentage is needed", res.data.get("code"))
    for res in kinds.pop("mitoses", []):
        v = _mitoses(ctx, res)
        if v is not None:
            add("tumor.mitoses_per_2mm2", res, v)
    for kind, field in (("sstr", "tumor.sstr_status"), ("fdg", "tumor.fdg_avid")):
        for res in kinds.pop(kind, []):
            p, how = result_polarity(res, imaging=True)
            if p is None:
                ctx.unmapped(
                    res,
                    f"{kind.upper()} imaging result not readable as positive or negative ({how})",
                    res.data.get("code"),
                )
            else:
                add(field, res, ("positive" if p else "negative") if kind == "sstr" else p, note=how or None)
    for kind, why in REPORTED_ONLY.items():
        for res in kinds.pop(kind, []):
            ctx.unmapped(res, why, res.data.get("code"))
    for res in kinds.pop("msi", []):
        msi, how = msi_of(res)
        if msi is None:
            ctx.unmapped(res, how, res.data.get("valueCodeableConcept"))
        else:
            add("biomarkers.msi", res, msi, res.data.get("valueCodeableConcept"), note=how or None)
    for res in kinds.pop("tmb", []):
        v = tmb_of(ctx, res)
        if v is not None:
            add("biomarkers.tmb_mut_per_mb", res, v)
    map_mmr(ctx, kinds.pop("mmr", []), out)
    vhl: list[tuple[Res, bool]] = []
    for res in kinds.pop("variant", []):
        found = variant_of(ctx, res)
        if found is not None:
            vhl.append((res, found))
    if vhl:
        carrier = any(f for _, f in vhl)
        bio["germline_vhl"] = carrier
        for res, f in vhl:
            if f == carrier:
                ctx.mapped("biomarkers.germline_vhl", carrier, res, res.data.get("code"))
            else:
                ctx.unmapped(
                    res,
                    "germline VHL absent here, but an alteration is reported elsewhere",
                    res.data.get("code"),
                )
    map_extent_from_tnm(ctx, kinds.pop("tnm", []), out)
    for res in kinds.pop("stage_group", []):
        ctx.unmapped(
            res,
            "stage group not used (netcds reads the T, N and M categories)",
            res.data.get("valueCodeableConcept"),
        )
    for res in kinds.pop("histology", []):
        concept = res.data.get("valueCodeableConcept")
        read_as = histology_from(concept, None)
        reason = "the primary's own morphology or a newer histology decides"
        if read_as is not None and read_as.unread:
            reason = read_as.unstated
        ctx.unmapped(res, f"histology observation not used ({reason})", concept)
    for key, cands in lists.items():
        section, name = key.split(".")
        if (chosen := latest_cand(ctx, key, cands)) is not None:
            out[section][name] = chosen.value
            if key == "disease.status" and (day := earliest_day(chosen.res)) is not None:
                # when the status was assessed: a progressive status after an ongoing line began is
                # progression on it (netcds.history); a partial date counts from its first day
                why = "the effective date of the disease-status observation (a partial date: its first day)"
                ctx.mapped("disease.status_date", day.isoformat(), chosen.res, None, why)
                disease["status_date"] = day.isoformat()
    del tumor, disease
    return kinds
