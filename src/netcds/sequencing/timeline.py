"""The treatment timeline as a Rich table for the CLI's text report (no I/O here)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from netcds.field_labels import agent_name
from netcds.sequencing.models import LineOfTherapy

RESPONSE_STYLE = {"CR": "bold green", "PR": "green", "SD": "yellow", "PD": "red"}
STOP_STYLE = {"progression": "red", "toxicity": "magenta", "completed": "green"}


def _stopped(ln: LineOfTherapy) -> Text:
    out = Text()
    if ln.ongoing:
        out.append("ongoing", style="cyan")
    elif ln.stop_reason:
        out.append(ln.stop_reason.replace("_", " "), style=STOP_STYLE.get(ln.stop_reason, ""))
    else:
        out.append("not recorded", style="dim")
    if ln.progressed:
        when = f" {ln.progression_date}" if ln.progression_date else ""
        kind = f", {ln.progression_type}" if ln.progression_type else ""
        after = (
            f", after {ln.durability.months:g} mo"
            if ln.durability.to_progression and ln.durability.months is not None
            else ""
        )
        out.append(f"\nprogressed{when}{kind}{after}", style="red")
    elif ln.progressed is None and not ln.ongoing:
        out.append("\nprogression not recorded", style="dim")
    return out


def render_timeline(lines: list[LineOfTherapy], title: str = "Lines of therapy") -> Table:
    """One row per line: number, agent(s) (+ SSA backbone), dates, duration, best response, stop."""
    table = Table(title=title, show_lines=True, expand=False)
    table.add_column("Line", justify="right", style="bold")
    table.add_column("Agent(s)")
    table.add_column("Dates")
    table.add_column("Duration", justify="right")
    table.add_column("Best response", justify="center")
    table.add_column("Reason stopped / progression")
    if not lines:
        table.add_row("-", Text("no systemic treatment recorded", style="dim"), "", "", "", "")
        return table
    for ln in lines:
        agents = Text(ln.label)
        if ln.backbone:
            agents.append(
                "\nwith SSA backbone: " + ", ".join(agent_name(b) for b in ln.backbone), style="dim"
            )
        dates = f"{ln.start or '?'} -> {ln.end or 'ongoing'}"
        dur = f"{ln.duration_months:g} mo" if ln.duration_months is not None else "?"
        resp = Text(ln.best_response or "-", style=RESPONSE_STYLE.get(ln.best_response or "", "dim"))
        table.add_row(str(ln.line), agents, dates, dur, resp, _stopped(ln))
    return table
