"""Matching recorded medication names against the curated interaction lists.

A name is matched case- and spacing-insensitively, ignoring punctuation
("St. John's Wort" = "st johns wort"), a strength ("clarithromycin 500 mg"),
dosage-form, release and route words ("ER", "extended-release", "tablet",
"oral"), salt words ("verapamil HCl", "warfarin sodium") and a parenthesised
note. Brand names and synonyms map to their generic. A combination written with
"/", "+", ",", "and", "with" or a hyphen between two names
("lisinopril-hydrochlorothiazide") is also tried part by part, after the whole
name (so a listed hyphenated name such as "co-trimoxazole" stays one drug). A
topical, ophthalmic or otic form of a listed drug ("ketoconazole 2% shampoo")
is recognised but not matched: it is reported as not screened for systemic
interaction. A name that matches nothing is never read as safe: it is reported
as "not screened".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from netcds.safety.condition_eval import MedMatch

_FORM_WORDS = frozenset({
    "tablet", "tablets", "tab", "tabs", "capsule", "capsules", "cap", "caps", "oral", "po", "iv", "im", "sc",
    "injection", "solution", "suspension", "syrup", "er", "xr", "sr", "cr", "dr", "la", "xl", "ir", "ec",
    "daily", "bid", "tid", "qid", "qd", "prn", "once", "twice",
})  # fmt: skip
# words that qualify a product without naming another ingredient: release, dosage form, route, salt
_QUALIFIERS = _FORM_WORDS | frozenset({
    "extended", "delayed", "sustained", "controlled", "modified", "immediate", "prolonged", "release",
    "released", "odt", "orally", "disintegrating", "dispersible", "chewable", "film", "coated", "enteric",
    "ds", "ss", "mg", "mcg", "ml", "unit", "units", "by", "mouth", "liquid", "elixir", "concentrate",
    "sodium", "disodium", "potassium", "calcium", "magnesium", "hydrochloride", "dihydrochloride", "hcl",
    "hydrobromide", "hbr", "maleate", "malate", "mesylate", "dimesylate", "besylate", "succinate",
    "ethylsuccinate", "tartrate", "bitartrate", "citrate", "sulfate", "phosphate", "acetate", "fumarate",
    "hyclate", "gluconate", "lactate", "lactobionate", "stearate", "estolate", "tosylate", "monohydrate",
    "dihydrate", "trihydrate", "anhydrous", "base",
})  # fmt: skip
# forms applied to skin, eye or ear: a listed drug in such a form is not screened as a systemic interaction
_LOCAL_WORDS = frozenset({
    "shampoo", "cream", "gel", "ointment", "lotion", "topical", "topically", "foam", "cutaneous",
    "ophthalmic", "otic", "eye", "eyes", "ear", "ears", "drops", "opth", "ophth",
})  # fmt: skip
_SPLIT = re.compile(r"\s*(?:/|\+|,|;|\band\b|\bwith\b|(?<=[a-z])-(?=[a-z]))\s*")
# hyphenated qualifiers that are one phrase, never two ingredients
_PHRASES = re.compile(
    r"\b(extended|delayed|sustained|controlled|modified|immediate|prolonged|orally|film|enteric)-"
    r"(release|released|disintegrating|coated)\b"
)


def _clean(name: str) -> str:
    """Lower case, accents and punctuation dropped (hyphens kept), parenthesised notes removed."""
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    s = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", s)
    s = re.sub(r"['`.]", "", s)
    s = _PHRASES.sub(r"\1 \2", s)
    s = re.sub(r"[_:]", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def normalize(name: str) -> str:
    """Lower case, accents and punctuation dropped, spaces collapsed, parenthesised notes removed."""
    return re.sub(r"\s+", " ", _clean(name).replace("-", " ")).strip()


def _before_strength(s: str) -> list[str]:
    words = s.split(" ")
    for i, w in enumerate(words):
        if i > 0 and w[:1].isdigit():
            return words[:i]
    return words


def strip_strength(s: str) -> str:
    """Drop a trailing strength / dosage form: 'clarithromycin 500 mg tablets' -> 'clarithromycin'."""
    words = _before_strength(s)
    while len(words) > 1 and words[-1] in _FORM_WORDS:
        words = words[:-1]
    return " ".join(words)


def core_name(s: str) -> str:
    """A normalised name without strength and without any release, form, route or salt word after its
    first word: 'verapamil hcl er 240 mg' -> 'verapamil', 'warfarin sodium 5 mg tablet' -> 'warfarin'."""
    words = _before_strength(s)
    return " ".join(w for i, w in enumerate(words) if i == 0 or w not in _QUALIFIERS | _LOCAL_WORDS)


def _prefixes(s: str) -> list[str]:
    """The name's leading words followed only by strength and qualifier words, longest first: a listed name
    with a number in it ('depo subq provera 104 150 mg') is found before its strength is cut."""
    words = s.split(" ")
    out = []
    for k in range(len(words), 0, -1):
        out.append(" ".join(words[:k]))
        last = words[k - 1]
        if not (last[:1].isdigit() or last in _QUALIFIERS or last in _LOCAL_WORDS):
            break
    return out


def _is_local(s: str) -> bool:
    return not _LOCAL_WORDS.isdisjoint(s.split(" "))


@dataclass
class Registry:
    """Normalised name -> generic; generic -> its interaction classes."""

    names: dict[str, str] = field(default_factory=dict)
    classes: dict[str, frozenset[str]] = field(default_factory=dict)

    def add(self, key: str, generic: str) -> str | None:
        """Register a spelling; returns the clashing generic when the spelling is already taken."""
        k = normalize(key)
        have = self.names.get(k)
        if have is not None and have != generic:
            return have
        self.names[k] = generic
        return None

    def _lookup(self, text: str) -> str | None:
        cleaned = _clean(text)
        # a hyphen between two names may be a listed combination written "a/b" or "a and b"
        joined = re.sub(r"(?<=[a-z])-(?=[a-z])", " and ", cleaned)
        spellings = dict.fromkeys([cleaned, cleaned.replace("-", "/"), joined])
        for spelling in spellings:
            n = re.sub(r"\s+", " ", spelling.replace("-", " ")).strip()
            for key in (*_prefixes(n), " ".join(_before_strength(n)), strip_strength(n), core_name(n)):
                if key in self.names:
                    return self.names[key]
        return None

    def _one(self, index: int, raw: str, generic: str, text: str) -> MedMatch:
        """``raw`` recognised as ``generic`` (``text``: the part of it that names the drug, with its form)."""
        if _is_local(normalize(text)):
            return MedMatch(index, raw, None, local=generic)
        return MedMatch(index, raw, generic, self.classes.get(generic, frozenset()))

    def match(self, index: int, raw: str) -> list[MedMatch]:
        """Screen one recorded medication; unrecognised parts come back with ``generic=None`` (a topical or
        local form of a listed drug also, with ``local`` naming the drug)."""
        generic = self._lookup(raw)
        if generic is not None:
            return [self._one(index, raw, generic, raw)]
        parts = [p for p in _SPLIT.split(_clean(raw)) if p and core_name(normalize(p)) not in _QUALIFIERS]
        if len(parts) > 1:
            found = [self._lookup(p) for p in parts]
            if any(found):
                known = {g: p for p, g in reversed(list(zip(parts, found, strict=True))) if g}
                out = [self._one(index, raw, g, known[g]) for g in dict.fromkeys(g for g in found if g)]
                return out + [
                    MedMatch(index, p, None) for p, g in zip(parts, found, strict=True) if g is None
                ]
        return [MedMatch(index, raw, None)]

    def screen(self, medications: list[str] | None) -> list[MedMatch] | None:
        if medications is None:
            return None
        return [m for i, raw in enumerate(medications) for m in self.match(i, raw)]
