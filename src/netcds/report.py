"""The readable terminal report of one Evaluation (Rich renderables, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from netcds.engine.core import PAGES_NOT_IN_SOURCE
from netcds.engine.options import failed_conditions
from netcds.engine.possible import beyond_setting
from netcds.evaluation import Evaluation, Option, PossibleSetting, SourceRef
from netcds.field_labels import (
    CATEGORY_UNSETTLED,
    agent_name,
    applied_rule_words,
    pending_rule_words,
)
from netcds.safety.adjusted_dose import NO_DOSE, UNVERIFIED
from netcds.safety.models import SHOWN_INFO_KINDS
from netcds.sequencing.ordering import held_back_reasons, held_back_words, position_words

TIER_TITLES = {
    "preferred": "Preferred",
    "other_recommended": "Other recommended",
    "useful_in_certain_circumstances": "Useful in certain circumstances",
    "listed": "Listed (untiered in the G3 table)",
}
TIER_SHORT = {
    "preferred": "preferred",
    "other_recommended": "other recommended",
    "useful_in_certain_circumstances": "certain circumstances",
    "listed": "listed",
}
STATUS_STYLE = {"eligible": "bold green", "needs_data": "bold yellow", "not_eligible": "red"}
STATUS_WORDS = {"eligible": "ELIGIBLE", "needs_data": "NEEDS DATA", "not_eligible": "NOT ELIGIBLE"}
SEVERITY_STYLE = {"critical": "bold white on red", "warning": "bold yellow", "info": "cyan"}
S = TypeVar("S")
SINGLE_AGENT = frozenset(
    {"cabozantinib", "everolimus", "sunitinib", "belzutifan", "pembrolizumab", "lu177_dotatate"}
)
COLUMN_TITLES = {
    "favorable_advanced": "favorable biology, locally advanced/metastatic",
    "unfavorable_resectable": "unfavorable biology, locoregional resectable",
    "unfavorable_advanced": "unfavorable biology, locally advanced/metastatic",
}


def badge(category: str) -> Text:
    style = {"1": "bold white on blue", "2A": "bold white on dark_cyan", "2B": "black on yellow",
             "3": "black on grey70"}[category]  # fmt: skip
    return Text(f" cat {category} ", style=style)


def positions(ev: Evaluation) -> dict[str, str]:
    """Per ranked option, its discussion position in words ('2 of 4', or '1-3 of 4' when options of
    equal standing share it), from ``discussion_rank`` (tied options carry the same number)."""
    out: dict[str, str] = {}
    for tier in TIER_TITLES:
        ranks = [o.discussion_rank for o in ev.options if o.tier == tier and o.discussion_rank is not None]
        for o in ev.options:
            if o.tier == tier and o.discussion_rank is not None:
                last = o.discussion_rank + ranks.count(o.discussion_rank) - 1
                out[o.entry_id] = position_words(o.discussion_rank, last, len(ranks))
    return out


def order_line(o: Option, position: str | None) -> Text | None:
    """One compact line: the discussion position (shared for ties), why it is held back (the reasons'
    headings) and the factors counted for and against; None for an option that is not ranked."""
    if position is None:
        return None
    bits = [f"Discussion position {position}" + (" (shared)" if "-" in position else "")]
    reasons = held_back_reasons(o.order_explanation or "")
    if reasons is not None:
        bits.append("held back: " + held_back_words(reasons))
    pro = list(dict.fromkeys(f.factor for f in o.order_factors if f.effect > 0))
    con = list(dict.fromkeys(f.factor for f in o.order_factors if f.effect < 0))
    if pro:
        bits.append("for: " + ", ".join(pro))
    if con:
        bits.append("against: " + ", ".join(con))
    if not pro and not con:
        bits.append("no directional consideration")
    return Text(" · ".join(bits), style="yellow" if reasons is not None else "dim")


def cite(src: SourceRef) -> str:
    """A source as the report cites it: "NCCN NET V.5.2024 NE-H, <table>, <section>; footnotes a, b"."""
    doc = src.document
    if src.version and src.version not in doc:
        doc += f" V.{src.version}"
    head = f"{doc} {src.page}" if src.page else doc
    where = [head, src.table, src.section, f"footnote {src.footnote}" if src.footnote else None]
    letters = ", ".join(src.footnotes)
    return ", ".join(x for x in where if x) + (f"; footnotes {letters}" if letters else "")


# said after the citation of a reason whose situation the guideline handles on pages the source lacks
NOT_IN_SOURCE_WORDS = "handled on guideline pages not in the source (not encoded)"


def pages_not_in_source(reason: str, refs: Iterable[tuple[str, str]]) -> bool:
    """Whether a reason no table applies says the guideline handles the situation on pages the source does
    not contain: an unavailable reference (``ref``, ``title``) of that kind titled with the reason's head."""
    head = reason.split(":", 1)[0].strip()
    return any(ref.startswith(f"{PAGES_NOT_IN_SOURCE} (") and title == head for ref, title in refs)


def cited_reasons(
    reasons: Sequence[str], sources: Sequence[S], refs: Iterable[tuple[str, str]]
) -> list[tuple[str, S | None, bool]]:
    """Each reason of the setting with its source (``setting.reason_sources``, aligned with the reasons;
    None in an output stored before it was added) and whether its pages are not in the source
    (:func:`pages_not_in_source`). The report, the web page and the PDF all read them so."""
    refs = list(refs)
    return [
        (r, sources[i] if i < len(sources) else None, i < len(sources) and pages_not_in_source(r, refs))
        for i, r in enumerate(reasons)
    ]


def _setting_reasons(ev: Evaluation) -> list[RenderableType]:
    """Each reason of the setting with where it comes from (an output stored before reasons carried their
    sources: the reasons alone)."""
    out: list[RenderableType] = []
    refs = [(u.ref, u.title) for u in ev.unavailable_references]
    for r, src, not_in_source in cited_reasons(ev.setting.reasons, ev.setting.reason_sources, refs):
        out.append(Text("• " + r))
        if src is not None:
            pages = f"; {NOT_IN_SOURCE_WORDS}" if not_in_source else ""
            out.append(Text("  Source: " + cite(src) + pages, style="dim italic"))
    return out


def _option_cell(o: Option, verbose: bool = False, position: str | None = None) -> RenderableType:
    head = Text(o.label, style="bold")
    if o.intent:
        head.append(f"  [{o.intent}]", style="magenta")
    if o.group:  # the guideline's heading over the entry, e.g. neoadjuvant chemotherapy "case by case"
        head.append(f"  ({o.group})", style="magenta")
    lines: list[RenderableType] = [head]
    if (order := order_line(o, position)) is not None:
        lines.append(order)
    for r in o.reasons:
        style = "green" if r.startswith("Met") else "red" if r.startswith("Not met") else "yellow"
        lines.append(Text("• " + r, style=style if not r.startswith("Qualifier") else "dim"))
    if o.note:  # the entry's own note (e.g. a judgement left to the clinician), as on the web page
        lines.append(Text("Note: " + o.note, style="dim"))
    if o.category_basis:
        lines.append(Text("Category: " + o.category_basis[0], style="dim"))
    if o.category_missing:  # a higher category depends on data not recorded: the shown one is not settled
        lines.append(Text(f"Category {CATEGORY_UNSETTLED}: " + ", ".join(o.category_missing), style="yellow"))
        for more in o.category_basis[1:]:
            lines.append(Text("Category rule waiting: " + more, style="yellow"))
    if o.missing:
        lines.append(Text("Missing: " + ", ".join(o.missing), style="yellow"))
    if o.history is not None and o.history.received:
        lines.append(Text("History: " + o.history.summary, style="magenta"))
    for c in o.considerations:
        arrow = {"for": "+", "against": "-", "neutral": "·"}[c.direction]
        lines.append(Text(f"  {arrow} [{c.factor}] {c.text}", style="blue"))
    for item in o.safety:
        # shown always: what was not screened (an unknown is named) and a rule's finding about this patient
        # or regimen even at info level (e.g. cabozantinib's indication before any systemic therapy, mild
        # renal impairment before Lu-177); monitoring, not-assessed and screened items with --verbose
        if item.severity == "info" and item.kind not in SHOWN_INFO_KINDS and not verbose:
            continue
        lines.append(
            Text(
                f"  ! {item.severity.upper()} {agent_name(item.agent)}: {item.finding} -> {item.action}",
                style=SEVERITY_STYLE[item.severity],
            )
        )
    if o.dose is not None:
        for d in o.dose.agents:
            if d.adjusted:
                applied = "; ".join(applied_rule_words(r, d.rule_names) for r in d.rules_applied)
                text = f"  Dose {agent_name(d.agent)}: {d.adjusted}" + (f" ({applied})" if applied else "")
                lines.append(Text(text, style="bold cyan", overflow="fold"))
            elif o.regimen in SINGLE_AGENT:  # the whole dose text, wrapped in the cell: never cut short
                text = f"  Dose {agent_name(d.agent)}: {d.standard}"
                lines.append(Text(text, style="cyan", overflow="fold"))
            # dose rules waiting on data: the dose shown is not checked against them (with a rule that says to
            # avoid, no fact still to record would give a dose)
            if d.pending and not (d.adjusted or "").removeprefix(UNVERIFIED).startswith(NO_DOSE[0]):
                waiting = pending_rule_words(d.pending, d.rule_names, ", ".join)
                until = "checked or recorded" if "medications[" in waiting else "recorded"
                lines.append(
                    Text(f"  Dose {agent_name(d.agent)} not final until {until}: {waiting}", style="yellow")
                )
    lines.append(Text("Source: " + cite(o.source), style="dim italic"))
    return Group(*lines)


def _tiers(ev: Evaluation) -> Iterator[tuple[str, list[Option]]]:
    for tier, title in TIER_TITLES.items():
        opts = [o for o in ev.options if o.tier == tier]
        if opts:
            yield title, opts


def _possible(p: PossibleSetting, verbose: bool) -> RenderableType:
    """One setting the record leaves open: its entries, none eligible until the setting is confirmed."""
    head = f"{p.title} — {p.row}"
    t = Table(title=head, title_justify="left", show_lines=verbose, expand=True)
    t.add_column("Category", no_wrap=True, width=9)
    t.add_column("Status", no_wrap=True, width=13)
    t.add_column("Tier", width=13)
    t.add_column("Option" + (", reasons and source" if verbose else " (other data it needs)"))
    for o in p.options:
        extra, failed = beyond_setting(o.missing, p.missing), failed_conditions(o.reasons)
        cell: RenderableType = (
            _option_cell(o, verbose)
            if verbose
            else Text(
                o.label + (f" ({', '.join(extra)})" if extra else "") + (f": {failed[0]}" if failed else "")
            )
        )
        t.add_row(
            badge(o.category),
            Text(STATUS_WORDS[o.status], style=STATUS_STYLE[o.status]),
            Text(TIER_SHORT[o.tier], style="dim"),
            cell,
        )
    note = Text(
        "Possible setting, not confirmed: recording " + ", ".join(p.missing) + " decides whether it applies.",
        style="yellow",
    )
    return Panel(Group(note, t), title="If this setting applies", border_style="yellow")


def render(
    ev: Evaluation, extra: list[RenderableType] | None = None, verbose: bool = False
) -> list[RenderableType]:
    out: list[RenderableType] = []
    g = ev.guideline
    out.append(
        Text(
            f"netcds {ev.engine_version} · {g.id} {g.version}"
            + (f" (knowledge release {g.release}, digest {g.digest})" if g.release and g.digest else "")
            + f" · patient {ev.patient_id or '(no id)'}",
            style="bold",
        )
    )
    s = ev.setting
    st = {"applies": "green", "needs_data": "yellow", "not_applicable": "red"}[s.status]
    head = s.title or "No table applies"
    if s.column:
        head += f" — {COLUMN_TITLES.get(s.column, s.column)}"
    body: list[RenderableType] = [Text(head, style="bold"), Text(f"status: {s.status}", style=st)]
    if s.row:
        body.append(Text(f"row: {s.row}", style="dim"))
    body += _setting_reasons(ev)
    if s.missing:
        body.append(Text("Missing to confirm the setting: " + ", ".join(s.missing), style="yellow"))
    out.append(Panel(Group(*body), title="Setting", border_style=st))
    where = positions(ev)
    for title, opts in _tiers(ev):
        t = Table(title=title, title_justify="left", show_lines=True, expand=True)
        t.add_column("Category", no_wrap=True, width=9)
        t.add_column("Status", no_wrap=True, width=13)
        t.add_column("Option, reasons and source")
        for o in opts:
            t.add_row(
                badge(o.category),
                Text(STATUS_WORDS[o.status], style=STATUS_STYLE[o.status]),
                _option_cell(o, verbose, where.get(o.entry_id)),
            )
        out.append(t)
    out += [_possible(p, verbose) for p in ev.possible_settings]
    out.extend(extra or [])
    if ev.safety_summary:
        counts = ", ".join(f"{n} {k}" for k, n in ev.safety_summary.items())
        hint = "" if verbose else " (monitoring, not-assessed and screened info items shown with --verbose)"
        out.append(Text(f"Safety findings across the options: {counts}{hint}", style="dim"))
    plan = ev.ssa_plan
    out.append(
        Panel(
            Group(
                Text(f"action: {plan.action}", style="bold"),
                *[Text("• " + r) for r in plan.reasons],
                *([Text("Source: " + cite(plan.source), style="dim italic")] if plan.source else []),
            ),
            title=f"SSA plan (footnote {plan.footnote or '-'})",
        )
    )
    if ev.needs_data:
        out.append(Panel(Text("\n".join(ev.needs_data), style="yellow"), title="Data that would change this"))
    if ev.notes:
        out.append(Panel(Group(*[Text(f"• {n.text}") for n in ev.notes]), title="General principles"))
    if ev.unavailable_references:
        out.append(
            Panel(
                Group(
                    *[
                        Text(f"• {r.ref}: {r.title} — {r.note}", style="dim")
                        for r in ev.unavailable_references
                    ]
                ),
                title="Referenced, not in the source",
            )
        )
    out.append(Text(ev.sequencing_statement, style="italic"))
    out.append(Text(ev.disclaimer, style="dim italic"))
    return out


def summary_line(ev: Evaluation) -> dict[str, Any]:
    counts = {k: sum(1 for o in ev.options if o.status == k) for k in STATUS_WORDS}
    return {"table": ev.setting.table, "column": ev.setting.column, "status": ev.setting.status, **counts}
