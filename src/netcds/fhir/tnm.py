"""TNM categories -> ``disease.extent`` (M1 distant; N+ or T4 locoregional; else localized)."""

from __future__ import annotations

import re
from typing import Any

from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.context import Ctx
from netcds.fhir.precedence import newest_value
from netcds.fhir.read import Res, cc_text, codings
from netcds.fhir.wording import brief, not_plain, readings

_TNM = re.compile(r"(?<![A-Za-z])(?:[cpyra]{0,3})([TNM])(is|[0-4]|X|x)")
# "T1-2", "cM0/1", "N0 or N1": a range names no single category
_TNM_RANGE = re.compile(
    r"(?<![A-Za-z])[cpyra]{0,3}[TNM](?:is|[0-4]|X)[a-d]?\s*(?:[-\u2010-\u2014/]|\bto\b|\bor\b)\s*"
    r"[cpyra]{0,3}[TNM]?(?:is|[0-4]|X)\b"
)
# AJCC category values coded in SNOMED CT (cM0, cM1, cM1a-c): rows of the code table (codes.TNM_VALUE, the
# sources in netcds.fhir.tumor_codes), read before any words so a coding without a display is read. An M1
# subcategory counts as M1, as "cM1b" in words does.
TNM_VALUE_CODES: dict[str, tuple[str, str]] = {r.code: (r.target[0], r.target[1:]) for r in C.TNM_VALUE}


def _tnm_words(text: str, letter: str | None) -> tuple[tuple[str, str] | None, str]:
    """The category in words ("cM1b" -> M, 1), preferring the ``letter`` of the Observation's code; None and
    why when the words give a range, several values, or negate or hedge it ("No M1", "M1 not present")."""
    found = list(_TNM.finditer(text or ""))
    if not found:
        return None, ""
    same = [m for m in found if m.group(1).upper() == letter] or found[:1]
    values = sorted({f"{m.group(1).upper()}{m.group(2).lower()}" for m in same})
    said = f"the words {brief(text)!r}"
    if len(values) > 1 or _TNM_RANGE.search(text):
        return None, f"{said} name more than one category or a range ({', '.join(values)})"
    terms = {"tnm": tuple(rf"(?<![A-Za-z]){re.escape(m.group(0))}(?![0-9])" for m in same)}
    read = readings(text, terms)
    if why := not_plain(read):
        return None, f"{said} {why}"
    return (same[0].group(1).upper(), same[0].group(2).lower()), ""


def _tnm_value(res: Res, letter: str | None = None) -> tuple[tuple[str, str] | None, str]:
    """The category and value (a SNOMED CT AJCC value code first, then the words of the displays and text),
    else None and why the words were not read ("" when they name no category)."""
    cc = res.data.get("valueCodeableConcept")
    for system, code, _ in codings(cc):
        if system == C.SNOMED and code in TNM_VALUE_CODES:
            return TNM_VALUE_CODES[code], ""
    got: set[tuple[str, str]] = set()
    for text in [d for _, _, d in codings(cc)] + [cc_text(cc)]:
        v, why = _tnm_words(text, letter)
        if why:
            return None, why
        if v is not None:
            got.add(v)
    if len(got) > 1:
        listed = ", ".join(sorted(a + b for a, b in got))
        return None, f"the display and text of the value disagree ({listed})"
    return (got.pop(), "") if got else (None, "")


def map_extent_from_tnm(ctx: Ctx, rows: list[Res], out: dict[str, dict[str, Any]]) -> None:
    """Extent from the newest T, N and M categories (M1 distant; N+ or T4 locoregional; else localized)."""
    by_letter: dict[str, list[tuple[Res, str]]] = {}
    expected = {r.code: r.target for r in C.TNM_CATEGORY}
    for res in rows:
        coded = next((expected[c] for _, c, _ in codings(res.data.get("code")) if c in expected), None)
        v, why = _tnm_value(res, coded)
        if v is None:
            detail = f": {why}" if why else " (e.g. not applicable)"
            ctx.unmapped(res, f"TNM category value not readable{detail}", res.data.get("code"))
            continue
        letter, val = v
        category = coded or letter
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
