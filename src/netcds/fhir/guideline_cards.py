"""Order-sign / order-select: whether the guideline lists the ordered agent for this patient.

One ``info`` card per ordered agent, built from the patient's Evaluation (the one patient-view computes
and the service caches): the options of the applicable table whose regimen contains the agent, with tier,
category and status (eligible; needs data, naming the fields; not eligible, naming the condition not
met), or that the table lists no such option for the recorded facts, or that the setting (the table) is
not determined yet or no table applies. Decision support only: the card says what the encoded guideline
lists and why, never what to order.

An agent matches a table entry when it is one of the agents of a decision that counts as choosing that
entry (:func:`netcds.cohort.layout.matching_decisions`, :func:`~netcds.cohort.layout.decision_agents`):
capecitabine matches CAPTEM and CAPEOX, octreotide LAR both the SSA entry and the above-label SSA entry.

A cached Evaluation is kept as JSON bytes; :class:`GuidelineFacts` reads only the parts these cards need
from them (~0.3 ms, a tenth of running the engine again).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from netcds.cohort.layout import decision_agents, matching_decisions
from netcds.engine.options import NOT_MET, failed_conditions
from netcds.evaluation import Evaluation, GuidelineRef, Setting, SsaPlan
from netcds.facts import SSA_AGENTS
from netcds.fhir.card_base import (
    agent_label,
    agent_name,
    card_source,
    field_labels,
    finalize,
    guideline_page,
    md_text,
    summary_text,
)
from netcds.fhir.option_cards import TABLE_SHORT, TIER_LABEL, guideline_label, ssa_plan_lines, table_links
from netcds.field_labels import CATEGORY_UNSETTLED
from netcds.knowledge.schema import Knowledge

# an order of these shows the SSA plan (footnote a is about octreotide LAR / lanreotide; short-acting
# octreotide orders see it too)
SSA_PLAN_AGENTS = SSA_AGENTS | {"octreotide"}


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class OptionFacts(_View):
    """The parts of an Option the guideline card reads."""

    regimen: str
    entry_id: str
    label: str
    tier: str
    category: str
    status: str
    reasons: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    footnotes: list[str] = Field(default_factory=list)
    category_missing: list[str] = Field(default_factory=list)
    guideline_dose: str | None = None  # the dose this table's entry states, if it states one


class GuidelineFacts(_View):
    """The parts of an Evaluation the guideline card reads (its setting, options and SSA plan)."""

    guideline: GuidelineRef
    setting: Setting
    options: list[OptionFacts]
    ssa_plan: SsaPlan
    disclaimer: str

    @classmethod
    def of(cls, evaluation: Evaluation | None, body: bytes) -> GuidelineFacts:
        """From the Evaluation object when there is one, else from its JSON bytes (the cached form)."""
        if evaluation is not None:
            return cls.model_validate(evaluation, from_attributes=True)
        return cls.model_validate_json(body)


@cache
def entry_agents(regimen: str) -> frozenset[str]:
    """The agents whose order counts as (part of) choosing a table entry with this regimen."""
    out = set(decision_agents(regimen))
    for decision in matching_decisions(regimen):
        out.update(decision_agents(decision))
    return frozenset(out)


def matching_options(facts: GuidelineFacts, agent: str) -> list[OptionFacts]:
    return [o for o in facts.options if agent in entry_agents(o.regimen)]


def table_label(table: str | None, column: str | None) -> str:
    name = TABLE_SHORT.get(table or "", table or "table")
    return f"{name}, {column.replace('_', ' ')} column" if column else name


def tables_listing(kb: Knowledge, agent: str) -> list[tuple[str, str | None]]:
    """(table id, column id) of every table column of the guideline with an entry the agent matches."""
    return [
        (t.id, c.id)
        for t in kb.tables
        for c in t.columns
        if any(agent in entry_agents(e.regimen) for e in c.entries)
    ]


def _failing(o: OptionFacts) -> str:
    """The (first) condition the option's eligibility failed on, as the engine words it."""
    failed = failed_conditions(o.reasons)
    if failed:
        return failed[0][len(NOT_MET) :]
    return o.reasons[0] if o.reasons else "a condition of the entry is not met"


def _head(reason: str) -> str:
    """The condition's own words, without the findings in brackets and the yes/no after it."""
    cut = [i for i in (reason.find(" ("), reason.find(": ")) if i > 0]
    return reason[: min(cut)] if cut else reason


def status_text(o: OptionFacts, *, short: bool = False, bare: bool = False) -> str:
    """eligible; needs data (the fields); not eligible (not met: the condition); ``short``: the condition's
    own words only; ``bare``: the status alone."""
    if o.status == "eligible":
        return "eligible"
    if o.status == "needs_data":
        return f"needs data ({field_labels(o.missing)})" if o.missing and not bare else "needs data"
    if bare:
        return "not eligible"
    why = _failing(o)  # the engine's words, which may quote a safety finding, and so record text
    # (escaped as a summary's words are: this status is read in summaries too)
    return f"not eligible (not met: {md_text(_head(why) if short else why, emphasis=False)})"


def category_text(o: OptionFacts, *, short: bool = False) -> str:
    """ "category 2A", or "category 2A (unsettled)" while a rule could change it once data are recorded (the
    detail names the fields: ``CATEGORY_UNSETTLED``); ``short``: "cat 2A"."""
    text = f"{'cat' if short else 'category'} {o.category}"
    return text + " (unsettled)" if o.category_missing else text


def _option_lines(o: OptionFacts) -> list[str]:
    head = f"- **{o.label}:** {TIER_LABEL.get(o.tier, o.tier)}, {category_text(o)}, {status_text(o)}"
    if o.footnotes:
        head += f" (footnotes {', '.join(o.footnotes)})"
    lines = [head]
    lines += [f"  - {md_text(r)}" for r in o.reasons]
    if o.guideline_dose:  # the table that applies states the dose (its own citation: this card's source)
        lines.append(f"  - dose stated in this table: {o.guideline_dose}")
    if o.category_missing:
        lines.append(f"  - category {CATEGORY_UNSETTLED}: {field_labels(o.category_missing)}")
    return lines


def _first_fitting(candidates: Iterable[str]) -> str:
    """The first candidate summary that fits in a card summary (the last one, shortened, otherwise)."""
    last = ""
    for text in candidates:
        last = " ".join(text.split())
        if len(summary_text(last)) == len(last):
            return last
    return summary_text(last)


def _listed_summary(name: str, where: str, found: list[OptionFacts], confirmed: bool) -> str:
    lead = f"{name}: listed for this patient" if confirmed else f"{name}: listed in the possible table"
    if len(found) == 1:
        o = found[0]
        label = "" if o.label.lower() == name.lower() else f"{o.label}, "
        tier = TIER_LABEL.get(o.tier, o.tier)
        full, brief = status_text(o), status_text(o, short=True)
        return _first_fitting(
            [
                f"{lead} ({where}): {label}{tier}, {category_text(o)}, {full}",
                f"{lead} ({where}): {label}{tier}, {category_text(o)}, {brief}",
                f"{lead}: {label}{tier}, {category_text(o)}, {brief}",
                f"{lead}: {tier}, {category_text(o)}, {brief}",
            ]
        )

    def each(bare: bool, labels: bool = False) -> str:
        out = []
        for o in found:
            text = (
                f"{TIER_LABEL.get(o.tier, o.tier)}, {category_text(o, short=True)}, "
                f"{status_text(o, short=True, bare=bare)}"
            )
            out.append(f"{o.label} ({text})" if labels else text)
        return "; ".join(out)

    counts = {s: sum(o.status == s for o in found) for s in ("eligible", "needs_data", "not_eligible")}
    tally = ", ".join(
        f"{n} {word}"
        for n, word in (
            (counts["eligible"], "eligible"),
            (counts["needs_data"], "need data"),
            (counts["not_eligible"], "not eligible"),
        )
        if n
    )
    return _first_fitting(
        [
            f"{lead} in {len(found)} options: {each(False, labels=True)}",
            f"{lead} in {len(found)} options: {each(True, labels=True)}",
            f"{lead} ({where}) in {len(found)} options: {each(False)}",
            f"{lead} in {len(found)} options: {each(False)}",
            f"{lead} in {len(found)} options: {each(True)}",
            f"{lead} ({where}) in {len(found)} options: {tally}",
            f"{lead} in {len(found)} options: {tally}",
        ]
    )


def _source(facts: GuidelineFacts) -> str:
    src = facts.setting.source
    if src is None or not src.table:
        return guideline_label(facts.guideline)
    page = f", page {src.page}" if src.page else ""
    column = f", column {facts.setting.column.replace('_', ' ')}" if facts.setting.column else ""
    return f"{src.document}{page}, table {src.table}{column} (encoded by netcds)"


def _elsewhere(
    agent: str, listing: Sequence[tuple[str, str | None]], here: tuple[str | None, str | None]
) -> str:
    others = [table_label(t, c) for t, c in listing if (t, c) != here]
    lead = "Other guideline tables" if here[0] else "Guideline tables"
    return f"**{lead} that list {agent_name(agent)}:** " + ("; ".join(others) if others else "none")


def guideline_order_card(
    facts: GuidelineFacts,
    agent: str,
    listing: Sequence[tuple[str, str | None]],
    *,
    base_url: str,
    seed: str,
) -> dict[str, Any]:
    """The info card saying whether the guideline lists ``agent`` for this patient (see the module doc);
    ``listing``: the table columns of the guideline that list it (:func:`tables_listing`)."""
    s, name = facts.setting, agent_label(agent)
    found = matching_options(facts, agent)
    where = table_label(s.table, s.column)
    parts: list[str] = []  # the detail's paragraphs
    if s.status == "applies" or (s.status == "needs_data" and facts.options):
        confirmed = s.status == "applies"
        setting = f"{s.title or where}" + (f", {s.row}" if s.row else "")
        parts.append(f"**{'Applicable' if confirmed else 'Possible'} table:** {setting} ({where})")
        if not confirmed:
            parts.append(
                f"**Setting not confirmed yet:** record {field_labels(s.missing) or 'the missing facts'}"
            )
        if found:
            summary = _listed_summary(name, where, found, confirmed)
            rows = [f"**Options of this table that include {agent_name(agent)}:**"]
            for o in found:
                rows += _option_lines(o)
            parts.append("\n".join(rows))
        else:
            lead = "the applicable table" if confirmed else "the possible table"
            summary = _first_fitting(
                [
                    f"{name}: not among the options of {lead} ({where}) for the recorded facts",
                    f"{name}: not among the options of {lead} ({where})",
                ]
            )
            parts.append(f"**{name} is not among the options of this table** for the recorded facts.")
            eligible = [o.label for o in facts.options if o.status == "eligible"]
            if eligible:
                parts.append("**The table's eligible options:** " + "; ".join(eligible))
    elif s.status == "needs_data":
        lead = f"{name}: guideline table not determined yet, so not checked; record"
        summary = _first_fitting(
            [f"{lead} {field_labels(s.missing, n)}" for n in (99, 3, 2, 1)]
            if s.missing
            else [f"{lead} the facts in the detail"]
        )
        reasons = [f"- {r}" for r in s.reasons]
        parts.append(
            "\n".join(["**Which guideline table applies depends on facts not recorded:**", *reasons])
        )
        if s.missing:
            parts.append(f"**Record:** {field_labels(s.missing)}")
    else:
        version = facts.guideline.version
        summary = f"{name}: no NCCN NET V.{version} systemic-therapy table applies to the recorded facts"
        reasons = [f"- {r}" for r in s.reasons]
        parts.append("\n".join(["**No systemic-therapy table of the encoded guideline applies:**", *reasons]))
    parts.append(_elsewhere(agent, listing, (s.table, s.column)))
    plan = ssa_plan_lines(facts.ssa_plan) if agent in SSA_PLAN_AGENTS else []
    if plan:
        parts.append("\n".join(plan))
    parts.append(f"*{facts.disclaimer}*")
    url = guideline_page(base_url, s.table, facts.guideline)
    card = {
        "summary": summary_text(summary),
        "indicator": "info",
        "detail": "\n\n".join(parts),
        "source": card_source(_source(facts), url, "therapy-options", "Systemic therapy options"),
        "links": table_links(base_url, s.table, facts.guideline),
    }
    return finalize(card, seed)


def guideline_unchecked_card(
    agent: str,
    listing: Sequence[tuple[str, str | None]],
    error_id: str,
    guideline: GuidelineRef,
    *,
    base_url: str,
    seed: str,
) -> dict[str, Any]:
    """The info card of an order whose guideline check failed inside netcds (error ``error_id``, logged):
    says so, claims nothing about the patient's options, and still names the tables that list the agent
    (read from the knowledge, not from the failed evaluation)."""
    name, url = agent_label(agent), guideline_page(base_url, None, guideline)
    parts = [
        f"netcds could not evaluate the guideline for this record (internal error {error_id}; it has "
        f"been logged). This card says nothing about whether {agent_name(agent)} is among this patient's "
        "options; the safety and dose cards of this order were built without it.",
        _elsewhere(agent, listing, (None, None)),
    ]
    card = {
        "summary": summary_text(f"{name}: guideline listing not checked (internal error {error_id})"),
        "indicator": "info",
        "detail": "\n\n".join(parts),
        "source": card_source(guideline_label(guideline), url, "therapy-options", "Systemic therapy options"),
        "links": table_links(base_url, None, guideline),
    }
    return finalize(card, seed)


def with_guideline_card(cards: list[dict[str, Any]], card: dict[str, Any]) -> list[dict[str, Any]]:
    """``cards`` with the guideline card after the warnings and critical cards, before the info cards."""
    at = next((i for i, c in enumerate(cards) if c.get("indicator") == "info"), len(cards))
    return [*cards[:at], card, *cards[at:]]
