"""Reading result words (valueString, CodeableConcept.text) without reading a negated phrase as positive.

Free text is the last resort: coded answers always decide first. A term counts only
within its clause (split at ``; , . ( )`` and "but"); a negation cue up to four words
before it ("no", "not", "without", "negative for", "non-" ...) or after it, directly
or after the rest of its phrase ("not detected", "absent", "negative", "... lesions:
none" ...) negates it, in the manner of NegEx (Chapman et al., J Biomed Inform 2001).
A clause that hedges or qualifies (:data:`UNSURE_CUES`: "possible", "cannot be
excluded", "rule out", "r/o", "equivocal", "no new", "no change in" ...) is not read at all, and a
negation is not read when the words carry an exception ("except", "but" ...: it may
be partial). A negative two-valued result limited to one site ("no SSTR-positive disease
in the liver", "liver lesions are SSTR-negative": :data:`SITE_CUES`) says nothing of the
other sites and is not read either. When the words say both things, hedge, or only negate
without saying the opposite, the answer is unknown (``None``) and the caller reports why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_CLAUSE = re.compile(r"[;,.()\[\]\n]|\bbut\b|\bhowever\b", re.IGNORECASE)
_PRE_CUE = re.compile(
    r"\b(?:no|not|without|negative\s+for|absence\s+of|free\s+of|lack\s+of|neither|nor|never|denies|"
    r"ruled\s+out)\s+(?:[\w/+-]+\s+){0,4}[\w/+-]*$",
    re.IGNORECASE,
)
# after the term: up to three more words of its phrase ("-positive liver lesions"), no conjunction
_PHRASE_REST = r"(?:(?!(?:and|or|with|while|whereas|then)\b)[\w/+-]+\s+){0,3}?"
_POST_CUE = re.compile(
    r"^\W*" + _PHRASE_REST + r"(?:(?:is|was|are|were)\s+)?"
    r"(?:not\s+(?:detected|identified|seen|present|found|observed|demonstrated|visuali[sz]ed)|"
    r"absent|negative|excluded|ruled\s+out)\b",
    re.IGNORECASE,
)
# "SSTR-positive lesions: none" / ": nil" / ": no" - the answer after a colon ends the clause
_POST_ANSWER = re.compile(
    r"^[\w/+\s-]*?:\s*(?:none|nil|no|not\s+seen)(?:\s+(?:seen|identified|detected|found|present|demonstrated))?"
    r"\W*$",
    re.IGNORECASE,
)
_NON_PREFIX = re.compile(r"\bnon-?\s*$", re.IGNORECASE)

UNSURE_CUES: tuple[tuple[str, str], ...] = (
    # (what the cue does, pattern): a clause holding one is not read as positive or negative
    ("not excluded", r"\b(?:cannot|can\s*not|can't|could\s+not|unable\s+to|not\s+able\s+to|difficult\s+to)\s+"
                     r"(?:be\s+)?(?:exclude[ds]?|rule[ds]?\s+out)\b"),
    ("not excluded", r"\bnot\s+(?:be\s+|been\s+)?(?:excluded|ruled\s+out)\b"),
    ("hedged", r"\b(?:possible|possibly|probable|probably|likely|unlikely|presumed|presumably|suspect(?:ed)?|"
               r"suspicious|suggest\w*|equivocal|indeterminate|inconclusive|non-?diagnostic|questionabl[ey]|"
               r"uncertain|unclear|borderline|query|might|could|versus|vs)\b"),
    ("hedged", r"(?<!\d\s)\bmay\b(?!\s+\d)"),
    # "rule out X" / "r/o X" asks whether X is there ("ruled out" is a negation, read above)
    ("hedged", r"\b(?:to\s+)?rule\s+out\b|(?<![\w/])r/o\b"),
    ("hedged", r"\?"),
    ("graded", r"\b(?:weak|faint|minimal|mild|heterogeneous|partial)(?:ly)?\b"),
    ("not assessable", r"\b(?:not|cannot\s+be|could\s+not\s+be)\s+(?:assess\w*|evaluat\w*|interpret\w*|"
                       r"determin\w*)\b"),
    ("not definite", r"\b(?:no|not|without)\s+(?:[\w/+-]+\s+){0,2}?(?:definite\w*|convincing\w*|clear\w*|"
                     r"obvious\w*|unequivocal\w*|certain\w*|significant\w*)"),
    ("about a change", r"\b(?:no|not|without)\s+(?:\w+\s+)?(?:change|new|further|additional|increas\w*|"
                       r"decreas\w*|progress\w*|longer)\b"),
    ("not only", r"\bnot\s+(?:only|necessarily)\b"),
)  # fmt: skip
_UNSURE = [(what, re.compile(p, re.IGNORECASE)) for what, p in UNSURE_CUES]
# a negation beside one of these may be partial ("no SSTR-avid disease except ...", "... but ...")
_PARTIAL = re.compile(
    r"\b(?:but|however|except|apart\s+from|other\s+than|aside\s+from|besides|save\s+for|although|though|"
    r"whereas|elsewhere)\b",
    re.IGNORECASE,
)

# A negative result limited to one site ("no SSTR-positive disease in the liver", "bone lesions are
# non-avid") says nothing of the others: disease elsewhere may be positive, so the result of the whole
# patient stays unknown. Read per sentence (split at ``; .`` and new lines, not at commas: "In the liver,
# no SSTR-positive disease"), only in a sentence that holds a result word, and only for a negative result.
SITE_CUES = (
    r"(?:\b(?:in|at|of|within|involving|to)\s+(?:the\s+)?)?\b(?:"
    r"liver|hepatic|hepato\w*|segments?\s+(?:[1-8]|i{1,3}|iv[ab]?|vi{0,3})|bones?|bony|osseous|skelet\w*|"
    r"spine|spinal|vertebra\w*|sacr\w*|pelvi[cs]|ribs?|(?:lymph\s+)?nodes?|nodal|lungs?|pulmonary|pleura\w*|"
    r"peritone\w*|mesenter\w*|omen\w*|pancrea\w*|primary|adrenals?|brain|cerebral|ovar\w*|breasts?|chest|"
    r"thora\w*|mediastin\w*|abdom\w*|bowel|ileum|ileal|jejun\w*|duoden\w*|stomach|gastric|colon\w*|"
    r"rectum|rectal|spleen|splenic|locoregional\w*|femur|femoral|skull|calvari\w*|humer\w*|iliac|"
    r"acetabul\w*|kidneys?|renal|retroperitone\w*|soft[- ]tissues?|subcutane\w*|muscles?|appendi\w*|"
    r"cec(?:um|al)|thyroid|neck|[tlc]\d{1,2})\b"
)  # fmt: skip
_SITE = re.compile(SITE_CUES, re.IGNORECASE)
_SENTENCE = re.compile(r"[;.\n]")
_WHOLE_BODY = re.compile(
    r"\b(?:whole|entire)[- ]body\b|\bskull\s+(?:base\s+)?to\s+(?:mid[- ])?thigh", re.IGNORECASE
)
# an organ named as the reference of the uptake ("uptake less than liver", "below hepatic background")
# or with physiological, normal or expected uptake (to the end of its sentence), and "primary or metastatic"
# disease (the whole disease), are no site limit
_REFERENCE = re.compile(
    r"\b(?:physiologic\w*|normal|expected|biodistribution)\b[^;.()\[\]]*|"
    r"\bprimary\s+(?:tumou?rs?\s+)?(?:and/or|or|and)\s+metasta\w*|"
    r"(?:\b(?:than|below|above|exceed\w*|relative\s+to|compared\s+(?:to|with)|equal\s+to|similar\s+to)|"
    r"[<>=\u2264\u2265])\s*(?:(?:the|that\s+of|normal)\s+)*[\w-]+",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reading:
    """One term found: its ``label``, whether it is ``negated``, and the ``unsure`` cue of its clause."""

    label: str
    negated: bool
    unsure: str = ""  # e.g. "hedged: 'cannot be excluded'": the clause does not state the result


def clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE.split(text or "") if c and c.strip()]


def brief(text: str, limit: int = 80) -> str:
    """The words as quoted in a report line: at most ``limit`` characters."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _negated(clause: str, start: int, end: int) -> bool:
    before, after = clause[:start], clause[end:]
    if _NON_PREFIX.search(before):
        return True
    if _PRE_CUE.search(before):
        return True
    return bool(_POST_CUE.match(after) or _POST_ANSWER.match(after))


def _unsure(clause: str) -> str:
    for what, pattern in _UNSURE:
        if m := pattern.search(clause):
            return f"{what}: {m.group(0).strip()!r}"
    return ""


def readings(text: str, terms: Mapping[str, Iterable[str]]) -> list[Reading]:
    """Every term (regular expression) found, clause by clause, with its negation and hedging."""
    out: list[Reading] = []
    for clause in clauses(text):
        unsure = _unsure(clause)
        for label, patterns in terms.items():
            for pattern in patterns:
                for m in re.finditer(pattern, clause, re.IGNORECASE):
                    out.append(Reading(label, _negated(clause, m.start(), m.end()), unsure))
    return out


def hits(text: str, terms: Mapping[str, Iterable[str]]) -> list[tuple[str, bool]]:
    """``(label, negated)`` for every term (regular expression) found, clause by clause."""
    return [(r.label, r.negated) for r in readings(text, terms)]


def unsure_cues(found: list[Reading]) -> str:
    """The hedging cues of the clauses ``found`` in, "; "-joined ("" when none hedges)."""
    return "; ".join(sorted({r.unsure for r in found if r.unsure}))


def not_plain(found: list[Reading]) -> str:
    """Why the terms ``found`` do not state a value plainly: "do not state it with certainty (<cues>)" when a
    clause hedges, "negate it" when one is negated, else ""."""
    if cues := unsure_cues(found):
        return f"do not state it with certainty ({cues})"
    return "negate it" if any(r.negated for r in found) else ""


def _unsure_why(text: str, found: list[Reading]) -> str:
    cues = unsure_cues(found)
    if cues:
        return f"the words {brief(text)!r} do not state it with certainty ({cues})"
    return ""


def site_limit(text: str, terms: Mapping[str, Iterable[str]]) -> str:
    """The site ("in the liver") a sentence holding one of ``terms`` is limited to, else ""."""
    for sentence in _SENTENCE.split(text or ""):
        if not readings(sentence, terms) or _WHOLE_BODY.search(sentence):
            continue
        named = list(_SITE.finditer(_REFERENCE.sub(" ", sentence)))
        # three regions or more name the study's coverage ("neck, chest, abdomen and pelvis"), not a limit
        if named and len({m.group(0).lower() for m in named}) < 3:
            return " ".join(named[0].group(0).split())
    return ""


def polarity_words(
    text: str, positive: Iterable[str], negative: Iterable[str], imaging: bool = False
) -> tuple[bool | None, str]:
    """True/False from words of a two-valued result; a negated term counts as its opposite. ``imaging``: the
    words report a whole-body study, so a negative limited to one site (:data:`SITE_CUES`) stays unknown; a
    specimen's result (MMR, a germline variant) is not limited by the site it was taken from.

    Returns ``(value, why)``: ``why`` is empty when the value is read, else the reason it
    stays unknown (nothing recognised, hedged or qualified words, a negation that may be
    partial, a negative result limited to one site, or words that contradict each other)."""
    terms = {"pos": tuple(positive), "neg": tuple(negative)}
    found = readings(text, terms)
    if not found:
        return None, "no result words recognised"
    if unsure := _unsure_why(text, found):
        return None, unsure
    values = {(r.label == "pos") != r.negated for r in found}
    if len(values) > 1:
        return None, f"the words {brief(text)!r} say both (a negated phrase read as its opposite)"
    if all(r.negated for r in found) and (m := _PARTIAL.search(text)):
        return (
            None,
            f"the words {brief(text)!r} negate with an exception ({m.group(0)!r}): it may be partial",
        )
    value = values.pop()
    if imaging and value is False and (site := site_limit(text, terms)):
        return (
            None,
            f"the words {brief(text)!r} are negative for one site only ({site!r}): "
            "disease at other sites may be positive",
        )
    return value, ""


def one_of(text: str, terms: Mapping[str, Iterable[str]]) -> tuple[str | None, str]:
    """The single label named (not negated) by the words, else ``(None, why)``.

    A negated term never counts as another label: "MSI-high not detected" alone is not
    "stable" (it could be MSI-low). Hedged words ("possible MSI-H") name nothing."""
    found = readings(text, terms)
    if unsure := _unsure_why(text, found):
        return None, unsure
    named = {r.label for r in found if not r.negated}
    if len(named) == 1:
        return named.pop(), ""
    if len(named) > 1:
        return None, f"the words {brief(text)!r} name several results ({', '.join(sorted(named))})"
    if found:
        return None, f"the words {brief(text)!r} only negate a result"
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
