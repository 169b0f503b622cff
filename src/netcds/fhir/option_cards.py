"""The patient-view cards of an evaluation: the options card (eligible options by tier, as the guideline
lists them, with the SSA plan) and the missing-data card (the facts that would change them), with their
links: the stored evaluation's page (the ``EXPLANATION`` marker in a cached card), the guideline's tables
and the SMART app."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from netcds.evaluation import Evaluation, GuidelineRef, Option, SsaPlan
from netcds.fhir.card_base import (
    MAX_SUMMARY,
    field_label,
    field_labels,
    guideline_page,
    summary_text,
    summary_with_fields,
)
from netcds.fhir.card_base import card_links as _links
from netcds.fhir.card_base import card_source as _source
from netcds.fhir.not_carried import WHERE, not_from_fhir
from netcds.field_labels import CATEGORY_UNSETTLED
from netcds.sequencing.ordering import held_back_reasons, held_back_words

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


# what this card shows of the considerations the statement speaks of (the rest: the full evaluation)
CARD_SHOWS = (
    " This card names, per eligible option, only the considerations that hold it back; netcds' full "
    "evaluation (its web page or the REST API) shows all of them."
)


def _option_line(o: Option) -> str:
    bits = [f"category {o.category}"]
    if o.category_missing:  # a rule could raise the category once these are recorded (engine/options.py)
        bits[0] += f", {CATEGORY_UNSETTLED}: {field_labels(o.category_missing)}"
    if o.intent:
        bits.append(o.intent)
    if o.footnotes:
        bits.append("footnotes " + ",".join(o.footnotes))
    held = held_back_reasons(o.order_explanation or "")
    if held is not None:  # as the CLI's order line says it: the status stays the guideline's
        bits.append("held back: " + held_back_words(held))
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
    if src and src.section:  # e.g. the footnote's text is inferred from another page (5.2024-r10)
        cited = f"{cited}; {src.section}"
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
    lines += ["", ev.sequencing_statement + CARD_SHOWS, "", f"*{ev.disclaimer}*"]
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
        line = f"- {field_label(f)}" + (f": {', '.join(dict.fromkeys(labels))}" if labels else "")
        mark = not_from_fhir(f)
        lines.append(line + (f" ({mark})" if mark else ""))
    if any(not_from_fhir(f) for f in depends):
        lines.append(WHERE)
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
