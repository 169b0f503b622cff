"""A discussion order within each tier, from the considerations; never a ranking across tiers.

Options stay grouped by tier (and keep their guideline category). Within a
tier, in this order of precedence:

1. options *held back* come after all the others: a consideration whose rule
   holds back fired (the disease progressed on or after the option's regimen,
   or is progressing on it now), or, when the engine passes them, a critical
   safety finding or a dose the label says to avoid. The reasons are stated in
   the explanation; the option stays listed with its status and category.
2. eligible options before those that need data;
3. a score: each factor moves the option at most once in each direction (+1 if
   a consideration of that factor is *for* it, -1 if one is *against* it;
   neutral ones inform but do not move), and so does each statement of a source
   that several rules restate from different angles (the data file's
   ``shared_statements``, e.g. "PRRT early" and the long-term-control priority
   read from the same sentence of the Lieu 2026 discussion). Every consideration
   stays shown; one not counted again says so in the explanation. Higher first.

Options equal on all three *share* a position ("position 1-3 of 4"): nothing
netcds weighs tells them apart. Within a shared position the list shows them by
guideline category (1, 2A, 2B, 3), then the table order, so the output is
stable; that listing is not a ranking. ``discussion_rank`` is the first
position of the shared group (tied options carry the same number).

Options that are not eligible are not ranked. The guideline gives no
data-driven sequence: this order only suggests where a discussion might start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from netcds.knowledge.schema import TIER_ORDER
from netcds.sequencing.models import OptionSequencing, OrderFactor, TierOrder

STATUS_RANK = {"eligible": 0, "needs_data": 1}
CATEGORY_RANK = {"1": 0, "2A": 1, "2B": 2, "3": 3}
TIER_WORDS = {
    "preferred": "preferred",
    "other_recommended": "other recommended",
    "useful_in_certain_circumstances": "useful in certain circumstances",
    "listed": "listed",
}
TIES = (
    "options of equal standing share a position; within it they are listed by guideline category "
    "(1, 2A, 2B, 3), then by the table's order, which is not a ranking"
)
COUNTING = "a factor, or a source statement several rules restate, counts at most once each way"
HELD_BACK_OPEN = (
    " (placed after the options without such a concern, and still listed with its guideline status and "
    "category, because: "
)


@dataclass(frozen=True)
class OrderInput:
    """What the order needs besides the considerations, per option.

    ``category``: the option's guideline category for this patient (ties);
    ``held_back``: why the option is placed after the others, in words;
    ``undirected``: factors recorded for the patient that no rule gives a direction for this option.
    """

    category: str | None = None
    held_back: tuple[str, ...] = ()
    undirected: tuple[str, ...] = ()


def _factors(o: OptionSequencing, statements: Mapping[str, str]) -> tuple[list[OrderFactor], dict[str, str]]:
    """The directional considerations with their effect on the score, in rule order, and for those not
    counted (effect 0) why, in words. A consideration counts unless an earlier counted one of the same
    direction shares its factor or the source statement it restates."""
    claimed: dict[str, dict[tuple[str, str], str]] = {"for": {}, "against": {}}
    out: list[OrderFactor] = []
    why: dict[str, str] = {}
    for c in o.considerations:
        if c.direction == "neutral":
            continue
        keys: list[tuple[str, str]] = [("factor", c.factor)]
        if c.rule_id in statements:
            keys.append(("statement", statements[c.rule_id]))
        seen = claimed[c.direction]
        hit = next((k for k in keys if k in seen), None)
        if hit is None:
            effect = 1 if c.direction == "for" else -1
            seen.update(dict.fromkeys(keys, c.rule_id))
        else:
            effect = 0
            why[c.rule_id] = (
                f"same factor as {seen[hit]}" if hit[0] == "factor" else f"restates the source of {seen[hit]}"
            )
        out.append(OrderFactor(rule_id=c.rule_id, factor=c.factor, direction=c.direction, effect=effect))
    return out, why


def order_options(
    options: list[OptionSequencing],
    inputs: Mapping[str, OrderInput] | None = None,
    statements: Mapping[str, str] | None = None,
) -> list[TierOrder]:
    """Set discussion_rank, order_score, order_factors and order_explanation in place; return the order.

    ``statements``: rule id -> the shared source statement it restates (``SequencingData.statement_of``).
    """
    inputs = inputs or {}
    statements = statements or {}
    tiers = [t for t in TIER_ORDER if any(o.tier == t for o in options)]
    out: list[TierOrder] = []
    for tier in tiers:
        members = [(i, o) for i, o in enumerate(options) if o.tier == tier]
        ranked = [(i, o) for i, o in members if o.status in STATUS_RANK]
        not_counted: dict[str, dict[str, str]] = {}
        for _, o in ranked:
            o.order_factors, not_counted[o.entry_id] = _factors(o, statements)
            o.order_score = sum(f.effect for f in o.order_factors)

        def standing(o: OptionSequencing) -> tuple[int, int, int]:
            """What netcds weighs: held back, status, score (equal standing shares a position)."""
            info = inputs.get(o.entry_id, OrderInput())
            return (1 if info.held_back else 0, STATUS_RANK[o.status], -o.order_score)

        def key(x: tuple[int, OptionSequencing]) -> tuple[tuple[int, int, int], int, int]:
            i, o = x
            info = inputs.get(o.entry_id, OrderInput())
            return (standing(o), CATEGORY_RANK.get(info.category or "", len(CATEGORY_RANK)), i)

        ranked.sort(key=key)
        n = len(ranked)
        standings = [standing(o) for _, o in ranked]  # sorted by it first: equal standings are adjacent
        first = 0
        for p, (_, o) in enumerate(ranked):
            if standings[p] != standings[first]:
                first = p
            last = first
            while last + 1 < n and standings[last + 1] == standings[first]:
                last += 1
            o.discussion_rank = first + 1
            o.order_explanation = _explain(
                o,
                (first + 1, last + 1),
                n,
                tier,
                inputs.get(o.entry_id, OrderInput()),
                not_counted[o.entry_id],
            )
        unranked = [o for _, o in members if o.status not in STATUS_RANK]
        for o in unranked:
            o.discussion_rank = None
            o.order_score = 0
            o.order_factors = []
            o.order_explanation = (
                "Not ranked: not eligible for this patient (it stays listed with its reasons)."
            )
        out.append(
            TierOrder(
                tier=tier, entry_ids=[o.entry_id for _, o in ranked], unranked=[o.entry_id for o in unranked]
            )
        )
    return out


def position_words(first: int, last: int, n: int) -> str:
    """'1 of 4', or '1-3 of 4' for a position shared by options of equal standing."""
    return f"{first} of {n}" if first == last else f"{first}-{last} of {n}"


def held_back_reasons(explanation: str) -> str | None:
    """The reasons an explanation gives for holding the option back, or None when it is not held back."""
    start = explanation.find(HELD_BACK_OPEN)
    if start < 0:
        return None
    i = start + len(HELD_BACK_OPEN)
    depth = 1
    for j in range(i, len(explanation)):
        depth += {"(": 1, ")": -1}.get(explanation[j], 0)
        if depth == 0:
            return explanation[i:j]
    return explanation[i:]


def _explain(
    o: OptionSequencing,
    span: tuple[int, int],
    n: int,
    tier: str,
    info: OrderInput,
    not_counted: dict[str, str],
) -> str:
    first, last = span
    head = f"Discussion position {position_words(first, last, n)} among {TIER_WORDS.get(tier, tier)} options"
    if first != last:
        head += f" (shared by {last - first + 1} options of equal standing)"
    if info.held_back:
        head += HELD_BACK_OPEN + "; ".join(info.held_back) + ")"
    if o.status == "needs_data":
        head += " (placed after the eligible ones not held back, until the missing data are known)"
    ties = f"; {TIES}" if first != last else ""
    if not o.order_factors:
        text = f"{head}: no directional consideration applies{ties}."
    else:
        pro = [f"{f.factor} ({f.rule_id})" for f in o.order_factors if f.effect > 0]
        con = [f"{f.factor} ({f.rule_id})" for f in o.order_factors if f.effect < 0]
        again = [
            f"{f.factor} ({f.rule_id}: {not_counted[f.rule_id]})" for f in o.order_factors if f.effect == 0
        ]
        parts = []
        if pro:
            parts.append("for: " + ", ".join(pro))
        if con:
            parts.append("against: " + ", ".join(con))
        if again:
            parts.append(f"shown but not counted again ({COUNTING}): " + ", ".join(again))
        text = f"{head}; score {o.order_score:+d} ({'; '.join(parts)}){ties}."
    if info.undirected:
        text += (
            " Recorded for this patient, but no rule gives it a direction for this option: "
            + "; ".join(info.undirected)
            + ". The Lieu 2026 discussion names these among the factors weighed without saying how they "
            "bear on this option, so they are left to the discussion."
        )
    return text


def _top_level(text: str, sep: str = "; ") -> list[str]:
    """``text`` split at ``sep`` outside parentheses."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and text.startswith(sep, i):
            out.append(text[start:i])
            start = i + len(sep)
    return [*out, text[start:]]


def _situation(finding: str) -> str:
    """The words before the finding's first colon outside parentheses (a safety finding's situation, as
    ``field_labels.situation_name`` reads it); the whole finding when every colon is inside parentheses (a
    history reason "yes (line 2 ... (dates): progression on ...)" stays balanced)."""
    return _top_level(finding, ":")[0].strip() or finding


def held_back_words(reasons: str) -> str:
    """The held-back reasons, each heading once with the situations of its findings ("critical safety
    finding for cabozantinib: Recent hemorrhage; Uncontrolled hypertension")."""
    heads: dict[str, list[str]] = {}
    for r in _top_level(reasons):
        head, _, rest = r.partition(": ")
        what = _situation(rest) if rest else ""
        heads.setdefault(head, [])
        if what and what not in heads[head]:
            heads[head].append(what)
    return "; ".join(f"{h}: {', '.join(w)}" if w else h for h, w in heads.items())
