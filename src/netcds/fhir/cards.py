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
citations, uuids, the cleaning of record text) are in card_base.py, the dose cards
of order checks in dose_cards.py; their names are importable from here as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from netcds.evaluation import Evaluation, GuidelineRef, Option, SsaPlan
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
    summary_with_fields,
)
from netcds.fhir.card_base import agent_label as _agent_label
from netcds.fhir.card_base import card_links as _links
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

__all__ = [
    "EXPLANATION", "EXPLANATION_LINK", "INDICATORS", "MAX_SUMMARY", "NAMESPACE", "OVERRIDE_REASONS",
    "OVERRIDE_SYSTEM", "SMART_LINK_LABEL", "TOPIC_SYSTEM", "UCUM", "AgentScreenView", "DoseAdvice",
    "SafetyFinding", "cite", "clean_text", "dose_card", "dose_suggestion", "draft_dose_mg",
    "evaluation_links", "field_label", "field_labels", "finalize", "guideline_page", "indicator_for",
    "md_text", "missing_data_card", "options_card", "order_cards", "over_label_card", "patient_view_cards",
    "readable_finding", "safety_card", "smart_link", "ssa_plan_lines", "summary_text", "table_links",
    "unscreened_card", "with_dose", "with_explanation",
]  # fmt: skip

TIER_ORDER = ("preferred", "other_recommended", "useful_in_certain_circumstances", "listed")
TIER_LABEL = {
    "preferred": "Preferred",
    "other_recommended": "Other recommended",
    "useful_in_certain_circumstances": "Useful in certain circumstances",
    "listed": "Listed (untiered)",
}
TABLE_SHORT = {
    "gi_wd_g12": "GI WD G1/2 table",
    "lung_thymus": "lung/thymus table",
    "pancreas_wd_g12": "pancreas WD G1/2 table",
    "wd_g3": "WD G3 table",
}


def guideline_label(guideline: GuidelineRef) -> str:
    """A card source's label when it cites the encoded tables as a whole."""
    return f"NCCN NET V.{guideline.version}, systemic therapy tables (encoded by netcds)"


NOT_ASSESSED = "not assessed: "  # how the safety screen words a check it could not run (netcds.safety)


def readable_finding(f: SafetyFinding) -> str:
    """A finding's words with the fields a "not assessed: <paths> — needed to check: ..." item names as
    clinician-readable labels (the screen's text names the contract paths)."""
    raw = NOT_ASSESSED + ", ".join(f.fields)
    if f.kind != "not_assessed" or not f.fields or not f.finding.startswith(raw):
        return f.finding
    return NOT_ASSESSED + field_labels(f.fields) + f.finding[len(raw) :]


def _option_line(o: Option) -> str:
    bits = [f"category {o.category}"]
    if o.intent:
        bits.append(o.intent)
    if o.footnotes:
        bits.append("footnotes " + ",".join(o.footnotes))
    return f"{o.label} ({'; '.join(bits)})"


SSA_ACTIONS = {"continue": "continue the SSA", "discontinue": "discontinue the SSA"}


def ssa_plan_lines(plan: SsaPlan) -> list[str]:
    """The SSA plan (footnote a of the tables: continue or discontinue octreotide LAR / lanreotide) as card
    lines, with its reasons and its citation; nothing when the footnote gives no action for this patient
    (not applicable, not specified; a plan that needs data is on the missing-data card)."""
    words = SSA_ACTIONS.get(plan.action)
    if words is None:
        return []
    letter = plan.footnote or (plan.source.footnote if plan.source else None) or "a"
    src = plan.source
    where = ", ".join(x for x in (src.document, src.page, src.table) if x) if src else ""
    cited = f"{where}, footnote {letter}" if where else f"footnote {letter}"
    return [
        f"**SSA plan (footnote {letter}):** the guideline's footnote {letter} gives *{words}* "
        f"(octreotide LAR or lanreotide) for the recorded facts ({cited}):",
        *[f"- {r}" for r in plan.reasons],
    ]


def possible_setting_lines(ev: Evaluation) -> list[str]:
    """What each setting the record leaves open would list (none eligible until it is confirmed)."""
    if not ev.possible_settings:
        return []
    lines = ["", "**What each possible setting lists** (none can be eligible until the setting is known):"]
    for p in ev.possible_settings:
        open_ = [o.label for o in p.options if o.status == "needs_data"]
        out = [o.label for o in p.options if o.status == "not_eligible"]
        text = f"- *{p.title}, {p.row}* (decided by {field_labels(p.missing)}): " + (
            "; ".join(open_) or "no entry open on the recorded facts"
        )
        lines.append(text + (f" (not eligible on the record: {'; '.join(out)})" if out else ""))
    return lines


def options_card(ev: Evaluation, base_url: str, explanation_url: str | None) -> dict[str, Any]:
    s = ev.setting
    eligible = [o for o in ev.options if o.status == "eligible"]
    waiting = [o for o in ev.options if o.status == "needs_data"]
    table = TABLE_SHORT.get(s.table or "", "table")
    lines: list[str] = []
    if s.status == "applies":
        tiers = [t for t in TIER_ORDER if any(o.tier == t for o in eligible)]
        summary = (
            f"NET therapy ({table}, NCCN V.{ev.guideline.version}): {len(eligible)} eligible option(s)"
            f" in {len(tiers)} tier(s); {len(waiting)} need data"
        )
        indicator = "info"
        lines.append(f"**Setting:** {s.title or table}" + (f", {s.row}" if s.row else ""))
        lines += [f"- {r}" for r in s.reasons]
        lines.append("")
        lines.append(
            "**Eligible options by tier** (the guideline's tiers; order within a tier is not a ranking):"
        )
        for t in TIER_ORDER:
            names = [_option_line(o) for o in eligible if o.tier == t]
            if names:
                lines.append(f"- *{TIER_LABEL[t]}:* " + "; ".join(names))
        if not eligible:
            lines.append("- none eligible on the recorded facts")
        if waiting:
            lines.append("")
            lines.append("**Need data before they can be assessed:**")
            lines += [f"- {o.label}: record {field_labels(o.missing) or 'see reasons'}" for o in waiting]
    elif s.status == "needs_data":
        summary = (
            summary_with_fields("NET therapy table cannot be chosen yet: record ", s.missing)
            if s.missing
            else "NET therapy table cannot be chosen yet: record the missing facts"
        )
        indicator = "warning"
        lines.append("**The applicable guideline table depends on facts not recorded:**")
        lines += [f"- {r}" for r in s.reasons]
        lines += possible_setting_lines(ev)
    else:
        summary = f"No NCCN NET V.{ev.guideline.version} systemic-therapy table applies to the recorded facts"
        indicator = "info"
        lines += [f"- {r}" for r in s.reasons]
    plan = ssa_plan_lines(ev.ssa_plan)
    if plan:
        lines += ["", *plan]
        with_plan = f"{summary}; footnote {ev.ssa_plan.footnote or 'a'}: {SSA_ACTIONS[ev.ssa_plan.action]}"
        summary = with_plan if len(with_plan) <= MAX_SUMMARY else summary
    lines += ["", ev.sequencing_statement, "", f"*{ev.disclaimer}*"]
    return {
        "summary": summary_text(summary),
        "indicator": indicator,
        "detail": "\n".join(lines),
        "source": _source(
            guideline_label(ev.guideline),
            guideline_page(base_url, s.table, ev.guideline),
            "therapy-options",
            "Systemic therapy options",
        ),
        "links": evaluation_links(ev, base_url, explanation_url),
    }


SMART_LINK_LABEL = "netcds: open this patient's record from the EHR (SMART app)"


def smart_link(url: str) -> dict[str, str]:
    """A ``smart`` link (CDS Hooks 2.0, Link.type): the EHR launches the URL as a SMART app, with ``iss``
    and ``launch``; netcds then reads the chart's record onto its patient form (web/smart.py)."""
    return {"label": SMART_LINK_LABEL, "url": url, "type": "smart"}


def evaluation_links(ev: Evaluation, base_url: str, explanation_url: str | None) -> list[dict[str, str]]:
    """The links of the options and missing-data cards: the stored evaluation's page (when there is one;
    in a cached card the ``EXPLANATION`` marker, see :func:`with_explanation`), and the applicable table's
    page of the guideline (the list of tables when none applies yet), of the release it was computed with."""
    return [
        *_links(explanation_url, EXPLANATION_LINK),
        *table_links(base_url, ev.setting.table, ev.guideline),
    ]


def table_links(base_url: str, table: str | None, release: GuidelineRef) -> list[dict[str, str]]:
    """A link to the web page of the guideline table a card speaks of, or of the guideline's tables when
    none applies (yet), as the knowledge ``release`` the card was computed with encodes them."""
    if table:
        where = TABLE_SHORT.get(table, table)
        return _links(
            guideline_page(base_url, table, release),
            f"netcds: the guideline's {where} (entries, conditions, footnotes)",
        )
    return _links(
        guideline_page(base_url, None, release),
        "netcds: the encoded guideline (tables, conditions, footnotes)",
    )


def missing_data_card(ev: Evaluation, base_url: str, explanation_url: str | None) -> dict[str, Any] | None:
    if not ev.needs_data or ev.setting.status != "applies":
        return None
    depends: dict[str, list[str]] = {f: [] for f in ev.needs_data}
    for o in ev.options:
        for f in dict.fromkeys(o.missing + o.category_missing):
            depends.setdefault(f, []).append(o.label)
    if ev.ssa_plan.missing:
        for f in ev.ssa_plan.missing:
            depends.setdefault(f, []).append("SSA continuation plan")
    lines = [
        "Recording these facts could change an option's status or category (unknown is never read "
        "as negative):"
    ]
    for f, labels in depends.items():
        lines.append(f"- {field_label(f)}" + (f": {', '.join(dict.fromkeys(labels))}" if labels else ""))
    n = len(ev.needs_data)
    return {
        "summary": summary_with_fields(
            f"{n} unrecorded fact(s) could change the NET therapy options: ", ev.needs_data
        ),
        "indicator": "info",
        "detail": "\n".join(lines),
        "source": _source(
            guideline_label(ev.guideline),
            guideline_page(base_url, ev.setting.table, ev.guideline),
            "missing-data",
            "Data that would change options",
        ),
        "links": evaluation_links(ev, base_url, explanation_url),
    }


def safety_card(f: SafetyFinding, base_url: str, agent_label: str, *, overrides: bool) -> dict[str, Any]:
    label, url = cite(f.source)
    finding = md_text(f.finding)  # may quote record text (a medication's name as recorded)
    lines = [f"**{agent_label}:** {finding}"]
    if f.action:  # the source's advice in words (agent data: descriptive, never an order)
        lines.append(f"**What the source says:** {f.action}")
    if f.fields:
        lines.append("**Based on (this patient's record):** " + field_labels(f.fields))
    lines.append(f"**Source:** {label}")
    card: dict[str, Any] = {
        "summary": summary_text(f"{agent_label}: {md_text(f.finding, emphasis=False)}"),
        "indicator": indicator_for(f.severity),
        "detail": "\n\n".join(lines),
        "source": _source(label, url, "drug-safety", "Drug safety"),
        "links": _links(agent_page(base_url, f.agent), f"netcds: {agent_label} safety information"),
    }
    if overrides:
        card["overrideReasons"] = [dict(r) for r in OVERRIDE_REASONS]
    return card


EXPLANATION = "urn:netcds:explanation"  # stands for a call's explanation URL in a cached card
EXPLANATION_LINK = "netcds: this evaluation explained (record, options, reasons)"


def with_explanation(
    cards: Sequence[Mapping[str, Any]], marker: str, url: str | None
) -> list[dict[str, Any]]:
    """Copies of ``cards`` whose links to ``marker`` point at ``url`` (dropped when ``url`` is None: no
    evaluation was stored). Links are not part of a card's uuid, so the uuids stay those of the cached
    cards."""
    out = []
    for c in cards:
        links = [
            {**k, "url": url} if k.get("url") == marker else k
            for k in c.get("links") or []
            if url is not None or k.get("url") != marker
        ]
        out.append({**c, "links": links} if links else {k: v for k, v in c.items() if k != "links"})
    return out


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


UNASSESSED = ("not_assessed", "not_screened")


def _info_card(screen: AgentScreenView, items: list[SafetyFinding], base_url: str) -> dict[str, Any]:
    """One card gathering the checks not assessed for missing data, monitoring and notes: a warning when a
    check not assessed guards a critical finding (netcds.safety: one step below what it guards)."""
    label = _agent_label(screen.agent)
    monitoring = [f for f in items if f.kind == "monitoring"]
    unassessed = [f for f in items if f.kind in UNASSESSED]
    other = [f for f in items if f.kind not in ("monitoring", *UNASSESSED)]
    lines: list[str] = []
    for title, group in (
        ("Checks not assessed (record the facts; unknown is not read as absent)", unassessed),
        ("Monitoring to plan", monitoring),
        ("Other information", other),
    ):
        if group:
            lines.append(f"**{title}:**")
            lines += [f"- {md_text(readable_finding(f))} ({cite(f.source)[0]})" for f in group]
            lines.append("")
    bits = [
        f"{len(unassessed)} check(s) not assessed for missing data" if unassessed else "",
        f"{len(monitoring)} monitoring item(s)" if monitoring else "",
        f"{len(other)} note(s)" if other else "",
    ]
    serious = any(indicator_for(f.severity) != "info" for f in unassessed)
    return {
        "summary": summary_text(f"{label}: " + ", ".join(b for b in bits if b)),
        "indicator": "warning" if serious else "info",
        "detail": "\n".join(lines).strip(),
        "source": _source(
            f"{label} label information (netcds safety data)",
            agent_page(base_url, screen.agent),
            "drug-safety",
            "Drug safety",
        ),
        "links": _links(agent_page(base_url, screen.agent), f"netcds: {label} safety information"),
    }


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
        cards.append(_info_card(screen, minor, base_url))
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
