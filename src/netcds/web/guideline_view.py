"""The guideline tables as the guideline lays them out, read from the knowledge data.

GI, lung/thymus and pancreas: one row per disease setting, the tiers as columns.
WD G3: its three disease columns side by side. Each entry shows its category
(and the condition that changes it), its footnote letters and the condition that
gates it, in the knowledge file's own wording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netcds.knowledge.schema import TIER_ORDER, Column, Entry, Knowledge, Table
from netcds.logic.ast import All, AnyOf, Compare, History, Not
from netcds.web.labels import TABLE_LABELS, TIER_SHORT, field_label, value_label
from netcds.web.templating import PREFIX

OPS = {
    "eq": "is", "ne": "is not", "gt": ">", "ge": "≥", "lt": "<", "le": "≤", "in": "is one of",
    "not_in": "is none of", "is": "is", "contains": "includes",
}  # fmt: skip
PAGES = f"{PREFIX}/guideline"  # the guideline browser: the current release; a release's under /{id}/{release}


def condition_words(c: Any) -> str:
    """A condition in words: its ``says`` when the knowledge gives one, else built from its parts."""
    if c is None:
        return ""
    says = getattr(c, "says", None)
    if says:
        return str(says)
    if isinstance(c, All):
        return " and ".join(condition_words(i) for i in c.items)
    if isinstance(c, AnyOf):
        return "(" + " or ".join(condition_words(i) for i in c.items) + ")"
    if isinstance(c, Not):
        return "not " + condition_words(c.item)
    if isinstance(c, Compare):
        value = c.value
        shown = (
            ", ".join(value_label(v) for v in value)
            if isinstance(value, list | tuple)
            else value_label(value)
        )
        return f"{field_label(c.fact).lower()} {OPS.get(c.op, c.op)} {shown}"
    if isinstance(c, History):
        what = "received" if c.op == "received" else "progressed on"
        return f"{what} {' or '.join(value_label(n) for n in c.named)}"
    return str(c)


@dataclass
class EntryView:
    id: str
    label: str
    regimen: str
    tier: str
    category: str
    category_rules: list[tuple[str, str]]
    gate: str
    qualifiers: list[tuple[str, str | None]]
    footnotes: list[str]
    see: list[str]
    intent: str | None
    group: str | None
    guideline_dose: str | None
    note: str | None


@dataclass
class ColumnView:
    id: str | None
    label: str
    gate: str
    by_tier: dict[str, list[EntryView]]
    empty_tiers: list[str]
    grouped: dict[str, list[tuple[str | None, list[EntryView]]]] = field(default_factory=dict)


@dataclass
class TableView:
    id: str
    short: str
    title: str
    source: str
    columns: list[ColumnView]
    tiers: list[tuple[str, str]]
    layout: str  # "tiers-as-columns" | "settings-as-columns"
    footnotes: list[dict[str, Any]]
    principles: list[dict[str, Any]]
    ssa_footnote: str | None
    title_footnotes: list[str] = field(default_factory=list)


def _entry(e: Entry, default_category: str) -> EntryView:
    return EntryView(
        id=e.id,
        label=e.label,
        regimen=e.regimen,
        tier=e.tier,
        category=e.category or default_category,
        category_rules=[(r.category, r.says) for r in e.category_rules],
        gate=e.when_says or condition_words(e.when),
        qualifiers=[(q.says, q.footnote) for q in e.qualifiers],
        footnotes=list(e.footnotes),
        see=list(e.see),
        intent=e.intent,
        group=e.group,
        guideline_dose=e.guideline_dose,
        note=e.note,
    )


def _column(c: Column, default_category: str) -> ColumnView:
    by_tier: dict[str, list[EntryView]] = {}
    for e in c.entries:
        by_tier.setdefault(e.tier, []).append(_entry(e, default_category))
    grouped: dict[str, list[tuple[str | None, list[EntryView]]]] = {}
    for tier, entries in by_tier.items():
        runs: list[tuple[str | None, list[EntryView]]] = []
        for view in entries:  # consecutive runs, in the guideline's order
            key = view.group or ((view.intent or "").capitalize() or None)
            if runs and runs[-1][0] == key:
                runs[-1][1].append(view)
            else:
                runs.append((key, [view]))
        grouped[tier] = runs
    return ColumnView(c.id, c.label, condition_words(c.when), by_tier, list(c.empty_tiers), grouped)


def _letters(t: Table) -> list[str]:
    out = list(t.title_footnotes)
    if t.ssa_plan_footnote:
        out.append(t.ssa_plan_footnote)
    for c in t.columns:
        for e in c.entries:
            out += e.footnotes
            out += [q.footnote for q in e.qualifiers if q.footnote]
    return sorted(dict.fromkeys(out))


def table_view(kb: Knowledge, table_id: str) -> TableView:
    t = kb.table(table_id)
    default = kb.manifest.default_category
    columns = [_column(c, default) for c in t.columns]
    used = {tier for c in columns for tier in c.by_tier} | {tier for c in columns for tier in c.empty_tiers}
    tiers = [(tier, TIER_SHORT[tier]) for tier in TIER_ORDER if tier in used]
    footnotes = []
    for letter in _letters(t):
        f = kb.footnotes.get(letter)
        if f is None:
            continue
        footnotes.append(
            {
                "letter": letter,
                "available": f.available,
                "text": f.text,
                "reason": f.unavailable_reason,
                "inferred": t.footnote_section(letter) if f.available else None,
            }
        )
    principles = [
        {"id": pid, "text": kb.principles[pid].text, "when": condition_words(kb.principles[pid].when)}
        for pid in t.principles
        if pid in kb.principles
    ]
    src = t.source
    return TableView(
        id=t.id,
        short=TABLE_LABELS.get(t.id, t.id),
        title=t.title,
        source=" · ".join(x for x in (src.document, src.page, src.table) if x),
        columns=columns,
        tiers=tiers,
        layout="settings-as-columns" if t.id == "wd_g3" else "tiers-as-columns",
        footnotes=footnotes,
        principles=principles,
        ssa_footnote=t.ssa_plan_footnote,
        title_footnotes=list(t.title_footnotes),
    )


def table_index(kb: Knowledge) -> list[tuple[str, str, str]]:
    return [(t.id, TABLE_LABELS.get(t.id, t.id), t.title) for t in kb.tables]


@dataclass(frozen=True)
class ReleaseView:
    """Which knowledge release a guideline page shows, where that release's pages are, and the release the
    service uses now (a page of another release says so and links to the current one)."""

    guideline: str
    release: str
    pages: str  # the URL path of this release's pages: /ui/guideline (current), /ui/guideline/{id}/{release}
    current_guideline: str
    current_release: str
    current_tables: frozenset[str]

    @property
    def is_current(self) -> bool:
        return (self.guideline, self.release) == (self.current_guideline, self.current_release)

    def current_page(self, table_id: str | None = None) -> str:
        """The current release's page of the same table (its index when it has no such table)."""
        index = f"{PAGES}/{self.current_guideline}/{self.current_release}"
        return f"{index}/{table_id}" if table_id in self.current_tables else index


def release_view(kb: Knowledge, current: Knowledge, *, versioned: bool) -> ReleaseView:
    """``kb``'s pages (``versioned``: under ``/ui/guideline/{id}/{release}``, where card links lead, else
    the unversioned ``/ui/guideline`` of the current release) beside the ``current`` release's."""
    return ReleaseView(
        guideline=kb.id,
        release=kb.release,
        pages=f"{PAGES}/{kb.id}/{kb.release}" if versioned else PAGES,
        current_guideline=current.id,
        current_release=current.release,
        current_tables=frozenset(t.id for t in current.tables),
    )


# --- agent monographs (as authored in knowledge/agents/*.yaml) ---------------------------------------


def raw_condition_words(c: Any) -> str:
    """A safety-monograph condition (file form) in words."""
    if not isinstance(c, dict):
        return "" if c is None else str(c)
    if c.get("says"):
        return str(c["says"])
    if "all" in c:
        return " and ".join(raw_condition_words(i) for i in c["all"])
    if "any" in c:
        return "(" + " or ".join(raw_condition_words(i) for i in c["any"]) + ")"
    if "not" in c:
        return "not " + raw_condition_words(c["not"])
    if "medication" in c:
        items = c["medication"]
        return "taking " + " or ".join(
            value_label(i) for i in (items if isinstance(items, list) else [items])
        )
    if "fact" in c:
        for op, word in OPS.items():
            if op in c:
                v = c[op]
                shown = ", ".join(value_label(x) for x in v) if isinstance(v, list) else value_label(v)
                return f"{field_label(str(c['fact'])).lower()} {word} {shown}"
    parts = [f"{k} {value_label(v)}" for k, v in c.items()]
    return "; ".join(parts)


def cite(mono: dict[str, Any], cite: Any) -> list[dict[str, Any]]:
    """A monograph citation resolved against its ``sources``: one dict per document (main, then 'also')."""
    if not isinstance(cite, dict):
        return []
    sources = mono.get("sources") or {}
    out = []
    for c in [cite, *(cite.get("also") or [])]:
        doc = sources.get(c.get("ref")) or {}
        out.append(
            {
                "document": doc.get("document", c.get("ref")),
                "section": c.get("section"),
                "url": doc.get("url"),
                "date": doc.get("date"),
                "seed": doc.get("seed"),
            }
        )
    return out
