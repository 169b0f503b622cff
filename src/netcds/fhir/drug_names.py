"""Drug names in FHIR medication resources: the concept a resource names (inline, contained or
referenced Medication), the tabled agents it names (RxNorm CUI first, then names) and the lower-case
generic name of anything else (strength, form and salt words dropped). Used by the treatment mapping
(:mod:`netcds.fhir.treatments`) and the order checks (:mod:`netcds.api.orders`).
"""

from __future__ import annotations

import re
from typing import Any

from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.context import Ctx
from netcds.fhir.read import Res, cc_text, codings
from netcds.fhir.wording import brief, clauses, readings

FORM_WORDS = frozenset((
    "oral", "tablet", "tablets", "capsule", "capsules", "injection", "injectable", "solution", "suspension",
    "extended", "release", "er", "xr", "sr", "cr", "dr", "delayed", "ml", "mg", "mcg", "ug", "g", "hr", "pen",
    "prefilled", "syringe", "powder", "for", "chewable", "film", "coated", "disintegrating", "transdermal",
    "patch", "topical", "cream", "ointment", "nasal", "spray", "inhalation", "inhaler", "ophthalmic", "drops",
    "cartridge", "auto-injector", "vial", "kit", "pack",
))  # fmt: skip
SALT_WORDS = frozenset((
    "hydrochloride", "hcl", "sodium", "potassium", "calcium", "magnesium", "succinate", "tartrate", "maleate",
    "mesylate", "besylate", "citrate", "acetate", "sulfate", "phosphate", "malate", "fumarate", "bromide",
    "hyclate", "monohydrate", "dihydrate",
))  # fmt: skip


DISPLAY_ONLY = " via its medicationReference's display only"  # how a drug named by a display is noted


# ---- concept -> agents / generic name ---------------------------------------------------------------
def medication_concept(ctx: Ctx, res: Res) -> tuple[Any, str]:
    """The drug concept of a medication resource and how it was named: '' (inline), ' via <ref>' (a
    Medication), or ' via its medicationReference's display only (...)' when the Medication is not in the
    record or names no code (EHRs often send only the request, naming the drug in the display)."""
    d = res.data
    if d.get("medicationCodeableConcept"):
        return d["medicationCodeableConcept"], ""
    ref = d.get("medicationReference")
    target = str(ref.get("reference", "")) if isinstance(ref, dict) else ""
    if target.startswith("#"):
        for c in d.get("contained", []) or []:
            if c.get("resourceType") == "Medication" and c.get("id") == target[1:]:
                if c.get("code"):
                    return c.get("code"), f" via contained Medication {target}"
                return _by_display(ref, f"the contained Medication {target} names no drug code")
        return _by_display(ref, f"{target} is not contained in the resource")
    med = ctx.resolve(ref)
    if med is not None and med.rtype == "Medication":
        ctx.use(med)
        if med.data.get("code"):
            return med.data.get("code"), f" via {med.ref}"
        return _by_display(ref, f"{med.ref} names no drug code")
    if med is not None:
        return _by_display(ref, f"{target} is a {med.rtype}, not a Medication")
    return _by_display(ref, f"{target} is not in the record" if target else "")


def _by_display(ref: Any, why: str) -> tuple[Any, str]:
    """The drug as the reference's display names it, said so with ``why`` the Medication did not; else no
    concept."""
    if not isinstance(ref, dict) or not isinstance(ref.get("display"), str) or not ref["display"].strip():
        return None, ""
    return {"text": ref["display"].strip()}, DISPLAY_ONLY + (f" ({why})" if why else "")


# Words that name a device, not a drug given to the patient ("everolimus-eluting coronary stent")
_DEVICE = re.compile(r"\belut(?:ing|es?)\b|\bstents?\b|\bscaffolds?\b|\bballoons?\b", re.IGNORECASE)
# Words that say the drug is not taken, beyond the negation cues of netcds.fhir.wording: before the name in
# its clause ("declined everolimus", "allergic to sunitinib") or right after it ("everolimus: declined")
_NOT_TAKEN = r"(?:declined|declines|refused|refuses|contraindicated|allerg\w*\s+to|intoleran\w*\s+(?:of|to))"
_NOT_TAKEN_BEFORE = re.compile(rf"\b{_NOT_TAKEN}\b", re.IGNORECASE)
_NOT_TAKEN_AFTER = re.compile(
    rf"^\W*(?:(?:is|was|were)\s+)?(?:{_NOT_TAKEN}|not\s+tolerated)\b", re.IGNORECASE
)
# the hedges a drug name is read with (the wider hedge list of netcds.fhir.wording holds words such as
# "partial", "mild" or "may" that a drug's own wording can carry)
_DRUG_HEDGE = re.compile(
    r"\?|\b(?:possible|possibly|probable|probably|suspected|presumed|query)\b", re.IGNORECASE
)
# a negation in a drug's name as read (not "without": "lidocaine without epinephrine" is a drug)
_NEGATED_NAME = re.compile(r"\b(?:no|not|never|denies|nil)\b(?!\.?\s*\d)", re.IGNORECASE)


def _name_not_given(words: str, pattern: str) -> bool:
    """The drug name (``pattern``) is negated ("not on everolimus") or hedged ("?everolimus") in a clause
    that holds it, or said not to be taken ("declined everolimus", "everolimus contraindicated")."""
    if any(r.negated for r in readings(words, {"name": (pattern,)})):
        return True
    for clause in clauses(words):
        for m in re.finditer(pattern, clause):
            before, after = clause[: m.start()], clause[m.end() :]
            if (
                _NOT_TAKEN_BEFORE.search(before)
                or _NOT_TAKEN_AFTER.match(after)
                or _DRUG_HEDGE.search(clause)
            ):
                return True
    return False


def words_not_a_drug(words: str) -> str:
    """Why words naming a drug do not say it is given ("" when they may): a device ("-eluting stent"), or a
    negated or hedged name ("not on everolimus", "possible everolimus")."""
    if m := _DEVICE.search(words):
        return f"the words {brief(words)!r} name a device ({m.group(0)!r}), not a drug given"
    for clause in clauses(words):
        if m := (
            _NOT_TAKEN_BEFORE.search(clause) or _DRUG_HEDGE.search(clause) or _NEGATED_NAME.search(clause)
        ):
            return f"the words {brief(words)!r} negate or hedge the drug ({m.group(0).strip()!r})"
    return ""


def agents_in(cc: Any) -> list[tuple[str, str]]:
    """Tabled agents named by a medication concept: [(agent, how)] (RxNorm CUI first, then names).

    A name counts only when the words use it as a drug given: not beside a device ("everolimus-eluting
    stent": then no name in the words counts) and neither negated nor hedged in its clause ("not on
    everolimus", "no sunitinib", "declined everolimus", "?lanreotide"). A coded RxNorm ingredient decides."""
    found: dict[str, str] = {}
    for system, code, _ in codings(cc):
        if system == C.RXNORM:
            for a in C.AGENTS:
                if a.rxcui == code:
                    found.setdefault(a.agent, f"RxNorm {code}")
    words = " ".join([cc_text(cc), *(d for _, _, d in codings(cc))]).lower()
    if _DEVICE.search(words):
        return list(found.items())
    for a in C.AGENTS:
        for name in a.names:
            pattern = rf"(?<![a-z]){re.escape(name)}(?![a-z])"
            if not re.search(pattern, words):
                continue
            if _name_not_given(words, pattern):
                continue  # negated or hedged here; another name of the agent may still be given
            found.setdefault(a.agent, f"name {name!r}")
            break
    return list(found.items())


def generic_name(cc: Any) -> str | None:
    """Lower-case generic name(s) from a drug concept: 'lisinopril 10 MG Oral Tablet' -> 'lisinopril'; None
    when the words name a device or negate or hedge the drug ('not on warfarin': :func:`words_not_a_drug`)."""
    rx = [d for s, _, d in codings(cc) if s == C.RXNORM and d]
    if rx:
        return name_of_text(rx[0])
    name = name_of_text(cc_text(cc))
    return None if name and words_not_a_drug(name) else name


def name_of_text(text: str) -> str | None:
    """Lower-case generic name(s) in a drug's name as written: each part of a combination
    ('amoxicillin 500 MG / clarithromycin 500 MG' -> 'amoxicillin / clarithromycin'), without a leading
    quantity ('10 ML ketoconazole 20 MG/ML Oral Suspension' -> 'ketoconazole'), strength, form or a salt
    after the base name; None when no name is left."""
    text = re.sub(r"\[[^\]]*\]", " ", text.lower())
    parts = []
    for piece in text.split("/"):
        words = piece.replace(",", " ").split()
        while words and (re.search(r"\d", words[0]) or words[0] in FORM_WORDS):
            words.pop(0)  # a leading quantity such as '10 ML'
        kept: list[str] = []
        for w in words:
            if re.search(r"\d", w) or w in FORM_WORDS:
                break
            kept.append(w)
        core = kept[:1] + [w for w in kept[1:] if w not in SALT_WORDS]  # a salt only after the base name
        if core:
            parts.append(" ".join(core))
    name = " / ".join(parts).strip()
    return name[:200] or None
