"""Which Conditions are cancers, how sure the record is of them, and which cancer a resource is about.

* Verification (HL7 condition-ver-status): ``refuted`` and ``entered-in-error`` are
  never used as present; ``unconfirmed``, ``provisional`` and ``differential`` are not
  confirmed either, so they leave the fact unknown (reported), never true.
* A Condition is a primary cancer by the mCODE PrimaryCancerCondition profile or a cancer
  code (ICD-10-CM C7A/D3A/C25.4, a site-coded C code, or the mCODE
  histology-morphology-behavior extension); a secondary cancer by the mCODE
  SecondaryCancerCondition profile, ICD-10-CM C77-C79/C7B, a SNOMED CT metastasis concept
  or an unnegated metastasis phrase -- never by the word "secondary" alone.
* Any other ICD-10-CM primary malignant neoplasm (C00-C96 less C7A, C77-C80, e.g. C50.912) is
  another cancer (``other_cancer``): never a candidate for the evaluated primary and never a
  metastasis, but what names it is not about the neuroendocrine tumour, and it counts as one
  more primary cancer for the "does not say which cancer" caveat.
* A resource says which cancer it is about through ``focus``, ``reasonReference``, a
  related-condition extension (FHIR ``condition-related``, mCODE
  ``mcode-related-primary-cancer-condition`` / ``mcode-related-condition``) or a
  ``reasonCode`` (read like a reasonReference to a Condition with that code: the code of a
  Condition in the record, an ICD-10-CM NET code, or another ICD-10-CM primary cancer). An
  Observation that names none of these and is a ``hasMember`` of another Observation (a TNM
  category under its stage group) is about what its parent is about.
"""

from __future__ import annotations

import re
from typing import Any

from netcds.facts import SMALL_BOWEL_SITES
from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir import tumor_codes as T  # noqa: N812
from netcds.fhir.context import Ctx
from netcds.fhir.dating import condition_after
from netcds.fhir.read import Res, cc_text, code_label, codings, extensions, has_profile
from netcds.fhir.wording import Reading, metastasis_words, not_plain, readings

UNCONFIRMED = ("unconfirmed", "provisional", "differential")
SKIP_OBS_STATUS = ("entered-in-error", "cancelled", "registered")  # Observations never read
# Observation statuses never read as a result: SKIP_OBS_STATUS and ``unknown`` (FHIR R4: the source does not
# know which status applies, so the result may be preliminary or entered in error). Such an Observation still
# counts as recorded where that matters (mcode._grading_recorded: a grade recorded but not usable).
UNREAD_OBS_STATUS = (*SKIP_OBS_STATUS, "unknown")
RELATED_EXTENSIONS = (
    "condition-related",
    "mcode-related-primary-cancer-condition",
    "mcode-related-condition",
)
# ICD-10-CM primary malignant neoplasms (C00-C96, with C4A Merkel cell carcinoma and C7A malignant NETs);
# C77-C79 and C7B are secondary, C80 is the unknown-primary site code
_ICD_MALIGNANT = re.compile(r"C(\d\d|4A|7A)(\..*)?")
SECONDARY_ICD = ("C77", "C78", "C79", "C7B")
NET_ICD = ("C7A", "D3A")  # + C25.4 (malignant neoplasm of the endocrine pancreas)
NE_WORDS = ("neuroendocrine", "carcinoid", "islet cell", "insulinoma", "gastrinoma", "glucagonoma", "vipoma",
            "somatostatinoma", "small cell carcinoma", "paraganglioma")  # fmt: skip
# NE_WORDS as words (a plural too), read with the negation and hedging of netcds.fhir.wording: "non-
# neuroendocrine", "no evidence of carcinoid tumour" negate them, and "noncarcinoid" or "pseudocarcinoid"
# do not hold them at all
NE_TERMS: dict[str, tuple[str, ...]] = {"ne": tuple(rf"\b{re.escape(w)}s?\b" for w in NE_WORDS)}
_TUMOR_WORD = re.compile(
    r"\b(?:tumou?rs?|neoplasms?|carcinomas?|cancers?|carcinoids?|nets?)\b", re.IGNORECASE
)
# a Condition naming these beside a neuroendocrine word is about a syndrome, the heart, the past, a relative
_NOT_THE_TUMOR = re.compile(
    r"\b(?:syndromes?|heart|valves?|valvular|crisis|crises|history\s+of|family)\b", re.IGNORECASE
)
# SNOMED CT morphology codes read as a neuroendocrine ICD-O-3 morphology (the table: netcds.fhir.tumor_codes)
NE_SNOMED_MORPHOLOGY = frozenset(
    code
    for code, _, icdo3, _ in (*T.MORPHOLOGY_SNOMED_NET, *T.MORPHOLOGY_SNOMED_MCODE)
    if icdo3.split("/")[0] in C.NEUROENDOCRINE_MORPHOLOGY
)


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


def net_icd(code: str) -> bool:
    """An ICD-10-CM code of a neuroendocrine tumour netcds maps (C7A, D3A, C25.4) or its metastasis (C7B)."""
    c = icd10(code)
    return c.startswith((*NET_ICD, "C7B")) or c == "C25.4"


def malignant_icd(code: str) -> bool:
    """An ICD-10-CM primary malignant neoplasm code (C00-C96 less the secondary C77-C79/C7B)."""
    c = icd10(code)
    m = _ICD_MALIGNANT.fullmatch(c)
    if m is None or c.startswith(SECONDARY_ICD):
        return False
    return not m.group(1).isdigit() or int(m.group(1)) <= 96


def _secondary_by_code(res: Res) -> bool:
    if any(c.startswith(SECONDARY_ICD) for c in icd_codes(res)):
        return True
    return any(
        s == C.SNOMED and C.lookup(C.SECONDARY, C.SNOMED, c) for s, c, _ in codings(res.data.get("code"))
    )


def _primary_by_code(res: Res) -> bool:
    icds = icd_codes(res)
    if any(c.startswith(NET_ICD) or c == "C25.4" for c in icds):
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
    if _primary_by_code(res) or _other_cancer_by_code(res) or syndrome_of(res):
        return False
    return metastasis_words(cc_text(res.data.get("code"))) is True


def _other_cancer_by_code(res: Res) -> bool:
    return any(malignant_icd(c) and not net_icd(c) and not topography(c) for c in icd_codes(res))


def other_cancer(res: Res) -> bool:
    """A Condition coded only as another primary cancer in ICD-10-CM (C50.912 breast, C61 prostate ...):
    not a neuroendocrine tumour netcds maps, not a site it maps, not a metastasis."""
    return _other_cancer_by_code(res) and not is_primary(res) and not is_secondary(res)


def other_cancers(ctx: Ctx) -> list[Res]:
    """The other primary cancers of the record: those ``choose_primary`` set aside and the Conditions that
    are ``other_cancer`` (confirmed or not stated, not dated after the record date)."""
    extra = [
        r
        for r in ctx.of_type("Condition")
        if other_cancer(r)
        and not (refuted(r) or in_error(r) or unconfirmed(r))
        and (ctx.as_of is None or condition_after(r, ctx.as_of) is None)
    ]
    return ctx.other_primaries + extra


def is_primary(res: Res) -> bool:
    if has_profile(res, "mcode-primary-cancer-condition"):
        return True
    if is_secondary(res) or syndrome_of(res):
        return False
    return _primary_by_code(res)


def ne_morphology_code(cc: Any) -> str | None:
    """The first coding of ``cc`` that is a neuroendocrine morphology (ICD-O-3, or SNOMED CT as
    netcds.fhir.tumor_codes reads it), as "SNOMED CT morphology code 1286767006", else None."""
    for system, code, _ in codings(cc):
        if system == C.SNOMED and code in NE_SNOMED_MORPHOLOGY:
            return f"SNOMED CT morphology code {code}"
        if system == C.ICDO3 and code.split("/")[0].strip() in C.NEUROENDOCRINE_MORPHOLOGY:
            return f"ICD-O-3 morphology code {code}"
    return None


def ne_readings(text: str) -> list[Reading]:
    """Each neuroendocrine word (:data:`NE_TERMS`) in ``text`` as netcds.fhir.wording reads it (negated,
    hedged); none in a non-small cell carcinoma, which is no neuroendocrine one."""
    return [] if "non-small cell" in text.lower() else readings(text, NE_TERMS)


def tumor_named_only(res: Res) -> str | None:
    """How a Condition with no cancer profile or code names a neuroendocrine tumour: "in words" (an unnegated
    neuroendocrine word beside a tumour word, not about a syndrome, the heart or a history) or "by its
    <morphology code>" (a morphology is no diagnosis of a cancer with a site); None when it names none."""
    cc = res.data.get("code")
    if code := ne_morphology_code(cc):
        return f"by its {code}"
    text = cc_text(cc)
    if all(r.negated for r in ne_readings(text)) or _NOT_THE_TUMOR.search(text):
        return None
    return "in words" if _TUMOR_WORD.search(text) else None


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
    if cond in ctx.other_primaries or is_primary(cond) or other_cancer(cond):
        return "other"
    if syndrome_of(cond):
        return "net"  # hormone syndromes come from the neuroendocrine tumour
    if is_secondary(cond) and depth == 0:
        verdict = about(ctx, cond, primary, depth=1)[0]
        if verdict != "unstated":
            return verdict
        return "net" if not other_cancers(ctx) else None
    return None


def _ref_verdicts(ctx: Ctx, res: Res, primary: Res, depth: int) -> list[tuple[str, str]]:
    """Verdicts of the references a resource names (``focus``, ``reasonReference``, extensions)."""
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
    return verdicts


def _keys(cc: Any) -> set[tuple[str, str]]:
    return {(s, icd10(c) if s == C.ICD10 else c) for s, c, _ in codings(cc) if c}


def _site_about(ctx: Ctx, code: str, primary: Res) -> str | None:
    """An ICD-10-CM primary cancer code against the evaluated primary: the primary when it is the primary's
    site; another cancer when it is another organ, or an organ netcds does not map (C50 breast) while the
    primary is a NET at a mapped site or recorded as neuroendocrine; unsaid when either is unknown (a non-NET
    primary, refused anyway, may be that very cancer), the organ is the same at another level of detail, or
    another primary cancer of the record is in the same organ."""
    from netcds.fhir.conditions import site_from_condition  # conditions imports this module

    site, own = topography(code), site_from_condition(primary)[0]
    if site is None:
        return "other" if own is not None or recorded_as_net(primary) else None
    if own is None or "unknown_primary" in (site, own):
        return None
    if _organ(site) != _organ(own):
        return "other"
    if site != own or any(_organ(site_from_condition(r)[0] or "") == _organ(own) for r in other_cancers(ctx)):
        return None
    return "net"


def recorded_as_net(primary: Res) -> bool:
    """The primary's code or morphology says neuroendocrine (ICD-10-CM NET code, ICD-O-3 or SNOMED CT NE
    morphology, neuroendocrine words stated plainly: not negated, not hedged)."""
    if any(net_icd(c) for c in icd_codes(primary)) or ne_morphology_code(primary.data.get("code")):
        return True
    for ext in extensions(primary.data, "mcode-histology-morphology-behavior"):
        if ne_morphology_code(ext.get("valueCodeableConcept")):
            return True
    text = cc_text(primary.data.get("code"))
    found = ne_readings(text)
    return bool(found) and not not_plain(found)


def _organ(site: str) -> str:
    if site in SMALL_BOWEL_SITES:
        return "small_bowel"
    if site in ("cecum", "appendix") or site.startswith("colon"):
        return "colon"
    return site


def _code_about(ctx: Ctx, cc: Any, primary: Res, depth: int) -> tuple[str, str] | None:
    """What a ``reasonCode`` says, read as a reasonReference to a Condition with that code would be."""
    keys = _keys(cc)
    label = f"reasonCode {code_label(cc)}"
    found: list[tuple[str, str]] = []
    for cond in ctx.of_type("Condition"):
        if keys & _keys(cond.data.get("code")):
            verdict = _condition_about(ctx, cond, primary, depth)
            if verdict:
                found.append((verdict, f"{label}, the code of {cond.ref}"))
    for wanted in ("net", "other"):
        for verdict, why in found:
            if verdict == wanted:
                return verdict, why
    for system, code in sorted(keys):
        if system != C.ICD10:
            continue
        if net_icd(code):
            return "net", f"{label}, a neuroendocrine tumour code"
        if malignant_icd(code) and (verdict := _site_about(ctx, code, primary)) is not None:
            how = "the primary's site" if verdict == "net" else "another primary cancer"
            return verdict, f"{label}, {how}"
    return None


def _own_verdicts(ctx: Ctx, res: Res, primary: Res, depth: int) -> list[tuple[str, str]]:
    verdicts = _ref_verdicts(ctx, res, primary, depth)
    for cc in res.data.get("reasonCode") or []:
        if isinstance(cc, dict) and (verdict := _code_about(ctx, cc, primary, depth)) is not None:
            verdicts.append(verdict)
    return verdicts


def parents(ctx: Ctx, res: Res) -> list[Res]:
    """The Observations that list ``res`` in their ``hasMember`` (e.g. the stage group of a TNM category);
    the index is built once per mapping (``ctx.parents``)."""
    if ctx.parents is None:
        ctx.parents = {}
        for obs in ctx.of_type("Observation"):
            for ref in obs.data.get("hasMember") or []:
                member = ctx.resolve(ref)
                if member is not None and member is not obs:
                    ctx.parents.setdefault(member.loc, []).append(obs)
    return ctx.parents.get(res.loc, [])


def _inherited(ctx: Ctx, res: Res, primary: Res, depth: int) -> list[tuple[str, str]]:
    """An Observation that does not say which cancer it is about takes what its parent Observation
    (``hasMember``) says, up the chain of parents."""
    seen = {res.loc}
    level = [res]
    for _ in range(5):
        nxt: list[Res] = []
        verdicts: list[tuple[str, str]] = []
        for child in level:
            for parent in parents(ctx, child):
                if parent.loc in seen:
                    continue
                seen.add(parent.loc)
                nxt.append(parent)
                verdicts += [
                    (verdict, f"{why} of {parent.ref}, which lists {child.ref} in hasMember")
                    for verdict, why in _own_verdicts(ctx, parent, primary, depth)
                ]
        if verdicts or not nxt:
            return verdicts
        level = nxt
    return []


def about(ctx: Ctx, res: Res, primary: Res | None = None, depth: int = 0) -> tuple[str, str]:
    """``('net' | 'other' | 'unstated', the reference that decided)`` for one resource.

    A reference to a Condition that is not in the input is taken as naming another
    condition than the evaluated primary (which is in the input): 'other'. When the
    resource names both, the evaluated primary wins."""
    primary = primary if primary is not None else ctx.primary
    if primary is None:
        return "unstated", ""
    verdicts = _own_verdicts(ctx, res, primary, depth)
    if not verdicts and res.rtype == "Observation":
        verdicts = _inherited(ctx, res, primary, depth)
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
    others = other_cancers(ctx) if verdict == "unstated" else []
    if others and ctx.primary is not None:
        ctx.caveats[res.loc] = (
            f"does not say which cancer it is about and the record has {len(others) + 1} "
            f"primary cancers; read as about {ctx.primary.ref}"
        )
    return True
