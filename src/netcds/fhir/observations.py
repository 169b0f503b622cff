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
from netcds.fhir.ki67 import ki67_components, percent_of
from netcds.fhir.observation_kinds import REPORTED_ONLY, TUMOR_KINDS, classify, code_words
from netcds.fhir.precedence import Cand, latest_cand, not_known_then
from netcds.fhir.read import Res, cc_text, codings, no_value_reason, quantity
from netcds.fhir.scope import SKIP_OBS_STATUS, for_the_net
from netcds.fhir.tnm import map_extent_from_tnm

_GRADE_TEXT = re.compile(r"\b(?:G|grade\s*)([123])\b", re.IGNORECASE)


# ---- handlers --------------------------------------------------------------------------------------
def _grade(res: Res) -> str | None:
    cc = res.data.get("valueCodeableConcept")
    for system, code, _ in codings(cc):
        row = C.lookup(C.GRADE, system, code)
        if row:
            return row.target.rsplit(" ", 1)[-1]
    m = _GRADE_TEXT.search(cc_text(cc) + " " + str(res.data.get("valueString", "")))
    return f"G{m.group(1)}" if m else None


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
        if status in SKIP_OBS_STATUS:
            ctx.unmapped(res, f"observation status {status!r}: no usable result", res.data.get("code"))
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
        g = _grade(res)
        if g is None:
            ctx.unmapped(res, "histologic grade value not recognised", res.data.get("valueCodeableConcept"))
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
        ctx.unmapped(
            res,
            "histology observation not used (the primary's own morphology or a newer histology decides)",
            res.data.get("valueCodeableConcept"),
        )
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
