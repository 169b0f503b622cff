"""Reading result words (valueString, CodeableConcept.text) without reading a negated phrase as positive.

Free text is the last resort: coded answers always decide first. A term counts only
within its clause (split at ``; , . ( )`` and "but"); a negation cue up to four words
before it ("no", "not", "without", "negative for", "non-" ...) or right after it
("not detected", "absent", "negative" ...) negates it, in the manner of NegEx
(Chapman et al., J Biomed Inform 2001). When the words say both things, or only
negate without saying the opposite, the answer is unknown (``None``) and the caller
reports it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_CLAUSE = re.compile(r"[;,.()\[\]\n]|\bbut\b|\bhowever\b", re.IGNORECASE)
_PRE_CUE = re.compile(
    r"\b(?:no|not|without|negative\s+for|absence\s+of|free\s+of|lack\s+of|neither|nor|never|denies|"
    r"ruled\s+out)\s+(?:[\w/+-]+\s+){0,4}[\w/+-]*$",
    re.IGNORECASE,
)
_POST_CUE = re.compile(
    r"^\W*(?:is\s+|was\s+|are\s+|were\s+)?(?:not\s+(?:detected|identified|seen|present|found|observed)|"
    r"absent|negative|excluded|ruled\s+out)\b",
    re.IGNORECASE,
)
_NON_PREFIX = re.compile(r"\bnon-?\s*$", re.IGNORECASE)


def clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE.split(text or "") if c and c.strip()]


def _negated(clause: str, start: int, end: int) -> bool:
    before, after = clause[:start], clause[end:]
    if _NON_PREFIX.search(before):
        return True
    if _PRE_CUE.search(before):
        return True
    return bool(_POST_CUE.match(after))


def hits(text: str, terms: Mapping[str, Iterable[str]]) -> list[tuple[str, bool]]:
    """``(label, negated)`` for every term (regular expression) found, clause by clause."""
    out: list[tuple[str, bool]] = []
    for clause in clauses(text):
        for label, patterns in terms.items():
            for pattern in patterns:
                for m in re.finditer(pattern, clause, re.IGNORECASE):
                    out.append((label, _negated(clause, m.start(), m.end())))
    return out


def polarity_words(text: str, positive: Iterable[str], negative: Iterable[str]) -> tuple[bool | None, str]:
    """True/False from words of a two-valued result; a negated term counts as its opposite.

    Returns ``(value, why)``: ``why`` is empty when the value is read, else the reason it
    stays unknown (nothing recognised, or the words contradict each other)."""
    found = hits(text, {"pos": tuple(positive), "neg": tuple(negative)})
    values = {(label == "pos") != negated for label, negated in found}
    if not found:
        return None, "no result words recognised"
    if len(values) > 1:
        return None, f"the words {text!r} say both (a negated phrase read as its opposite)"
    return values.pop(), ""


def one_of(text: str, terms: Mapping[str, Iterable[str]]) -> tuple[str | None, str]:
    """The single label named (not negated) by the words, else ``(None, why)``.

    A negated term never counts as another label: "MSI-high not detected" alone is not
    "stable" (it could be MSI-low)."""
    found = hits(text, terms)
    named = {label for label, negated in found if not negated}
    if len(named) == 1:
        return named.pop(), ""
    if len(named) > 1:
        return None, f"the words {text!r} name several results ({', '.join(sorted(named))})"
    if found:
        return None, f"the words {text!r} only negate a result"
    return None, "no result words recognised"


METASTASIS_TERMS = (
    r"\bmetasta(?:sis|ses|tic|sized|sised)\b",
    r"\bsecondary\s+(?:malignant|carcinoid|neuroendocrine|neoplasms?|cancers?|tumou?rs?|deposits?)\b",
)


def metastasis_words(text: str) -> bool | None:
    """True when the words name a metastasis, False when they only negate one, None when silent.

    The word "secondary" alone never counts ("secondary hypertension", "secondary
    diabetes", "secondary lymphedema")."""
    found = hits(text, {"m": METASTASIS_TERMS})
    if not found:
        return None
    return any(not negated for _, negated in found)
