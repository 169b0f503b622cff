"""A discussion order within each tier, from the considerations; never a ranking across tiers.

Options stay grouped by tier (and keep their guideline category). Within a
tier, in this order of precedence:

1. options *held back* come after all the others: a consideration whose rule
   holds back fired (the disease progressed on or after the option's regimen,
   or is progressing on it now), or, when the engine passes them, a critical
   safety finding or a dose the label says to avoid. The reasons are stated in
   the explanation; the option stays listed with its status and category.
2. eligible options before those that need data;
3. a score of +1 per consideration *for* and -1 per consideration *against*
   (neutral ones inform but do not move), higher first;
4. equal scores: the guideline category (1, 2A, 2B, 3), then the table order.

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
TIES = "equal scores are ordered by guideline category (1, 2A, 2B, 3), then by the table's order"


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


def _factors(o: OptionSequencing) -> list[OrderFactor]:
    return [
        OrderFactor(
            rule_id=c.rule_id,
            factor=c.factor,
            direction=c.direction,
            effect=1 if c.direction == "for" else -1,
        )
        for c in o.considerations
        if c.direction != "neutral"
    ]


def order_options(
    options: list[OptionSequencing], inputs: Mapping[str, OrderInput] | None = None
) -> list[TierOrder]:
    """Set discussion_rank, order_score, order_factors and order_explanation in place; return the order."""
    inputs = inputs or {}
    tiers = [t for t in TIER_ORDER if any(o.tier == t for o in options)]
    out: list[TierOrder] = []
    for tier in tiers:
        members = [(i, o) for i, o in enumerate(options) if o.tier == tier]
        ranked = [(i, o) for i, o in members if o.status in STATUS_RANK]
        for _, o in ranked:
            o.order_factors = _factors(o)
            o.order_score = sum(f.effect for f in o.order_factors)

        def key(x: tuple[int, OptionSequencing]) -> tuple[int, int, int, int, int]:
            i, o = x
            info = inputs.get(o.entry_id, OrderInput())
            category = CATEGORY_RANK.get(info.category or "", len(CATEGORY_RANK))
            return (1 if info.held_back else 0, STATUS_RANK[o.status], -o.order_score, category, i)

        ranked.sort(key=key)
        for rank, (_, o) in enumerate(ranked, start=1):
            o.discussion_rank = rank
            o.order_explanation = _explain(o, rank, len(ranked), tier, inputs.get(o.entry_id, OrderInput()))
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


def _explain(o: OptionSequencing, rank: int, n: int, tier: str, info: OrderInput) -> str:
    head = f"Discussion position {rank} of {n} among {TIER_WORDS.get(tier, tier)} options"
    if info.held_back:
        head += (
            " (placed after the options without such a concern, and still listed with its guideline "
            "status and category, because: " + "; ".join(info.held_back) + ")"
        )
    if o.status == "needs_data":
        head += " (placed after the eligible ones not held back, until the missing data are known)"
    if not o.order_factors:
        text = f"{head}: no directional consideration applies; {TIES}."
    else:
        pro = [f"{f.factor} ({f.rule_id})" for f in o.order_factors if f.effect > 0]
        con = [f"{f.factor} ({f.rule_id})" for f in o.order_factors if f.effect < 0]
        parts = []
        if pro:
            parts.append("for: " + ", ".join(pro))
        if con:
            parts.append("against: " + ", ".join(con))
        text = f"{head}; score {o.order_score:+d} ({'; '.join(parts)}); {TIES}."
    if info.undirected:
        text += (
            " Recorded for this patient, but no rule gives it a direction for this option: "
            + "; ".join(info.undirected)
            + ". The seed discussion lists it among the factors weighed without saying how it bears "
            "on this option, so it is left to the discussion."
        )
    return text
