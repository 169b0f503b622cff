"""Which Conditions are cancers, how sure the record is of them, and which cancer a resource is about.

* Verification (HL7 condition-ver-status): ``refuted`` and ``entered-in-error`` are
  never used as present; ``unconfirmed``, ``provisional`` and ``differential`` are not
  confirmed either, so they leave the fact unknown (reported), never true.
* A Condition is a primary cancer by the mCODE PrimaryCancerCondition profile or a cancer
  code (ICD-10-CM C7A/D3A/C25.4, a site-coded C code, or the mCODE
  histology-morphology-behavior extension); a secondary cancer by the mCODE
  SecondaryCancerCondition profile, ICD-10-CM C77-C79/C7B, a SNOMED CT metastasis concept
  or an unnegated metastasis phrase -- never by the word "secondary" alone.
* A resource says which cancer it is about through ``focus``, ``reasonReference`` or a
  related-condition extension (FHIR ``condition-related``, mCODE
  ``mcode-related-primary-cancer-condition`` / ``mcode-related-condition``).
"""

from __future__ import annotations

from typing import Any

from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.context import Ctx
from netcds.fhir.read import Res, cc_text, codings, extensions, has_profile
from netcds.fhir.wording import metastasis_words

UNCONFIRMED = ("unconfirmed", "provisional", "differential")
SKIP_OBS_STATUS = ("entered-in-error", "cancelled", "registered")  # Observations never read
RELATED_EXTENSIONS = (
    "condition-related",
    "mcode-related-primary-cancer-condition",
    "mcode-related-condition",
)
NE_WORDS = ("neuroendocrine", "carcinoid", "islet cell", "insulinoma", "gastrinoma", "glucagonoma", "vipoma",
            "somatostatinoma", "small cell carcinoma", "paraganglioma")  # fmt: skip


# ---- verification and clinical status -----------------------------------------------------------
def status_code(res: Res, key: str) -> str | None:
    for _, code, _ in codings(res.data.get(key)):
        return code
    return None


def refuted(res: Res) -> bool:
    return status_code(res, "verificationStatus") == "refuted"


def in_error(res: Res) -> bool:
    return status_code(res, "verificationStatus") == "entered-in-error"


def unconfirmed(res: Res) -> str | None:
    """The verification status when it is unconfirmed, provisional or differential, else None."""
    code = status_code(res, "verificationStatus")
    return code if code in UNCONFIRMED else None


def active(res: Res) -> bool:
    clinical = status_code(res, "clinicalStatus")
    return clinical in (None, "active", "recurrence", "relapse")


# ---- codes ------------------------------------------------------------------------------------------
def icd10(code: str) -> str:
    """Normalise an ICD-10(-CM) code to dotted upper case (C7A012 -> C7A.012)."""
    c = code.strip().upper()
    if len(c) > 3 and "." not in c:
        c = c[:3] + "." + c[3:]
    return c


def icd_codes(res: Res) -> list[str]:
    return [icd10(c) for s, c, _ in codings(res.data.get("code")) if s == C.ICD10]


def topography(code: str) -> str | None:
    c = icd10(code)
    best: tuple[int, str] | None = None
    for row in C.SITE_TOPOGRAPHY:
        if c.startswith(row.code) and (best is None or len(row.code) > best[0]):
            best = (len(row.code), row.target)
    return best[1] if best else None


def syndrome_of(res: Res) -> str | None:
    for system, code, _ in codings(res.data.get("code")):
        key = icd10(code) if system == C.ICD10 else code
        row = C.lookup(C.SYNDROME, system, key)
        if row:
            return row.target.split("+=")[1]
    return None


def _secondary_by_code(res: Res) -> bool:
    if any(c.startswith(("C77", "C78", "C79", "C7B")) for c in icd_codes(res)):
        return True
    return any(
        s == C.SNOMED and C.lookup(C.SECONDARY, C.SNOMED, c) for s, c, _ in codings(res.data.get("code"))
    )


def _primary_by_code(res: Res) -> bool:
    icds = icd_codes(res)
    if any(c.startswith(("C7A", "D3A")) or c == "C25.4" for c in icds):
        return True
    if any(c.startswith("C") and topography(c) for c in icds):
        return True
    return bool(extensions(res.data, "mcode-histology-morphology-behavior"))


def is_secondary(res: Res) -> bool:
    if has_profile(res, "mcode-secondary-cancer-condition"):
        return True
    if has_profile(res, "mcode-primary-cancer-condition"):
        return False
    if _secondary_by_code(res):
        return True
    if _primary_by_code(res) or syndrome_of(res):
        return False
    return metastasis_words(cc_text(res.data.get("code"))) is True


def is_primary(res: Res) -> bool:
    if has_profile(res, "mcode-primary-cancer-condition"):
        return True
    if is_secondary(res) or syndrome_of(res):
        return False
    return _primary_by_code(res)


def tumor_in_words_only(res: Res) -> bool:
    """A Condition that names a neuroendocrine tumour in words but has no cancer profile or code."""
    text = cc_text(res.data.get("code")).lower()
    if not any(w in text for w in NE_WORDS) or "non-small cell" in text:
        return False
    if any(w in text for w in ("syndrome", "heart", "valve", "valvular", "crisis", "history of", "family")):
        return False
    return any(w in text for w in ("tumor", "tumour", "neoplasm", "carcinoma", "cancer", "carcinoid", " net"))


# ---- which cancer a resource is about -----------------------------------------------------------------
def cancer_refs(res: Res) -> list[tuple[str, dict[str, Any]]]:
    """``(element, reference)`` for every place the resource names the condition it is about."""
    out: list[tuple[str, dict[str, Any]]] = []
    for key in ("focus", "reasonReference"):
        for ref in res.data.get(key) or []:
            if isinstance(ref, dict) and ref.get("reference"):
                out.append((key, ref))
    for ext in res.data.get("extension") or []:
        ref = ext.get("valueReference")
        if (
            str(ext.get("url", "")).endswith(RELATED_EXTENSIONS)
            and isinstance(ref, dict)
            and ref.get("reference")
        ):
            out.append((str(ext["url"]).rsplit("/", 1)[-1], ref))
    return out


def _condition_about(ctx: Ctx, cond: Res, primary: Res, depth: int = 0) -> str | None:
    """'net' / 'other' when a Condition is (or belongs to) the evaluated primary or another cancer."""
    if cond is primary or cond.loc in ctx.same_tumor:
        return "net"
    if cond in ctx.other_primaries or is_primary(cond):
        return "other"
    if syndrome_of(cond):
        return "net"  # hormone syndromes come from the neuroendocrine tumour
    if is_secondary(cond) and depth == 0:
        verdict = about(ctx, cond, primary, depth=1)[0]
        if verdict != "unstated":
            return verdict
        return "net" if not ctx.other_primaries else None
    return None


def about(ctx: Ctx, res: Res, primary: Res | None = None, depth: int = 0) -> tuple[str, str]:
    """``('net' | 'other' | 'unstated', the reference that decided)`` for one resource.

    A reference to a Condition that is not in the input is taken as naming another
    condition than the evaluated primary (which is in the input): 'other'."""
    primary = primary if primary is not None else ctx.primary
    if primary is None:
        return "unstated", ""
    verdicts: list[tuple[str, str]] = []
    for how, ref in cancer_refs(res):
        target = ctx.resolve(ref)
        name = str(ref.get("reference"))
        if target is None:
            if "Condition/" in name:
                verdicts.append(("other", f"{how} {name} (not in the input)"))
            continue
        if target.rtype != "Condition":
            continue
        verdict = _condition_about(ctx, target, primary, depth)
        if verdict:
            verdicts.append((verdict, f"{how} {target.ref}"))
    for wanted in ("net", "other"):
        for verdict, why in verdicts:
            if verdict == wanted:
                return verdict, why
    return "unstated", ""


def for_the_net(ctx: Ctx, res: Res, what: str = "") -> bool:
    """False (and reported) when the resource says it is about another cancer than the evaluated primary.

    When it does not say and the record has more than one primary cancer, it is used
    for the evaluated primary, with a caveat added to whatever it maps."""
    verdict, why = about(ctx, res)
    if verdict == "other" and ctx.primary is not None:
        ctx.unmapped(
            res,
            f"{what + ': ' if what else ''}about another cancer ({why}), not the primary evaluated "
            f"({ctx.primary.ref}); not used for the neuroendocrine tumour",
            res.data.get("code"),
        )
        return False
    if verdict == "unstated" and ctx.other_primaries and ctx.primary is not None:
        ctx.caveats[res.loc] = (
            f"does not say which cancer it is about and the record has {len(ctx.other_primaries) + 1} "
            f"primary cancers; read as about {ctx.primary.ref}"
        )
    return True
