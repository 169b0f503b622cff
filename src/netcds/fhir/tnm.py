"""TNM categories -> ``disease.extent`` (M1 distant; N+ or T4 locoregional; else localized)."""

from __future__ import annotations

import re
from typing import Any

from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.context import Ctx
from netcds.fhir.precedence import newest_value
from netcds.fhir.read import Res, cc_text, codings

_TNM = re.compile(r"(?<![A-Za-z])(?:[cpyra]{0,3})([TNM])(is|[0-4]|X|x)")


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
