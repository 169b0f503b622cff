"""Matching recorded medication names against the curated interaction lists.

A name is matched case- and spacing-insensitively, ignoring punctuation
("St. John's Wort" = "st johns wort"), a trailing strength or dosage form
("clarithromycin 500 mg tablets"), and a parenthesised note. Brand names and
synonyms map to their generic. A combination written with "/", "+", "," or
"and" is also tried part by part. A name that matches nothing is never read as
safe: it is reported as "not screened".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from netcds.safety.conditions import MedMatch

_FORM_WORDS = frozenset({
    "tablet", "tablets", "tab", "tabs", "capsule", "capsules", "cap", "caps", "oral", "po", "iv", "im", "sc",
    "injection", "solution", "suspension", "syrup", "er", "xr", "sr", "cr", "dr", "la", "xl", "ir", "ec",
    "daily", "bid", "tid", "qid", "qd", "prn", "once", "twice",
})  # fmt: skip
_SPLIT = re.compile(r"\s*(?:/|\+|,|;|\band\b|\bwith\b)\s*")


def normalize(name: str) -> str:
    """Lower case, accents and punctuation dropped, spaces collapsed, parenthesised notes removed."""
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    s = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", s)
    s = re.sub(r"['`.]", "", s)
    s = re.sub(r"[-_:]", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def strip_strength(s: str) -> str:
    """Drop a trailing strength / dosage form: 'clarithromycin 500 mg tablets' -> 'clarithromycin'."""
    words = s.split(" ")
    for i, w in enumerate(words):
        if i > 0 and w[:1].isdigit():
            words = words[:i]
            break
    while len(words) > 1 and words[-1] in _FORM_WORDS:
        words = words[:-1]
    return " ".join(words)


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
        n = normalize(text)
        return self.names.get(n) or self.names.get(strip_strength(n))

    def match(self, index: int, raw: str) -> list[MedMatch]:
        """Screen one recorded medication; unrecognised parts come back with ``generic=None``."""
        generic = self._lookup(raw)
        if generic is not None:
            return [MedMatch(index, raw, generic, self.classes.get(generic, frozenset()))]
        parts = [p for p in _SPLIT.split(normalize(raw)) if p]
        if len(parts) > 1:
            found = [self._lookup(p) for p in parts]
            if any(found):
                out = [
                    MedMatch(index, raw, g, self.classes.get(g, frozenset()))
                    for g in dict.fromkeys(found)
                    if g
                ]
                out += [MedMatch(index, p, None) for p, g in zip(parts, found, strict=True) if g is None]
                return out
        return [MedMatch(index, raw, None)]

    def screen(self, medications: list[str] | None) -> list[MedMatch] | None:
        if medications is None:
            return None
        return [m for i, raw in enumerate(medications) for m in self.match(i, raw)]
