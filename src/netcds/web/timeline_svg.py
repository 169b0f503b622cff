"""Geometry of the line-of-therapy swimmer plot, drawn server-side as SVG by ``_timeline_svg.html``.

One row per line of therapy: a bar from start to end (to ``as_of`` when ongoing),
its label, dates, best response and reason stopped above it, a marker at the
progression date, and a thin bar for an SSA backbone. Lines without dates keep
their place with a hatched bar of nominal width. Pure: the same lines give the
same drawing (no clock is read; an ongoing line without ``as_of`` ends at the
last recorded date).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from netcds.web.labels import value_label

WIDTH = 960
LEFT = 56
RIGHT = 24
TOP = 10
ROW = 64
BAR_H = 16
AXIS_H = 30
PLOT_W = WIDTH - LEFT - RIGHT

CLASS_COLOURS = {
    "somatostatin_analog": "ssa",
    "prrt": "prrt",
    "mtor_inhibitor": "targeted",
    "tki": "targeted",
    "vegfr_tki": "targeted",
    "multikinase_inhibitor": "targeted",
    "hif2a_inhibitor": "targeted",
    "immune_checkpoint_inhibitor": "immuno",
    "fluoropyrimidine": "chemo",
    "alkylating_agent": "chemo",
    "platinum": "chemo",
    "topoisomerase_i_inhibitor": "chemo",
    "topoisomerase_ii_inhibitor": "chemo",
    "radiotherapy": "radiation",
}
LEGEND = (
    ("ssa", "Somatostatin analog"),
    ("prrt", "PRRT"),
    ("targeted", "Targeted therapy"),
    ("chemo", "Chemotherapy"),
    ("immuno", "Immunotherapy"),
    ("other", "Other / unclassified"),
)
STOP_WORDS = {
    "progression": "stopped: progression",
    "toxicity": "stopped: toxicity",
    "completed": "completed",
    "patient_choice": "stopped: patient choice",
    "other": "stopped: other reason",
}


@dataclass
class Marker:
    x: float
    y: float
    title: str
    dated: bool


@dataclass
class Bar:
    line: int
    x: float
    y: float
    w: float
    h: float
    kind: str  # css colour family
    dated: bool
    ongoing: bool
    title: str
    heading: str
    detail: str
    backbone: tuple[float, float, str] | None = None  # x, w, title
    markers: list[Marker] = field(default_factory=list)
    response: str | None = None
    response_x: float = 0.0


@dataclass
class Tick:
    x: float
    label: str
    major: bool


@dataclass
class Timeline:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[Tick]
    axis_y: float
    start: date | None
    end: date | None
    summary: str
    legend: tuple[tuple[str, str], ...] = LEGEND


def _d(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _kind(line: dict[str, Any]) -> str:
    for c in line.get("classes") or []:
        if c in CLASS_COLOURS:
            return CLASS_COLOURS[c]
    regimen = line.get("regimen") or ""
    if regimen in ("ssa", "ssa_above_label"):
        return "ssa"
    if regimen == "lu177_dotatate":
        return "prrt"
    return "other"


def _ticks(start: date, end: date, to_x: Any) -> list[Tick]:
    years = end.year - start.year
    out: list[Tick] = []
    labelled: set[int] = set()
    for y in range(start.year, end.year + 2):
        for m in (1, 4, 7, 10) if years <= 3 else (1,):
            d = date(y, m, 1)
            if start <= d <= end:
                text = str(y) if m == 1 else d.strftime("%b") + ("" if y in labelled else f" {y}")
                labelled.add(y)
                out.append(Tick(to_x(d), text, m == 1))
    return out


def build_timeline(lines: list[dict[str, Any]], as_of: Any = None) -> Timeline:
    """The drawing of ``lines`` (LineOfTherapy as JSON dicts, in line order)."""
    as_of_d = _d(as_of)
    dates: list[date] = []
    for ln in lines:
        for key in ("start", "end", "progression_date"):
            d = _d(ln.get(key))
            if d:
                dates.append(d)
        for m in ln.get("members") or []:
            for key in ("start", "end"):
                d = _d(m.get(key))
                if d:
                    dates.append(d)
    if as_of_d and any(ln.get("ongoing") for ln in lines):
        dates.append(as_of_d)
    start = min(dates) if dates else None
    end = max(dates) if dates else None
    if start and end and (end - start).days < 60:
        end = date.fromordinal(start.toordinal() + 60)
    span = (end - start).days if start and end else 0

    def to_x(d: date) -> float:
        assert start is not None
        return LEFT + (d - start).days / span * PLOT_W if span else LEFT

    height = TOP + ROW * max(len(lines), 1) + AXIS_H
    bars: list[Bar] = []
    slot = PLOT_W / max(len(lines), 1)
    prev_end_x = float(LEFT)
    for n, ln in enumerate(lines):
        y = TOP + n * ROW + 30
        s, e = _d(ln.get("start")), _d(ln.get("end"))
        ongoing = bool(ln.get("ongoing"))
        if ongoing and e is None:
            e = as_of_d or end
        dated = s is not None and start is not None
        if dated and s is not None:
            x = to_x(s)
            w = max((to_x(e) - x) if e else 4.0, 4.0)
        else:  # no start date: keep its place, nominal width
            x = prev_end_x if start else LEFT + n * slot
            w = min(PLOT_W * 0.08, slot) if start else slot * 0.9
            x = min(x, LEFT + PLOT_W - w)
        prev_end_x = x + w
        label = str(ln.get("label") or "not specified")
        resp = ln.get("best_response")
        stop = (
            "ongoing"
            if ln.get("ongoing")
            else STOP_WORDS.get(ln.get("stop_reason") or "", "stop not recorded")
        )
        months = ln.get("duration_months")
        dates_txt = f"{ln.get('start') or 'start ?'} → {ln.get('end') or ('ongoing' if ongoing else 'end ?')}"
        detail = dates_txt + (f" ({months:g} mo)" if isinstance(months, int | float) else "")
        detail += f" · best response {resp}" if resp else " · best response not recorded"
        detail += f" · {stop}"
        heading = f"Line {ln.get('line', n + 1)}: {label}"
        if len(heading) > 95:
            heading = heading[:94] + "…"
        bar = Bar(
            line=int(ln.get("line", n + 1)),
            x=round(x, 1),
            y=y,
            w=round(w, 1),
            h=BAR_H,
            kind=_kind(ln),
            dated=dated,
            ongoing=ongoing,
            title=f"{heading}; {detail}",
            heading=heading,
            detail=detail if dated else detail + " · dates not recorded",
            response=resp,
            response_x=round(x + w / 2, 1),
        )
        backbone = [m for m in ln.get("members") or [] if m.get("role") == "backbone"]
        if backbone and start:
            bs = min((_d(m.get("start")) or s or start) for m in backbone)
            be_list = [_d(m.get("end")) for m in backbone]
            be = (as_of_d or end) if any(b is None for b in be_list) else max(b for b in be_list if b)
            if be is not None:
                bx = max(to_x(bs), x)
                names = ", ".join(value_label(m.get("agent")) for m in backbone)
                bar.backbone = (round(bx, 1), round(max(to_x(be) - bx, 3.0), 1), f"SSA backbone: {names}")
        if ln.get("progressed"):
            pd = _d(ln.get("progression_date"))
            if pd and start:
                bar.markers.append(Marker(round(to_x(pd), 1), y, f"progression {pd.isoformat()}", True))
            else:
                bar.markers.append(Marker(round(x + w, 1), y, "progressed (date not recorded)", False))
        bars.append(bar)
    ticks = _ticks(start, end, to_x) if start and end and span else []
    n = len(lines)
    summary = (
        "No systemic treatment recorded."
        if n == 0
        else f"{n} line{'s' if n != 1 else ''} of therapy"
        + (f" from {start.isoformat()} to {end.isoformat()}." if start and end else "; dates not recorded.")
    )
    return Timeline(WIDTH, height, bars, ticks, TOP + ROW * max(n, 1) + 6, start, end, summary)
