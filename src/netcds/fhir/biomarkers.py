"""Result values of tumour Observations: positive/negative, MSI, MMR, TMB, germline VHL.

Coded answers always decide (LOINC answer codes, SNOMED CT, HL7 interpretation,
``valueBoolean``); words (``valueString``, ``CodeableConcept.text``) are read only when
no code answers, through :mod:`netcds.fhir.wording`, which never reads a negated phrase
as positive. Words that disagree with the code are reported, never used.
"""

from __future__ import annotations

from typing import Any

from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.context import Ctx
from netcds.fhir.read import Res, cc_text, codings, has_code, no_value_reason, quantity
from netcds.fhir.wording import one_of, polarity_words

POSITIVE_WORDS = (r"\bpositive\b", r"\bavid(?:ity)?\b")
NEGATIVE_WORDS = (r"\bnegative\b", r"\bnon-?\s*avid\b")
MMR_INTACT_WORDS = (r"\bintact\b", r"\bretained\b", r"\bpreserved\b", r"\bpresent\b", r"\bproficien\w*",
                    r"\bpositive\b", r"\bexpressed\b")  # fmt: skip
MMR_LOST_WORDS = (r"\bloss\b", r"\blost\b", r"\bdeficien\w*", r"\babsent\b", r"\bnegative\b")
MSI_WORDS: dict[str, tuple[str, ...]] = {
    "high": (r"\bmsi[- ]?h(?:igh)?\b", r"\bmicrosatellite[- ]instability[- ]high\b",
             r"\bhigh[- ]microsatellite[- ]instability\b", r"^\s*(?:instability[- ])?high\s*$"),
    "stable": (r"\bmss\b", r"\bmicrosatellite[- ]stable\b", r"\bmsi[- ]stable\b", r"^\s*stable\s*$"),
    "low": (r"\bmsi[- ]?l(?:ow)?\b", r"^\s*low\s*$"),
}  # fmt: skip


def result_words(res: Res) -> str:
    d = res.data
    return " ; ".join(w for w in (str(d.get("valueString", "")), cc_text(d.get("valueCodeableConcept"))) if w)


def coded_polarity(res: Res) -> bool | None:
    """Positive (True) / negative (False) from interpretation, a coded value or valueBoolean."""
    d = res.data
    for cc in [*(d.get("interpretation", []) or []), d.get("valueCodeableConcept")]:
        for system, code, _ in codings(cc):
            if (system, code) in C.POSITIVE:
                return True
            if (system, code) in C.NEGATIVE:
                return False
    if isinstance(d.get("valueBoolean"), bool):
        return bool(d["valueBoolean"])
    return None


def result_polarity(
    res: Res,
    positive: tuple[str, ...] = POSITIVE_WORDS,
    negative: tuple[str, ...] = NEGATIVE_WORDS,
    imaging: bool = False,
) -> tuple[bool | None, str]:
    """``(value, note)``: the coded answer, else the words; ``note`` says what the words did. ``imaging``:
    a whole-body study, whose negative limited to one site says nothing of the others (a specimen's result
    belongs to the specimen, wherever it was taken)."""
    coded = coded_polarity(res)
    words = result_words(res)
    if coded is not None:
        said, _ = polarity_words(words, positive, negative, imaging) if words else (None, "")
        if said is not None and said != coded:
            return coded, f"the coded answer decides; the words {words!r} disagree and are not used"
        return coded, ""
    if not words:
        return None, "no coded answer and no result words"
    value, why = polarity_words(words, positive, negative, imaging)
    return value, (f"read from the words {words!r}" if value is not None else why)


def msi_of(res: Res) -> tuple[str | None, str]:
    """('high' | 'stable' | None, note): LOINC answers first, then the words (negation-aware)."""
    for system, code, _ in codings(res.data.get("valueCodeableConcept")):
        if system == C.LOINC and code == "LA26203-2":
            return "high", ""
        if system == C.LOINC and code == "LA14122-8":
            return "stable", ""
        if system == C.LOINC and code == "LA26202-4":
            return None, "MSI-L (LOINC LA26202-4): neither MSI-H nor stable"
    words = result_words(res)
    label, why = one_of(words, MSI_WORDS)
    if label == "low":
        return None, f"MSI-low ({words!r}): neither MSI-H nor stable"
    if label is None:
        return None, f"MSI result not readable as MSI-H or stable: {why}"
    return label, f"read from the words {words!r}"


def tmb_of(ctx: Ctx, res: Res) -> float | None:
    """Mutations per megabase; a bound ("<10") or a value in another unit leaves TMB unknown (reported)."""
    q = quantity(res.data.get("valueQuantity"))
    if q is None:
        ctx.unmapped(res, no_value_reason("TMB", res.data.get("valueQuantity")), res.data.get("code"))
        return None
    unit = q[1].lower()
    if unit and not ("1000000" in unit or "mb" in unit or "megabase" in unit):
        ctx.unmapped(res, f"TMB unit {q[1]!r} is not mutations per megabase", res.data.get("code"))
        return None
    return q[0] if q[0] >= 0 else None


def _components(res: Res, loinc: str) -> list[Any]:
    return [
        c.get("valueCodeableConcept")
        for c in res.data.get("component", []) or []
        if has_code(c.get("code"), C.LOINC, {loinc})
    ]


def variant_of(ctx: Ctx, res: Res) -> bool | None:
    genes = _components(res, "48018-6")
    vhl = any(has_code(g, C.HGNC, {C.VHL_GENE}) or cc_text(g).strip().upper() == "VHL" for g in genes)
    cc = res.data.get("code")
    if not vhl:
        names = ", ".join(cc_text(g) or "unnamed" for g in genes) or "gene not stated"
        ctx.unmapped(res, f"genomic variant in {names}: not a gene netcds uses", cc)
        return None
    source = [c for g in _components(res, "48002-0") for s, c, _ in codings(g) if s == C.LOINC]
    if "LA6683-2" not in source:
        why = "somatic" if "LA6684-0" in source else "germline or somatic not stated"
        ctx.unmapped(res, f"VHL variant ({why}): not a germline alteration", cc)
        return None
    present, _ = result_polarity(res)
    if present is None:
        ctx.unmapped(res, "VHL germline result neither present nor absent", cc)
        return None
    significance = [c for g in _components(res, "53037-8") for s, c, _ in codings(g) if s == C.LOINC]
    if present and any(c in C.NOT_ALTERATION for c in significance):
        ctx.unmapped(res, "germline VHL variant of uncertain or benign significance: not an alteration", cc)
        return None
    return present


def map_mmr(ctx: Ctx, rows: list[Res], out: dict[str, dict[str, Any]]) -> None:
    """dMMR if any of MLH1/MSH2/MSH6/PMS2 is lost; pMMR only when all four are intact.

    LOINC LA9633-4 Present / LA9634-2 Absent (or another coded answer) decide; words are
    read only without a code ("no loss of expression" is intact, never lost)."""
    intact: dict[str, list[tuple[Res, str]]] = {}
    lost: list[tuple[Res, str]] = []
    for res in rows:
        p, note = result_polarity(res, MMR_INTACT_WORDS, MMR_LOST_WORDS)
        code = sorted({c for s, c, _ in codings(res.data.get("code")) if s == C.LOINC} & C.MMR_IHC)[0]
        if p is True:
            intact.setdefault(code, []).append((res, note))
        elif p is False:
            lost.append((res, note))
        else:
            ctx.unmapped(
                res, f"MMR protein result not readable as intact or lost ({note})", res.data.get("code")
            )
    bio = out["biomarkers"]

    def put(value: str, res: Res, why: str, note: str) -> None:
        ctx.mapped(
            "biomarkers.mmr", value, res, res.data.get("code"), note="; ".join(x for x in (why, note) if x)
        )

    if lost:
        bio["mmr"] = "deficient"
        for res, note in lost:
            put("deficient", res, "MMR protein expression lost", note)
        for res, note in _each(intact):
            put("deficient", res, "this protein is intact; the loss of another decides", note)
    elif len(intact) == 4:
        bio["mmr"] = "proficient"
        for res, note in _each(intact):
            put("proficient", res, "all four MMR proteins intact", note)
    else:
        for res, _ in _each(intact):
            ctx.unmapped(
                res,
                "MMR protein intact, but not all four proteins reported: MMR status stays unknown",
                res.data.get("code"),
            )


def _each(intact: dict[str, list[tuple[Res, str]]]) -> list[tuple[Res, str]]:
    """Every intact result, each protein's in an order that does not depend on the input order."""
    return [row for code in sorted(intact) for row in sorted(intact[code], key=lambda r: r[0].ref)]
