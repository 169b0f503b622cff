"""Render a knowledge table as the guideline lays it out (used by `netcds kb show`)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from netcds.knowledge.schema import TIER_ORDER, Entry, Knowledge
from netcds.knowledge.schema import Table as KbTable
from netcds.logic.ast import All, AnyOf, Compare, Condition, History, Not

TIER_HEADS = {
    "preferred": "Preferred Regimens",
    "other_recommended": "Other Recommended Regimens",
    "useful_in_certain_circumstances": "Useful in Certain Circumstances",
}


def describe(c: Condition | None) -> str:
    """A condition in words (its `says` where given)."""
    if c is None:
        return ""
    if c.says:
        return c.says
    if isinstance(c, All):
        return " and ".join(describe(i) for i in c.items)
    if isinstance(c, AnyOf):
        return " or ".join(describe(i) for i in c.items)
    if isinstance(c, Not):
        return f"not {describe(c.item)}"
    if isinstance(c, Compare):
        return f"{c.fact} {c.op} {c.value}"
    if isinstance(c, History):
        return f"{c.op.replace('_', ' ')} {', '.join(c.named)}"
    raise TypeError(f"unknown condition node {type(c).__name__}")


def entry_text(kb: Knowledge, e: Entry) -> Text:
    t = Text("• " + e.label, style="bold")
    cat = e.category or kb.manifest.default_category
    if cat != kb.manifest.default_category:
        t.append(f" (category {cat})", style="magenta")
    for r in e.category_rules:
        t.append(f" (category {r.category} if {r.says})", style="magenta")
    if e.when is not None:
        t.append(f" [if {describe(e.when)}]", style="cyan")
    if e.footnotes:
        t.append(" ^" + ",".join(e.footnotes), style="yellow")
    if e.see:
        t.append(" (" + ", ".join(e.see) + ")", style="dim")
    if e.guideline_dose:
        t.append(f" {e.guideline_dose}", style="dim")
    return t


def render_table(kb: Knowledge, table: KbTable) -> list[RenderableType]:
    out: list[RenderableType] = [
        Text(f"{table.title}  ({table.source.page}, NCCN NET V.{kb.version})", style="bold underline")
    ]
    if table.id == "wd_g3":
        grid = Table(show_lines=True, expand=True)
        for col in table.columns:
            grid.add_column(col.label)
        columns = [Group(*[entry_text(kb, e) for e in col.entries]) for col in table.columns]
        grid.add_row(*columns)
    else:
        grid = Table(show_lines=True, expand=True)
        grid.add_column("", width=26)
        for tier in TIER_ORDER[:3]:
            grid.add_column(TIER_HEADS[tier])
        for col in table.columns:
            cells: list[RenderableType] = [Text(col.label, style="bold")]
            for tier in TIER_ORDER[:3]:
                es = [e for e in col.entries if e.tier == tier]
                cells.append(Group(*[entry_text(kb, e) for e in es]) if es else Text("• None", style="dim"))
            grid.add_row(*cells)
    out.append(grid)
    letters = sorted(
        {f for c in table.columns for e in c.entries for f in e.footnotes} | set(table.title_footnotes)
    )
    for letter in letters:
        fn = kb.footnotes[letter]
        inferred = table.footnote_section(letter) if fn.available else None
        out.append(
            Text(
                f"{letter}  "
                + (fn.text or f"[unavailable] {fn.unavailable_reason}")
                + (f" [{inferred}]" if inferred else ""),
                style="" if fn.available else "dim",
            )
        )
    out.append(Text(category_note(kb, table), style="italic"))
    return out


def category_note(kb: Knowledge, table: KbTable) -> str:
    """The table's own default-category principle (the source prints the note under some tables only; the
    GI table's says so), else the release's default in netcds' words."""
    for pid in table.principles:
        if pid.startswith("default_category") and pid in kb.principles:
            return kb.principles[pid].text
    return f"Unless an entry is marked otherwise, netcds shows it as category {kb.manifest.default_category}."
