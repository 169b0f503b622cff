"""Evaluation and agent safety screens -> CDS Hooks 2.0 cards.

Cards are decision support, never a directive: the options card lists every
eligible option by tier as the guideline does (no single "best" option), the
missing-data card names the fields that would change them, safety cards cite
their source. A card's ``uuid`` is a UUIDv5 of its content and the input hash,
so the same input gives the same cards (no clock, no randomness); links are
left out of the hash because they carry stored ids (and a signed link's expiry). Links go
to the web pages a clinician reads (``/ui``): the stored evaluation (a signed link, set per
call by the service), the guideline table, the agent's monograph. A guideline card's ``source.url``
(loaded in the clinician's browser as a link is) is a web page too, never JSON: the page of the
knowledge release the card was computed with (``/ui/guideline/{id}/{release}``, the table's page when the
card is about one table), as are its links to the guideline's tables. The shared parts (screen views,
citations, uuids, the cleaning of record text) are in card_base.py, the options and missing-data cards
in option_cards.py, the safety cards in safety_cards.py, the dose cards of order checks in dose_cards.py;
their names are importable from here as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from netcds.evaluation import Evaluation
from netcds.fhir.card_base import (
    INDICATORS,
    MAX_SUMMARY,
    NAMESPACE,
    OVERRIDE_REASONS,
    OVERRIDE_SYSTEM,
    TOPIC_SYSTEM,
    UCUM,
    AgentScreenView,
    DoseAdvice,
    SafetyFinding,
    agent_name,
    agent_page,
    cite,
    clean_text,
    field_label,
    field_labels,
    finalize,
    guideline_page,
    indicator_for,
    md_text,
    summary_text,
)
from netcds.fhir.card_base import agent_label as _agent_label
from netcds.fhir.card_base import card_source as _source
from netcds.fhir.card_base import plain as _plain
from netcds.fhir.dose_cards import (
    adjustment_applies,
    causing_rules,
    dose_card,
    dose_suggestion,
    not_compared_card,
    over_label_card,
)
from netcds.fhir.dose_cards import dose_lines as _dose_lines
from netcds.fhir.draft_dose import draft_dose_mg, with_dose
from netcds.fhir.medication import OrderedDrug
from netcds.fhir.option_cards import (
    EXPLANATION,
    EXPLANATION_LINK,
    SMART_LINK_LABEL,
    evaluation_links,
    missing_data_card,
    options_card,
    smart_link,
    ssa_plan_lines,
    table_links,
    with_explanation,
)
from netcds.fhir.safety_cards import UNASSESSED, info_card, readable_finding, safety_card

__all__ = [
    "EXPLANATION", "EXPLANATION_LINK", "INDICATORS", "MAX_SUMMARY", "NAMESPACE", "OVERRIDE_REASONS",
    "OVERRIDE_SYSTEM", "SMART_LINK_LABEL", "TOPIC_SYSTEM", "UCUM", "AgentScreenView", "DoseAdvice",
    "SafetyFinding", "cite", "clean_text", "dose_card", "dose_suggestion", "draft_dose_mg",
    "evaluation_links", "field_label", "field_labels", "finalize", "guideline_page", "indicator_for",
    "md_text", "missing_data_card", "options_card", "order_cards", "over_label_card", "patient_view_cards",
    "readable_finding", "safety_card", "smart_link", "ssa_plan_lines", "summary_text", "table_links",
    "unscreened_card", "with_dose", "with_explanation",
]  # fmt: skip


def patient_view_cards(
    ev: Evaluation,
    *,
    base_url: str,
    seed: str,
    explanation_url: str | None = None,
    screens: Sequence[AgentScreenView] = (),
    smart_launch_url: str | None = None,
) -> list[dict[str, Any]]:
    """Cards for the patient-view hook: options by tier, missing data, critical safety findings. With
    ``smart_launch_url`` (the service is a SMART app, ``smart.enabled``) the options card also links to it
    as a ``smart`` link, which the EHR opens with its launch context (docs/smart.md)."""
    cards = [options_card(ev, base_url, explanation_url)]
    if smart_launch_url:
        cards[0]["links"] = [*cards[0]["links"], smart_link(smart_launch_url)]
    missing = missing_data_card(ev, base_url, explanation_url)
    if missing:
        cards.append(missing)
    seen: set[tuple[str, str]] = set()
    findings: list[SafetyFinding] = []
    for o in ev.options:
        if o.status != "eligible":
            continue
        # only critical findings make a card: test the severity before converting an item (a patient's
        # eligible options carry dozens of items, each a model dump and a validation to convert)
        findings += [
            SafetyFinding.model_validate(_plain(item))
            for item in o.safety
            if indicator_for(item.severity) == "critical"
        ]
    for screen in screens:
        findings += screen.safety
    for f in findings:
        key = (f.agent, f.finding)
        if indicator_for(f.severity) != "critical" or key in seen:
            continue
        seen.add(key)
        cards.append(safety_card(f, base_url, _agent_label(f.agent), overrides=True))
    return [finalize(c, seed) for c in cards]


def order_cards(
    screen: AgentScreenView,
    draft: Mapping[str, Any] | None,
    *,
    base_url: str,
    seed: str,
    drug: OrderedDrug | None = None,
) -> list[dict[str, Any]]:
    """Cards for order-select / order-sign of one tabled agent: one card per critical or warning finding
    (the one that caused a dose adjustment carries it: a mg amount with the ``update`` suggestion, or, when
    one rule alone gives no mg amount, such as avoid or not studied, the dose in words without a
    suggestion, so one finding is one card), a dose card when no finding card carries the adjustment or
    several rules together leave the dose without a mg amount (rules the label does not combine: said in
    words, without a suggestion), a warning when no adjustment applies and the draft's dose is above the
    monograph's dose for this patient (netcds.fhir.dose_cards), and one info card gathering monitoring and
    not-assessed checks. ``drug``: the ordered drug as the hook read it (a Medication the order references
    may be elsewhere in its Bundle); read from ``draft`` when not given. A dose change is offered as an
    ``update`` only to a draft that can take one (netcds.fhir.draft_dose.no_update_reason); otherwise the
    card says why not."""
    label = _agent_label(screen.agent)
    order = {"critical": 0, "warning": 1, "info": 2}
    findings = sorted(screen.safety, key=lambda f: order[indicator_for(f.severity)])
    # a check not possible for missing data (however serious what it guards) joins the one gathering card,
    # raising it to a warning, rather than a card of its own per unknown fact
    serious = [f for f in findings if indicator_for(f.severity) != "info" and f.kind not in UNASSESSED]
    minor = [f for f in findings if indicator_for(f.severity) == "info" or f.kind in UNASSESSED]
    suggestion = dose_suggestion(screen, draft, drug)
    d = screen.dose
    causes = d.rule_ids() if d else set()
    # the finding card of the rule behind the dose carries it: any mg amount, and a dose without one (avoid,
    # not studied) when one rule alone gives it; rules that leave the dose open together keep a dose card
    carried = d is not None and (
        d.adjusted_mg is not None or (adjustment_applies(d) and len(causing_rules(screen)) == 1)
    )
    dose_shown = False
    cards: list[dict[str, Any]] = []
    seen: set[str] = set()
    for f in serious:
        if f.finding in seen:
            continue
        seen.add(f.finding)
        card = safety_card(f, base_url, label, overrides=True)
        if carried and f.id in causes and not dose_shown:
            card["detail"] += "\n\n" + "\n\n".join(_dose_lines(screen, draft, drug))
            if suggestion:
                card["suggestions"] = [suggestion]
                card["selectionBehavior"] = "at-most-one"
            dose_shown = True
        cards.append(card)
    if not dose_shown:
        # an adjusted dose's card, else a warning for a draft above the dose the label gives this patient,
        # else, for a draft dose in a unit that is no mass, a card saying it was not compared
        dose = (
            dose_card(screen, draft, base_url, drug)
            or over_label_card(screen, draft, base_url, drug)
            or not_compared_card(screen, draft, base_url)
        )
        if dose:
            cards.insert(0, dose)
    if minor:
        cards.append(info_card(screen, minor, base_url))
    return [finalize(c, seed) for c in cards]


def unscreened_card(agent: str, reason: str, base_url: str, seed: str) -> dict[str, Any]:
    """An info card saying a tabled agent could not be screened (and why), instead of silence."""
    label = _agent_label(agent)
    return finalize(
        {
            "summary": summary_text(f"{label}: netcds could not run its safety screen ({reason})"),
            "indicator": "info",
            "detail": f"No safety or dose findings are shown for {agent_name(agent)} because {reason}. "
            "This is not an all-clear.",
            "source": _source("netcds", agent_page(base_url, agent), "drug-safety", "Drug safety"),
        },
        seed,
    )


def unread_order_card(order: str, reason: str, seed: str) -> dict[str, Any]:
    """An info card saying a draft MedicationRequest was not checked because netcds could not read which drug
    it orders (and why), instead of passing it over in silence. ``order`` and ``reason`` quote the request
    (a reference): escaped as record text."""
    where = md_text(order)
    return finalize(
        {
            "summary": summary_text(
                f"Draft order {md_text(order, emphasis=False)} not checked: netcds could not read which "
                "drug it orders"
            ),
            "indicator": "info",
            "detail": f"netcds could not read which drug the draft order {where} orders: {md_text(reason)}. "
            "It was not checked against netcds's agent data (safety findings and dose of the NET agents), "
            "and the other orders were not screened against it as a concomitant medicine. "
            "This is not an all-clear.",
            "source": _source("netcds order check", None, "drug-safety", "Drug safety"),
        },
        seed,
    )
