"""Cards for a drug ordered beside the NET agents a patient is on (order-select / order-sign).

A draft order of a drug that is not a netcds agent (a concomitant drug: clarithromycin, warfarin) is
screened against each agent the record shows as current, with the ordered drug among the patient's
medications (netcds.api.order_interactions). Each interaction finding of that screen that an ordered drug
triggers is one card here: it names the current agent and the ordered drug, gives the finding (the effect,
in the agent data's words) and what the source says about managing it, the dose rule it triggers when the
finding is a dose adjustment, the treatment line that makes the agent current, and cites the finding's
source exactly as the safety cards of an ordered agent do (:func:`netcds.fhir.card_base.cite`). The draft is
the other drug, so no ``update`` suggestion is made: netcds does not rewrite the agent's own order from
another drug's order. A current agent that could not be screened gets an info card saying so (never an
all-clear), and so do current medications whose drug could not be identified
(:func:`unidentified_current_card`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from netcds.fhir.card_base import (
    OVERRIDE_REASONS,
    AgentScreenView,
    SafetyFinding,
    agent_label,
    agent_name,
    agent_page,
    card_links,
    card_source,
    cite,
    field_label,
    finalize,
    indicator_for,
    md_text,
    summary_text,
)
from netcds.field_labels import applied_rule_words, rule_id

# the interaction findings: items a medication of the record triggered (not "screened"/"not screened" notes,
# which say what the curated lists hold, and not "not assessed" items, which name the missing facts instead)
INTERACTION_KINDS = frozenset({"warning", "adjustment", "monitoring"})
_MEDICATION = re.compile(r"medications\[(\d+)\]")


@dataclass(frozen=True)
class CurrentLine:
    """One ongoing treatment line of the record (no end date: the contract's "ongoing"): its row in
    ``treatments`` (0-based), the agent and its start, named on the card as what makes the agent current."""

    index: int
    agent: str
    start: date | None = None

    def words(self) -> str:
        since = f" since {self.start.isoformat()}" if self.start else ""
        row = field_label(f"treatments[{self.index}]")
        return f"{row}: {agent_name(self.agent)}{since}, no end date (ongoing)"


def ordered_in(f: SafetyFinding, ordered: Mapping[int, str]) -> list[str]:
    """The ordered drugs (by their row in the screened medication list: ``ordered``) whose presence triggered
    interaction finding ``f``, in list order; empty for any other item."""
    if f.kind not in INTERACTION_KINDS:
        return []
    rows = [int(m[1]) for field in f.fields if (m := _MEDICATION.fullmatch(field))]
    return list(dict.fromkeys(ordered[i] for i in sorted(rows) if i in ordered))


def _names(names: Sequence[str]) -> str:
    return " and ".join(names)


def _rule_line(screen: AgentScreenView, f: SafetyFinding) -> str | None:
    """The dose rule an adjustment finding applied to the agent, as the screen words it ("Strong CYP3A4
    inhibitor: daily dose lowered by 20 mg ..."); None when the finding changed no dose."""
    d = screen.dose
    if d is None or f.kind != "adjustment" or not f.id:
        return None
    entry = next((r for r in d.rules_applied if isinstance(r, str) and rule_id(r) == f.id), None)
    return applied_rule_words(entry, d.rule_names) if entry else None


def concomitant_card(
    f: SafetyFinding,
    screen: AgentScreenView,
    names: Sequence[str],
    orders: Sequence[str],
    lines: Sequence[CurrentLine],
    *,
    base_url: str,
    seed: str,
) -> dict[str, Any]:
    """The card of one interaction finding of a current agent that the ordered drugs ``names`` (drafts
    ``orders``: their references or places in the request) trigger; ``lines``: the agent's ongoing lines."""
    label = agent_label(screen.agent)
    drug = md_text(_names(names))  # the order's words (record text)
    lines_md = [
        f"**Current {agent_name(screen.agent)} with {drug} (this order):** {md_text(f.finding)}",
    ]
    if f.action:  # the source's advice in words (agent data: descriptive, never an order)
        lines_md.append(f"**What the source says:** {f.action}")
    rule = _rule_line(screen, f)
    if rule:
        lines_md.append(f"**{label} dose rule it triggers:** {md_text(rule)}")
        lines_md.append(
            f"**No order update offered:** the order being signed is {drug}; the {agent_name(screen.agent)} "
            "order is not part of it"
        )
    based = [md_text(line.words()) for line in lines]
    based += [f"the draft order {md_text(o)}" for o in orders]
    lines_md.append("**Based on (this patient's record and the order):** " + "; ".join(based))
    source, url = cite(f.source)
    lines_md.append(f"**Source:** {source}")
    lead = f"{_names(names)} order with current {agent_name(screen.agent)}: "
    card: dict[str, Any] = {
        "summary": summary_text(md_text(lead[:1].upper() + lead[1:] + f.finding, emphasis=False)),
        "indicator": indicator_for(f.severity),
        "detail": "\n\n".join(lines_md),
        "source": card_source(source, url, "drug-safety", "Drug safety"),
        "links": card_links(agent_page(base_url, screen.agent), f"netcds: {label} safety information"),
    }
    if card["indicator"] != "info":
        card["overrideReasons"] = [dict(r) for r in OVERRIDE_REASONS]
    return finalize(card, seed)


def concomitant_unscreened_card(
    agent: str, names: Sequence[str], reason: str, lines: Sequence[CurrentLine], *, base_url: str, seed: str
) -> dict[str, Any]:
    """An info card saying the ordered drugs ``names`` could not be screened against the current ``agent``
    (and why), instead of silence: this is not an all-clear."""
    drug = _names(names)
    current = "; ".join(line.words() for line in lines)
    return finalize(
        {
            "summary": summary_text(
                md_text(
                    f"{drug[:1].upper() + drug[1:]} order not screened against current {agent_name(agent)} "
                    f"({reason})",
                    emphasis=False,
                )
            ),
            "indicator": "info",
            "detail": f"The ordered {md_text(drug)} was not screened against {agent_name(agent)}, which the "
            f"record shows as current ({md_text(current)}), because {reason}. This is not an all-clear.",
            "source": card_source("netcds", agent_page(base_url, agent), "drug-safety", "Drug safety"),
        },
        seed,
    )


MAX_LISTED = 10  # current medications listed by name on one card; the rest are counted


def unidentified_current_card(items: Sequence[str], ordered: Sequence[str], *, seed: str) -> dict[str, Any]:
    """An info card saying the record's current medications ``items`` (each "<resource>: <what could not be
    read>", as the mapping report's ``medications_not_identified`` has them) could not be identified, so the
    ordered drugs ``ordered`` were not screened against them: any of them may be a drug that interacts, a NET
    agent among them. Never an all-clear; record text is escaped."""
    drugs = _names(list(dict.fromkeys(ordered))) or "ordered drug"
    n = len(items)
    what = "Current medication" if n == 1 else f"{n} current medications"
    listed = [f"- {md_text(item)}" for item in items[:MAX_LISTED]]
    if n > MAX_LISTED:
        listed.append(f"- and {n - MAX_LISTED} more (see the mapping report)")
    one = n == 1
    which = (
        "this current medication of the record is" if one else "these current medications of the record are"
    )
    detail = (
        f"netcds could not tell which drug {which}, so {'it was' if one else 'they were'} not screened for "
        f"interactions with the ordered {md_text(drugs)}:\n\n" + "\n".join(listed) + "\n\n"
        f"{'It may be any drug' if one else 'They may be any drugs'}, one that interacts with the order or a "
        f"NET agent among them. Check {'it' if one else 'them'} by hand, or record the drug (a code, the "
        "Medication the reference names, or a display). This is not an all-clear."
    )
    return finalize(
        {
            "summary": summary_text(
                md_text(f"{what} not identified: not screened against the ordered {drugs}", emphasis=False)
            ),
            "indicator": "info",
            "detail": detail,
            "source": card_source("netcds order check", None, "drug-safety", "Drug safety"),
        },
        seed,
    )
