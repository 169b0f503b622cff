"""The histology of a primary cancer: neuroendocrine or not, differentiation, lung subtype, grade fallback
and functional syndromes, from an ICD-O-3 morphology coding or the words of a concept; taken from the
Condition's morphology extension, the newest histology Observation about it, or its code."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.context import Ctx
from netcds.fhir.dating import newest_first
from netcds.fhir.precedence import not_known_then
from netcds.fhir.read import Res, cc_text, codings, extensions, has_profile
from netcds.fhir.scope import UNREAD_OBS_STATUS, about, icd_codes, ne_readings
from netcds.fhir.wording import brief, not_plain, readings

NON_NE_WORDS = (
    "non-small cell", "adenocarcinoma", "ductal", "duct carcinoma", "lobular", "leukemia", "leukaemia",
    "lymphoma", "myeloma", "melanoma", "sarcoma", "squamous", "breast", "prostate", "glioma", "blastoma",
)  # fmt: skip
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
ATYPICAL_WORDS: dict[str, tuple[str, ...]] = {"atypical": (r"\batypical\s+carcinoid",)}
MERKEL_NOTE = (
    "Merkel cell carcinoma (ICD-O-3 8247/3), a primary neuroendocrine carcinoma of the skin, which the NET "
    "guideline tables netcds encodes do not cover"
)
_DIFF = {"well": "well differentiated", "poor": "poorly differentiated"}
# the lung carcinomas managed under the small cell lung cancer guideline, not the NET one (the CDS Hooks
# services answer none of them): by ICD-O-3 morphology, and by their names in words
SMALL_CELL = "small cell carcinoma"
LARGE_CELL_NE = "large cell neuroendocrine carcinoma"
LUNG_CARCINOMA_MORPHOLOGY = {"8041": SMALL_CELL, "8042": SMALL_CELL, "8043": SMALL_CELL, "8044": SMALL_CELL,
                             "8045": SMALL_CELL, "8013": LARGE_CELL_NE}  # fmt: skip
LUNG_CARCINOMA_WORDS: dict[str, tuple[str, ...]] = {
    SMALL_CELL: (r"(?<!non-)(?<!non )\bsmall[-\s]*cell\b", r"\bsclc\b"),
    LARGE_CELL_NE: (r"\blarge[-\s]*cell\s+neuroendocrine\b", r"\blcnec\b"),
}
# differentiation in words, by tier: the explicit words first, then a tumour type that is poorly
# differentiated by definition, then "tumour"/"carcinoid" (a NET, well differentiated). The first tier the
# words hold decides; a negated or hedged term there ("not well differentiated", "possibly poorly
# differentiated"), or both values in it, leaves differentiation unknown (no fall through to a later tier).
DIFF_TIERS: tuple[dict[str, tuple[str, ...]], ...] = (
    {
        # "well to poorly differentiated": both named
        "well": (
            r"\bwell[-\s]*differentiated\b",
            r"\bwell(?=\s*(?:-|/|to|or|and)\s*(?:moderately|poorly)\b)",
        ),
        "poor": (r"\bpoorly[-\s]*differentiated\b",),
    },
    {"poor": (r"\bneuroendocrine\s+carcinomas?\b", r"\bsmall[-\s]*cell\b")},
    {"well": (r"\btumou?rs?\b", r"\bcarcinoids?\b")},
)


def _explicit(text: str, terms: Mapping[str, tuple[str, ...]]) -> bool:
    """The words name the term, neither negated nor hedged ("possibly grade 1" is not grade 1)."""
    found = readings(text, terms)
    return bool(found) and all(not r.negated and not r.unsure for r in found)


def differentiation_words(text: str) -> tuple[str | None, str]:
    """Differentiation from the words of a neuroendocrine histology (:data:`DIFF_TIERS`) and, when the
    words name it but cannot be read, why it stays unknown."""
    for terms in DIFF_TIERS:
        found = readings(text, terms)
        if not found:
            continue
        said = f"differentiation not taken from the histology words {brief(text)!r}"
        if why := not_plain(found):
            return None, f"{said}: they {why}"
        named = sorted({r.label for r in found})
        if len(named) > 1:
            return None, f"{said}: they name both ({', '.join(_DIFF[n] for n in named)})"
        return named[0], ""
    return None, ""


@dataclass
class Histology:
    neuroendocrine: bool | None = None
    differentiation: str | None = None
    lung_subtype: str | None = None
    gep_grade_fallback: str | None = None
    syndromes: list[str] = field(default_factory=list)
    label: str = ""
    source: Res | None = None  # an Observation that carried the histology, if not the Condition
    unstated: str = ""  # why the grade / lung subtype (or differentiation, from words) is not taken from it
    superseded: list[Res] = field(default_factory=list)  # older histology Observations
    tied: list[Res] = field(default_factory=list)  # other newest histology Observations (no date order)
    conflict: str = ""  # set when the newest histology Observations disagree: the histology is unknown
    outside: str = ""  # why a neuroendocrine tumour type is outside what netcds covers (Merkel cell)
    unread: bool = False  # only codes netcds does not know and no words: nothing read (``unstated``: why)
    unread_note: str = ""  # why the Condition's morphology extension was not read (reported on the Condition)
    # Observations disagreeing with the Condition's morphology on differentiation (then it is unknown)
    disagree: list[Res] = field(default_factory=list)
    # a small cell or large cell neuroendocrine carcinoma (by morphology or plain words): of the lung, it is
    # managed under another guideline than the NET one (netcds.fhir.mcode, MappingReport.other_guideline)
    carcinoma_type: str = ""


def _from_icdo3(
    morph: str, behaviour: str | None, label: str, words: str, lung: bool, named: str
) -> Histology:
    """Histology from an ICD-O-3 morphology (``8240``) and behaviour (``3``; None when not written).
    ``words`` are those that may say grade 1 or typical carcinoid; ``named`` how the code is named in the
    report ("ICD-O-3 8240/3", or the SNOMED CT concept read as it)."""
    if morph == "8243":
        return Histology(neuroendocrine=False, label=f"{label} (goblet cell adenocarcinoma: {GOBLET_NOTE})")
    if morph == C.MERKEL_MORPHOLOGY:
        return Histology(neuroendocrine=False, label=label, outside=MERKEL_NOTE)
    h = Histology(neuroendocrine=morph in C.NEUROENDOCRINE_MORPHOLOGY, label=label)
    if morph in MIXED_MORPHOLOGY:
        h.unstated = MIXED_NOTE
        return h
    if morph in ("8240", "8249", "8241", "8242", "8150", "8151", "8152", "8153", "8155", "8156"):
        h.differentiation = "well"
    if morph in ("8246", "8041", "8013", "8042", "8043", "8044", "8045"):
        h.differentiation = "poor"
    h.carcinoma_type = LUNG_CARCINOMA_MORPHOLOGY.get(morph, "")
    not_taken = "grade" + (" and lung subtype" if lung else "") + " not taken from it"
    if morph == "8240" and behaviour == "1":
        h.unstated = (
            f"{named} is a carcinoid tumour of uncertain malignant potential (behaviour /1: the code does "
            f"not say it is malignant): read as well differentiated (a carcinoid); {not_taken}"
        )
    elif morph == "8240" and (_explicit(words, GRADE1_WORDS) or (lung and _explicit(words, TYPICAL_WORDS))):
        h.lung_subtype, h.gep_grade_fallback = ("typical_carcinoid", None) if lung else (None, "G1")
    elif morph == "8240":
        h.unstated = (
            f"{named} without 'grade 1' or 'typical carcinoid' in its display (ICD-O-3 8240/3 is also "
            f"neuroendocrine tumour NOS and carcinoid NOS): {not_taken}"
        )
    if morph == "8249" and lung:
        h.lung_subtype = "atypical_carcinoid"
    syndrome = {"8151": "insulinoma", "8152": "glucagonoma", "8153": "gastrinoma", "8155": "vipoma",
                "8156": "somatostatinoma"}.get(morph)  # fmt: skip
    if syndrome:
        h.syndromes.append(syndrome)
    return h


def _coded(cc: Any, lung: bool, morphology: bool) -> tuple[Histology | None, list[str]]:
    """Histology from a morphology code of the table: an ICD-O-3 coding first, then a SNOMED CT concept read
    as the ICD-O-3 morphology it names (:data:`netcds.fhir.codes.SNOMED_MORPHOLOGY_ICDO3`), by its code alone
    (no display needed). Also the codes of the concept that are in neither table ("SNOMED 12345")."""
    unknown: list[str] = []
    for system, code, display in codings(cc):
        if system != C.ICDO3:
            continue
        m = _ICDO3.search(code)
        if m:
            label, words = f"ICD-O-3 {code} {display}".strip(), " ".join([display, cc_text(cc)])
            return _from_icdo3(m.group(1), m.group(2), label, words, lung, f"ICD-O-3 {code}"), []
        unknown.append(f"ICD-O-3 {code}")
    for system, code, display in codings(cc) if morphology else []:  # a Condition's code is no morphology
        equiv = C.SNOMED_MORPHOLOGY_ICDO3.get(code) if system == C.SNOMED else None
        if equiv is None:
            if code and system != C.ICDO3:
                unknown.append(f"{system.rsplit('/', 1)[-1]} {code}")
            continue
        row = C.lookup(C.MORPHOLOGY_SNOMED, C.SNOMED, code)
        meaning = row.meaning if row else ""
        named = f"SNOMED CT {code} {display or meaning} (read as ICD-O-3 {equiv})"
        morph, _, behaviour = equiv.partition("/")
        return _from_icdo3(morph, behaviour or None, named, meaning, lung, named), []
    return None, unknown


def histology_from(cc: Any, site: str | None, morphology: bool = True) -> Histology | None:
    """Histology from a morphology code of the table (ICD-O-3, or a SNOMED CT concept by code), else from the
    words of the concept (negated or hedged words are not read). In a ``morphology`` concept (the mCODE
    morphology extension, a histology Observation's value; not a Condition's code) a code in neither table is
    reported.

    ICD-O-3.2 8240/3 is "neuroendocrine tumour, NOS" and "carcinoid, NOS" as well as
    "NET grade 1" / "typical carcinoid": the code alone gives neither a grade nor a lung
    subtype; only its display saying grade 1 (or typical carcinoid) does."""
    lung = site in ("lung", "thymus")
    coded, unknown = _coded(cc, lung, morphology)
    if coded is not None:
        return coded
    h = _from_words(cc_text(cc), lung)
    if not unknown or not morphology:
        return h
    said = f"morphology code {', '.join(unknown)} is not in netcds's code table"
    if h is None:
        return Histology(label=", ".join(unknown), unstated=f"{said} and no words name it", unread=True)
    h.unstated = "; ".join(x for x in (f"{said}: read from its words {brief(h.label)!r}", h.unstated) if x)
    return h


def _from_words(words: str, lung: bool) -> Histology | None:
    """Histology from the words of a concept: neuroendocrine only when the words say so plainly."""
    text = words.lower()
    if not text:
        return None
    h = Histology(label=words)
    if "goblet cell" in text:
        h.neuroendocrine, h.label = False, f"{words} ({GOBLET_NOTE})"
        return h
    if any(w in text for w in MIXED_WORDS):  # before the NE words: "adenoneuroendocrine carcinoma" is no NEC
        h.neuroendocrine, h.unstated = True, MIXED_NOTE
        return h
    said = f"the histology words {brief(words)!r}"
    if merkel := readings(words, {"merkel": (r"\bmerkel\b",)}):
        if why := not_plain(merkel):
            h.unstated = f"{said} {why} (Merkel cell carcinoma): neuroendocrine type not confirmed"
        else:
            h.neuroendocrine, h.outside = False, MERKEL_NOTE
        return h
    found = ne_readings(words)
    if found and (why := not_plain(found)):
        h.unstated = f"neuroendocrine type not taken from {said}: they {why}"
    elif found:
        h.neuroendocrine = True
        h.differentiation, why = differentiation_words(words)
        h.carcinoma_type = next(
            (k for k in LUNG_CARCINOMA_WORDS if _explicit(text, {k: LUNG_CARCINOMA_WORDS[k]})), ""
        )
        if why:
            h.unstated = why
        if lung and _explicit(text, ATYPICAL_WORDS):
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


def _histology_observations(ctx: Ctx, res: Res, site: str | None) -> list[tuple[Res, Histology]]:
    """The usable HistologicBehaviorAndType Observations about a primary cancer, with their histology."""
    found: list[tuple[Res, Histology]] = []
    for obs in ctx.of_type("Observation"):
        if not (
            has_profile(obs, "mcode-histologic-behavior-and-type")
            or any(s == C.LOINC and c == "31206-6" for s, c, _ in codings(obs.data.get("code")))
        ):
            continue
        if str(obs.data.get("status", "")) in UNREAD_OBS_STATUS or about(ctx, obs, res)[0] == "other":
            continue  # map_observations reports these
        if not_known_then(ctx, obs) is not None:
            continue  # issued after the record date, or dated across it: map_observations reports these
        h = histology_from(obs.data.get("valueCodeableConcept"), site)
        if h and not h.unread:  # an unread one is reported by map_observations
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
    HistologicBehaviorAndType Observation about it, else its ICD-10-CM code or words. A morphology
    extension that holds only codes netcds does not know is reported with whatever is read instead."""
    unread: list[str] = []
    for ext in extensions(res.data, "mcode-histology-morphology-behavior"):
        h = histology_from(ext.get("valueCodeableConcept"), site)
        if h and h.unread:
            unread.append(h.unstated)
        elif h:
            return _disagreeing(ctx, res, h, _histology_observations(ctx, res, site)) or h
    h = _histology_otherwise(ctx, res, site)
    if unread:
        h = h or Histology(label="unknown morphology code")
        h.unread_note = f"morphology extension not read: {'; '.join(unread)}"
    return h


def _histology_otherwise(ctx: Ctx, res: Res, site: str | None) -> Histology | None:
    """The histology of a primary cancer without a readable morphology extension (:func:`histology_of`)."""
    found = _histology_observations(ctx, res, site)
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
    goblet = histology_from(res.data.get("code"), site, morphology=False)
    if goblet is not None and goblet.neuroendocrine is False and "goblet" in goblet.label.lower():
        return goblet
    if any(c.startswith("C7A.1") for c in icd_codes(res)):
        return Histology(neuroendocrine=True, differentiation="poor", label="ICD-10-CM C7A.1")
    if any(c.startswith(("C7A", "D3A")) for c in icd_codes(res)):
        return Histology(neuroendocrine=True, label="ICD-10-CM carcinoid tumor code")
    return histology_from(res.data.get("code"), site, morphology=False)
