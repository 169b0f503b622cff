"""Observations: pathology, imaging, disease status, TNM, genomics, vitals and labs.

Each Observation is classified by its code (tables in :mod:`netcds.fhir.codes`).
When several carry the same fact, a final result is preferred to a preliminary one, then the newest
(by effective time, see :func:`newest_first`) wins and the older ones are reported as superseded; newest
values whose dates cannot be ordered and that disagree leave the fact unknown (never decided by input order).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.biomarkers import map_mmr, msi_of, result_polarity, tmb_of, variant_of
from netcds.fhir.context import Ctx
from netcds.fhir.dating import earliest_day, newest_first, span
from netcds.fhir.read import Res, cc_text, codings, day_span, has_code, has_profile, no_value_reason, quantity
from netcds.fhir.scope import SKIP_OBS_STATUS, for_the_net

_TNM = re.compile(r"(?<![A-Za-z])(?:[cpyra]{0,3})([TNM])(is|[0-4]|X|x)")
_GRADE_TEXT = re.compile(r"\b(?:G|grade\s*)([123])\b", re.IGNORECASE)
T = TypeVar("T")
# Observation statuses of a result that is not final yet: used only when no final result of its kind exists
# (``registered`` results are not read at all: netcds.fhir.scope.SKIP_OBS_STATUS)
PRELIMINARY = ("preliminary", "registered")
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


@dataclass
class Cand:
    res: Res
    value: Any
    cc: Any = None
    note: str | None = None


def pick_latest(ctx: Ctx, field: str, cands: list[Cand]) -> Any:
    """Map the newest candidate to ``field`` (:func:`newest_value`); ``None`` (unknown) when there is none
    or the newest disagree."""
    chosen = latest_cand(ctx, field, cands)
    return None if chosen is None else chosen.value


def latest_cand(ctx: Ctx, field: str, cands: list[Cand]) -> Cand | None:
    """:func:`pick_latest`, giving the chosen candidate (its resource dates it)."""
    chosen = newest_value(ctx, field, cands, lambda c: c.res, lambda c: c.value, lambda c: c.cc)
    if chosen is not None:
        ctx.mapped(field, chosen.value, chosen.res, chosen.cc, chosen.note)
    return chosen


def newest_value(
    ctx: Ctx,
    label: str,
    items: list[T],
    res_of: Callable[[T], Res],
    value_of: Callable[[T], Any],
    cc_of: Callable[[T], Any],
) -> T | None:
    """The item whose value stands for ``label``. Final results (final, amended, corrected, ...) are preferred
    to preliminary ones (:data:`PRELIMINARY`) whatever their dates; a preliminary result stands only when
    no other is recorded, and then every value it maps says so (``ctx.caveats``). Among those, the newest
    (:func:`_newest`). Every preliminary result set aside is reported, saying so when it is newer than the
    final value used and disagrees with it."""
    prelim = [i for i in items if _preliminary(res_of(i))]
    final = [i for i in items if not _preliminary(res_of(i))]
    chosen = _newest(ctx, label, final or prelim, res_of, value_of, cc_of)
    if not final:
        if chosen is not None:
            status = res_of(chosen).data.get("status")
            note = f"a preliminary result (status {status!r}): no final result of this kind is recorded"
            old = ctx.caveats.get(res_of(chosen).loc)
            ctx.caveats[res_of(chosen).loc] = note if not old else old if note in old else f"{old}; {note}"
        return chosen
    for i in prelim:
        value = value_of(i)
        if chosen is None:
            why = "not used: final results of this kind are recorded (they conflict; left unknown)"
        elif _same(value) == _same(value_of(chosen)):
            why = f"not used: the final result in {res_of(chosen).ref} (the same value) is preferred"
        elif _after(res_of(i), res_of(chosen)):
            why = (
                f"is newer than the final value {value_of(chosen)!r} in {res_of(chosen).ref} and disagrees "
                "with it; the final result is used until this one is final"
            )
        else:
            why = (
                f"disagrees with the final value {value_of(chosen)!r} in {res_of(chosen).ref}, which is used"
            )
        ctx.unmapped(res_of(i), f"{label}: preliminary value {value!r} {why}", cc_of(i))
    return chosen


def _preliminary(res: Res) -> bool:
    return res.rtype == "Observation" and str(res.data.get("status", "")) in PRELIMINARY


def _after(res: Res, other: Res) -> bool:
    """Whether ``res`` is surely dated after ``other``: its effective time begins after the other's ends."""
    mine, theirs = span(res), span(other)
    return mine is not None and theirs is not None and mine[0] >= theirs[1]


def _newest(
    ctx: Ctx,
    label: str,
    items: list[T],
    res_of: Callable[[T], Res],
    value_of: Callable[[T], Any],
    cc_of: Callable[[T], Any],
) -> T | None:
    """The newest item (:func:`newest_first`); several newest that agree stand once; several that disagree
    give ``None`` (unknown). Every other item is reported, as the same value used once, as superseded, or as
    a conflicting value."""
    if not items:
        return None
    newest, older = newest_first(items, res_of)
    if len({_same(value_of(i)) for i in newest}) > 1:
        listing = "; ".join(sorted(f"{value_of(i)!r} in {ctx.source(res_of(i))}" for i in newest))
        for i in newest:
            ctx.unmapped(
                res_of(i),
                f"{label}: conflicting values and their dates do not say which is newer ({listing}); "
                "left unknown",
                cc_of(i),
            )
        refs = ", ".join(sorted({res_of(i).ref for i in newest}))
        for i in older:
            why = f"{label}: older value {value_of(i)!r} superseded by {refs} (conflicting)"
            ctx.unmapped(res_of(i), why, cc_of(i))
        return None
    chosen = newest[0]
    ref = res_of(chosen).ref
    for i in newest[1:]:
        why = f"{label}: same value {value_of(i)!r} as {ref}, not ordered by date; mapped once"
        ctx.unmapped(res_of(i), why, cc_of(i))
    for i in older:
        ctx.unmapped(res_of(i), f"{label}: older value {value_of(i)!r} superseded by {ref}", cc_of(i))
    return chosen


def _same(value: Any) -> str:
    """A key under which equal values compare equal (8 and 8.0 too)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return repr(float(value)) if number else repr(value)


def _words(res: Res) -> str:
    return " ".join([cc_text(res.data.get("code")), cc_text(res.data.get("method"))]).lower()


def _loinc(res: Res) -> set[str]:
    return {c for s, c, _ in codings(res.data.get("code")) if s == C.LOINC}


def _rule(name_start: str) -> tuple[str, ...]:
    return next(v for k, v in C.TEXT_RULES.items() if k.startswith(name_start))


def classify(res: Res) -> str:
    """The kind of fact an Observation carries, or ``other``."""
    code = res.data.get("code")
    loinc = _loinc(res)
    words = _words(res)
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


# the elements of a panel Observation that its components share (FHIR R4 Observation.component)
PANEL_SHARED = ("resourceType", "id", "status", "category", "subject", "focus", "encounter", "issued",
                "effectiveDateTime", "effectivePeriod", "effectiveInstant", "effectiveTiming", "extension",
                "specimen")  # fmt: skip


def ki67_components(res: Res) -> list[Res]:
    """The Ki-67 percentage components of a panel Observation (e.g. a synoptic pathology report), each as an
    Observation with the panel's status, dates, subject, focus and extensions and the component's code and
    value; its ``loc`` ends in ``.component[i]`` and its ``ref`` is the panel's, so the report names it."""
    out: list[Res] = []
    for i, comp in enumerate(res.data.get("component", []) or []):
        data = {k: v for k, v in res.data.items() if k in PANEL_SHARED}
        data.update({k: v for k, v in comp.items() if k != "extension"})
        part = Res(f"{res.loc}.component[{i}]", res.rtype, data, res.ref, res.full_url, set(res.aliases))
        if classify(part) == "ki67":
            out.append(part)
    return out


# ---- handlers --------------------------------------------------------------------------------------
def _percent(ctx: Ctx, res: Res, what: str) -> float | None:
    q = quantity(res.data.get("valueQuantity"))
    if q is None:
        ctx.unmapped(res, no_value_reason(what, res.data.get("valueQuantity")), res.data.get("code"))
        return None
    if q[1] not in ("%", "percent"):
        ctx.unmapped(res, f"{what}: unit {q[1]!r} is not %", res.data.get("code"))
        return None
    if not 0 <= q[0] <= 100:
        ctx.unmapped(res, f"{what}: {q[0]:g}% is outside 0-100", res.data.get("code"))
        return None
    return q[0]


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
    text = _words(res)
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


def _tnm_value(res: Res) -> tuple[str, str] | None:
    cc = res.data.get("valueCodeableConcept")
    for text in [d for _, _, d in codings(cc)] + [cc_text(cc)]:
        m = _TNM.search(text or "")
        if m:
            return m.group(1).upper(), m.group(2).lower()
    return None


def map_extent_from_tnm(ctx: Ctx, rows: list[Res], out: dict[str, dict[str, Any]]) -> None:
    """Extent from the newest T, N and M categories (M1 distant; N+ or T4 locoregional; else localized)."""
    by_letter: dict[str, list[tuple[Res, str]]] = {}
    for res in rows:
        v = _tnm_value(res)
        if v is None:
            ctx.unmapped(res, "TNM category value not readable (e.g. not applicable)", res.data.get("code"))
            continue
        letter, val = v
        expected = {r.code: r.target for r in C.TNM_CATEGORY}
        category = next((expected[c] for s_, c, _ in codings(res.data.get("code")) if c in expected), letter)
        if category != letter:
            ctx.unmapped(
                res,
                f"TNM value {letter}{val} does not match the {category} category of the code",
                res.data.get("valueCodeableConcept"),
            )
            continue
        by_letter.setdefault(letter, []).append((res, val))
    cat: dict[str, str] = {}
    src: dict[str, Res] = {}
    for letter, found in sorted(by_letter.items()):
        chosen = newest_value(
            ctx, f"TNM {letter}", found, lambda f: f[0], lambda f: f[1], lambda f: f[0].data.get("code")
        )
        if chosen is not None:
            src[letter], cat[letter] = chosen
    m, n, t = cat.get("M"), cat.get("N"), cat.get("T")
    extent: str | None = None
    used: list[str] = []
    if m is not None and m.startswith("1"):
        extent, used = "distant_metastatic", ["M"]
    elif m == "0" and n is not None and n[:1] in ("1", "2", "3"):
        extent, used = "locoregional", ["M", "N"]
    elif m == "0" and n == "0" and t == "4":
        extent, used = "locoregional", ["M", "N", "T"]
    elif m == "0" and n == "0" and t in ("1", "2", "3", "is"):
        extent, used = "localized", ["M", "N", "T"]
    if out["disease"].get("extent") == "distant_metastatic":
        for k, res in src.items():
            cc = res.data.get("valueCodeableConcept")
            if k == "M" and cat[k].startswith("1"):
                ctx.mapped("disease.extent", "distant_metastatic", res, cc, note="agrees with the metastasis")
            elif k == "M" and cat[k] == "0":
                ctx.unmapped(res, "TNM M0 conflicts with a recorded metastasis; metastasis kept", cc)
            else:
                ctx.unmapped(res, f"TNM {k}{cat[k]} not needed: distant metastasis recorded", cc)
        return
    if extent is None:
        for k, res in src.items():
            ctx.unmapped(
                res, f"TNM {k}{cat[k]} alone does not settle the disease extent", res.data.get("code")
            )
        return
    out["disease"]["extent"] = extent
    for k in used:
        ctx.mapped("disease.extent", extent, src[k], src[k].data.get("valueCodeableConcept"))
    for k, res in src.items():
        if k not in used:
            ctx.unmapped(res, f"TNM {k}{cat[k]} not needed for the extent", res.data.get("code"))


def not_known_then(ctx: Ctx, res: Res) -> str | None:
    """Why an Observation cannot be read as known on the record date (``as_of``), or None. Those dated after
    it are set aside before (netcds.fhir.mcode); here, a result ``issued`` after it: its effective date is
    when the sample was taken or the study done, its issue date when the result became known."""
    issued = res.data.get("issued")
    span = day_span(issued) if ctx.as_of is not None and issued else None
    if span is not None and ctx.as_of is not None and span[0] > ctx.as_of:
        return f"issued {issued}, after the record date {ctx.as_of}: the result was not known then; not used"
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
        v = _percent(ctx, res, f"Ki-67 ({part} of this panel)" if part else "Ki-67")
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
            p, how = result_polarity(res)
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
