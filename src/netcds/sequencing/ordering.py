"""A discussion order within each tier, from the considerations; never a ranking across tiers.

Options stay grouped by tier (and keep their guideline category). Within a
tier: eligible options first, then those that need data; each scores +1 per
consideration *for* and -1 per consideration *against* (neutral ones inform but
do not move); higher scores come first and ties keep the guideline's table
order. Options that are not eligible are not ranked. The guideline gives no
data-driven sequence: this order only suggests where a discussion might start.
"""

from __future__ import annotations

from netcds.knowledge.schema import TIER_ORDER
from netcds.sequencing.models import OptionSequencing, OrderFactor, TierOrder

STATUS_RANK = {"eligible": 0, "needs_data": 1}
TIER_WORDS = {
    "preferred": "preferred",
    "other_recommended": "other recommended",
    "useful_in_certain_circumstances": "useful in certain circumstances",
    "listed": "listed",
}


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


def order_options(options: list[OptionSequencing]) -> list[TierOrder]:
    """Set discussion_rank, order_score, order_factors and order_explanation in place; return the order."""
    tiers = [t for t in TIER_ORDER if any(o.tier == t for o in options)]
    out: list[TierOrder] = []
    for tier in tiers:
        members = [(i, o) for i, o in enumerate(options) if o.tier == tier]
        ranked = [(i, o) for i, o in members if o.status in STATUS_RANK]
        for _, o in ranked:
            o.order_factors = _factors(o)
            o.order_score = sum(f.effect for f in o.order_factors)
        ranked.sort(key=lambda x: (STATUS_RANK[x[1].status], -x[1].order_score, x[0]))
        for rank, (_, o) in enumerate(ranked, start=1):
            o.discussion_rank = rank
            o.order_explanation = _explain(o, rank, len(ranked), tier)
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


def _explain(o: OptionSequencing, rank: int, n: int, tier: str) -> str:
    head = f"Discussion position {rank} of {n} among {TIER_WORDS.get(tier, tier)} options"
    if o.status == "needs_data":
        head += " (placed after the eligible ones until the missing data are known)"
    if not o.order_factors:
        return head + ": no directional consideration applies, so it keeps the guideline's table order."
    pro = [f"{f.factor} ({f.rule_id})" for f in o.order_factors if f.effect > 0]
    con = [f"{f.factor} ({f.rule_id})" for f in o.order_factors if f.effect < 0]
    parts = []
    if pro:
        parts.append("for: " + ", ".join(pro))
    if con:
        parts.append("against: " + ", ".join(con))
    return f"{head}; score {o.order_score:+d} ({'; '.join(parts)}); ties keep the guideline's table order."
