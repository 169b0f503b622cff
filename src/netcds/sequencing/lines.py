"""Lines of therapy from ``patient.treatments[]``: grouping, regimens, durations, progression.

Decisions (documented in docs/sequencing.md):

- Treatments starting within ``concurrent_start_window_days`` of a line's first
  start form one line; an agent added later starts a new line.
- Concurrent agents are named as a regimen by the recognition table of
  ``knowledge/sequencing/considerations.yaml`` (e.g. capecitabine + temozolomide
  -> capecitabine_temozolomide; fluorouracil + leucovorin + oxaliplatin -> folfox).
- A long-acting SSA given with, or continued into, another line is that line's
  *backbone*, not a line of its own; an SSA course alone is a line. The SSA line
  ends (as a line) when the next line starts while the SSA continues.
- Short-acting octreotide (rescue for symptoms) is not a line of therapy.
- Undated treatments keep their place in the recorded list.
- Months are days / 30.4375, to one decimal; an ongoing line is measured to
  ``as_of`` only when the record gives it (no clock is read).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from netcds.facts import treatment_agents
from netcds.field_labels import agent_name
from netcds.history import (
    ended_before_progression,
    progressed_value,
    progression_assessed_after,
    ssa_dose_level,
)
from netcds.patient import AGENT_IDS, REGIMEN_AGENTS, Patient, Treatment
from netcds.sequencing.data import SequencingData
from netcds.sequencing.models import Durability, LineMember, LineOfTherapy, Response

LONG_ACTING_SSA = frozenset({"octreotide_lar", "lanreotide"})
RESPONSE_RANK = {"CR": 4, "PR": 3, "SD": 2, "PD": 1}
STOP_PRIORITY = ("progression", "toxicity", "patient_choice", "completed", "other")
DAYS_PER_MONTH = 30.4375
PROGRESSING_NOW = (
    "disease status is progressive while this latest line is ongoing, progression assessed after it began"
)
REGIMEN_LABELS = {
    "folfox": "FOLFOX", "capeox": "CAPEOX", "folfiri": "FOLFIRI", "folfirinox": "FOLFIRINOX",
    "capecitabine_temozolomide": "capecitabine + temozolomide (CAPTEM)",
    "temozolomide_pm_capecitabine": "temozolomide", "lu177_dotatate": "Lu-177 dotatate (PRRT)",
    "cisplatin_etoposide": "cisplatin + etoposide", "carboplatin_etoposide": "carboplatin + etoposide",
    "cisplatin_irinotecan": "cisplatin + irinotecan", "nivolumab_ipilimumab": "nivolumab + ipilimumab",
    "rt_fluoropyrimidine": "radiotherapy", "clinical_trial": "clinical trial",
    "ssa": "standard-dose SSA", "ssa_above_label": "above-label SSA",
}  # fmt: skip


def months(a: date, b: date) -> float:
    return round((b - a).days / DAYS_PER_MONTH, 1)


def best_response(values: list[Response | None]) -> Response | None:
    """The best of the recorded responses (CR > PR > SD > PD), or None when none is recorded."""
    best: Response | None = None
    for r in values:
        if r is not None and (best is None or RESPONSE_RANK[r] > RESPONSE_RANK[best]):
            best = r
    return best


def is_ssa(t: Treatment) -> bool:
    return t.agent in ("ssa", "ssa_above_label") or set(treatment_agents(t)) <= LONG_ACTING_SSA


def _member(i: int, t: Treatment, role: str) -> LineMember:
    level, basis = ssa_dose_level(t) if is_ssa(t) else (None, None)
    return LineMember(
        index=i,
        field=f"treatments[{i}]",
        agent=t.agent,
        role=role,
        start=t.start,
        end=t.end,
        dose_mg=t.dose_mg,
        interval_days=t.interval_days,
        ssa_dose_level=level,
        ssa_dose_basis=basis,
        best_response=t.best_response,
        progressed=progressed_value(t),
        progression_date=t.progression_date,
        progression_type=t.progression_type,
        stop_reason=t.stop_reason,
    )


@dataclass
class _Draft:
    items: list[tuple[int, Treatment]]
    backbone: list[tuple[int, Treatment]] = field(default_factory=list)
    superseded_by: date | None = None
    superseded_line: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def start(self) -> date | None:
        starts = [t.start for _, t in self.items if t.start]
        return min(starts) if starts else None

    @property
    def record_end(self) -> date | None:
        if any(t.end is None for _, t in self.items):
            return None
        ends = [t.end for _, t in self.items if t.end]
        return max(ends) if ends else None

    @property
    def ssa_only(self) -> bool:
        return all(is_ssa(t) for _, t in self.items)


def _ordered(treatments: list[Treatment]) -> list[tuple[int, Treatment, date]]:
    """Dated treatments by start; an undated one keeps its place after its predecessor."""
    out: list[tuple[int, Treatment, date]] = []
    previous = date.min
    for i, t in enumerate(treatments):
        key = t.start or previous
        previous = key
        out.append((i, t, key))
    out.sort(key=lambda x: (x[2], x[0]))
    return out


def _cluster(treatments: list[Treatment], window: int) -> list[_Draft]:
    drafts: list[_Draft] = []
    for i, t, _key in _ordered(treatments):
        if t.agent == "octreotide":
            continue  # rescue short-acting octreotide is not a line
        cur = drafts[-1] if drafts else None
        if cur is not None and t.start and cur.start and (t.start - cur.start).days <= window:
            cur.items.append((i, t))
            continue
        if cur is not None and is_ssa(t) and t.start:
            running = [
                d
                for d in drafts
                if not d.ssa_only
                and d.start
                and d.start < t.start
                and (d.record_end is None or d.record_end > t.start)
            ]
            if running:  # an SSA added while another line runs joins it as backbone
                running[-1].backbone.append((i, t))
                continue
        drafts.append(_Draft(items=[(i, t)]))
    for d in drafts:  # an SSA started together with another agent is that line's backbone
        if not d.ssa_only:
            d.backbone += [(i, t) for i, t in d.items if is_ssa(t)]
            d.items = [(i, t) for i, t in d.items if not is_ssa(t)]
    return drafts


def _carry_backbone(drafts: list[_Draft], window: int) -> None:
    """An SSA line whose SSA continues into later lines ends (as a line) when the next one starts."""
    for n, d in enumerate(drafts):
        if not d.ssa_only or d.start is None:
            continue
        for later_n in range(n + 1, len(drafts)):
            later = drafts[later_n]
            ls = later.start
            if later.ssa_only or ls is None:
                continue
            for i, t in d.items:
                if t.end is None or (t.end - ls).days > window:
                    if all(i != j for j, _ in later.backbone):
                        later.backbone.append((i, t))
                    if d.superseded_by is None:
                        d.superseded_by = ls
                        d.superseded_line = later_n


def _agents(items: list[tuple[int, Treatment]]) -> list[str]:
    out: list[str] = []
    for _, t in items:
        for a in treatment_agents(t) if t.agent != "clinical_trial" else ():
            if a not in out:
                out.append(a)
    return out


def _recognize(d: _Draft, agents: list[str], data: SequencingData) -> tuple[str | None, list[str]]:
    if d.ssa_only:
        levels = {ssa_dose_level(t)[0] for _, t in d.items}
        reg = "ssa_above_label" if "above_label" in levels else "ssa"
        return reg, [reg]
    recorded = [t.agent for _, t in d.items]
    if recorded == ["clinical_trial"]:
        return "clinical_trial", ["clinical_trial"]
    have = set(agents)
    matches = [
        r
        for r in data.recognition
        if set(r.requires) <= have and have <= set(r.requires) | set(r.optional) and have
    ]
    counts = [r.regimen for r in matches]
    named = [r for r in recorded if r in REGIMEN_AGENTS and r not in AGENT_IDS]
    if len(recorded) == 1 and named:
        return named[0], list(dict.fromkeys([named[0], *counts]))
    specific = sorted((r for r in matches if r.requires), key=lambda r: -len(r.requires))
    return (specific[0].regimen if specific else None), counts


def _label(regimen: str | None, agents: list[str], d: _Draft) -> str:
    if d.ssa_only:
        parts = []
        for _, t in d.items:
            level, _why = ssa_dose_level(t)
            dose = f" {t.dose_mg:g} mg" if t.dose_mg else ""
            every = f" every {t.interval_days:g} days" if t.interval_days else ""
            word = {
                "standard": "standard dose",
                "above_label": "above-label dose",
                "below_standard": "below the standard dose",
            }.get(level or "", "dose level unknown")
            name = agent_name("ssa" if t.agent == "ssa_above_label" else t.agent)  # the level says the rest
            parts.append(f"{name}{dose}{every} ({word})")
        return "; ".join(parts)
    if regimen in REGIMEN_LABELS and (regimen != "temozolomide_pm_capecitabine" or len(agents) == 1):
        return REGIMEN_LABELS[regimen]
    return " + ".join(agent_name(a) for a in agents) or "not specified"


#: Stop reasons that end a line before (and apart from) any progression. ``completed`` is not among them: a
#: finished course (a PRRT course) is judged by how long after its end the disease progressed.
STOPPED_BEFORE_PROGRESSION = ("toxicity", "patient_choice", "other")


def line_stopped_before_progression(ln: LineOfTherapy) -> bool:
    """The line was stopped for toxicity, the patient's choice or another reason, before a progression dated
    after its end (``history.ended_before_progression``, as the tables read "progression on"): that
    progression came after it, off treatment, not on it. Clinical QA, session 37: such a line had been held
    against its regimen as progression on it, its durability measured to the later progression."""
    return ended_before_progression(
        ln.end, ln.progression_date, ln.stop_reasons, ln.best_response, STOPPED_BEFORE_PROGRESSION
    )


def _durability(
    start: date | None,
    end: date | None,
    ongoing_to: date | None,
    progressed: bool | None,
    prog_date: date | None,
    stopped_first: str | None = None,
) -> Durability:
    if start is None:
        return Durability(months=None, to_progression=progressed, basis="start date not recorded")
    if stopped_first and end and prog_date:  # the time on it, without progression on it
        return Durability(
            months=months(start, end),
            to_progression=False,
            basis=(
                f"start to end of line, stopped for {stopped_first.replace('_', ' ')} before progression "
                f"(progression {months(end, prog_date):g} months after it ended, off treatment; at least "
                "this long)"
            ),
        )
    if progressed and prog_date:
        return Durability(months=months(start, prog_date), to_progression=True, basis="start to progression")
    if progressed and end:
        return Durability(
            months=months(start, end),
            to_progression=True,
            basis="start to end of line (progression date not recorded)",
        )
    if progressed:
        return Durability(months=None, to_progression=True, basis="progressed; no progression or end date")
    stop = end or ongoing_to
    if stop is None:
        return Durability(
            months=None, to_progression=progressed, basis="ongoing; no as_of date to measure to"
        )
    what = "without progression" if progressed is False else "progression not recorded"
    how = "to end of line" if end else f"ongoing, to as_of {ongoing_to}"
    return Durability(
        months=months(start, stop),
        to_progression=False if progressed is False else None,
        basis=f"{how}, {what} (at least this long)",
    )


def _finish(n: int, d: _Draft, p: Patient, data: SequencingData, window: int, last: bool) -> LineOfTherapy:
    members = [_member(i, t, "line") for i, t in d.items]
    members += [_member(i, t, "backbone") for i, t in d.backbone]
    own = [m for m in members if m.role == "line"]
    agents = _agents(d.items)
    regimen, counts = _recognize(d, agents, data)
    start = d.start
    notes = list(d.notes)
    if d.superseded_by is not None:
        end: date | None = d.superseded_by
        end_basis = (
            f"the SSA continued as backbone of line {(d.superseded_line or 0) + 1}; this line ends there"
        )
    else:
        end = d.record_end
        end_basis = "recorded end" if end else "ongoing (no end recorded)"
    ongoing = end is None
    if ongoing and p.as_of and start:
        duration, dbasis = months(start, p.as_of), f"ongoing, measured to as_of {p.as_of}"
    elif start and end:
        duration, dbasis = months(start, end), "start to end"
    else:
        duration, dbasis = None, "ongoing and no as_of date" if start else "start date not recorded"
    # progression attributed to this line (a backbone SSA's later progression belongs to the later line)
    prog_vals: list[bool | None] = []
    prog_dates: list[tuple[date, str | None]] = []
    for m in own:
        if m.progression_date and end and d.superseded_by and (m.progression_date - end).days > window:
            notes.append(
                f"{agent_name(m.agent)} progression on {m.progression_date} falls in a later line "
                "(SSA as backbone)"
            )
            prog_vals.append(None)
            continue
        prog_vals.append(m.progressed)
        if m.progression_date:
            prog_dates.append((m.progression_date, m.progression_type))
    progressed: bool | None
    if any(v is True for v in prog_vals):
        progressed = True
    elif prog_vals and all(v is False for v in prog_vals):
        progressed = False
    elif d.superseded_by is not None and any(m.progressed for m in own):
        progressed = True
    else:
        progressed = None
    # progressing now only when progression was assessed after the line began
    if progressed is None and ongoing and last and progression_assessed_after(p, start):
        progressed = True
        notes.append(PROGRESSING_NOW)
    prog_dates.sort(key=lambda x: x[0])
    prog_date = prog_dates[0][0] if prog_dates else None
    types = [m.progression_type for m in own if m.progression_type and m.progressed is not False]
    prog_type = prog_dates[0][1] if prog_dates and prog_dates[0][1] else (types[0] if types else None)
    best = best_response([m.best_response for m in own])
    # a superseded SSA line continued as the next line's backbone: it was not stopped, so no stop
    # reason is made up for it (its end_basis says why the line ends)
    stops = list(dict.fromkeys(m.stop_reason for m in own if m.stop_reason))
    stop = next((s for s in STOP_PRIORITY if s in stops), None)
    classes = list(dict.fromkeys(c for a in agents if (c := data.class_of(a)) is not None))
    level = None
    if d.ssa_only:
        levels = {m.ssa_dose_level for m in own}
        level = (
            "above_label"
            if regimen == "ssa_above_label"
            else "standard"
            if levels == {"standard"}
            else "below_standard"
            if "below_standard" in levels and None not in levels
            else None
        )
        if level is None:
            unknown = [m for m in own if m.ssa_dose_level is None]
            conflict = [m for m in unknown if m.dose_mg is not None or m.interval_days is not None]
            if conflict and conflict[0].ssa_dose_basis:  # the readings as either SSA disagree
                notes.append(f"dose level unknown: {conflict[0].ssa_dose_basis}")
            else:
                notes.append("SSA dose or interval not recorded: dose level unknown")
    return LineOfTherapy(
        line=n,
        regimen=regimen,
        label=_label(regimen, agents, d),
        agents=agents,
        backbone=list(dict.fromkeys(t.agent for _, t in d.backbone)),
        counts_as=counts,
        classes=classes,
        start=start,
        end=end,
        end_basis=end_basis,
        ongoing=ongoing,
        duration_months=duration,
        duration_basis=dbasis,
        best_response=best,
        stop_reason=stop,
        stop_reasons=stops,
        progressed=progressed,
        progression_date=prog_date,
        progression_type=prog_type,
        durability=_durability(
            start,
            end,
            p.as_of if ongoing else None,
            progressed,
            prog_date,
            stop
            if ended_before_progression(end, prog_date, stops, best, STOPPED_BEFORE_PROGRESSION)
            else None,
        ),
        ssa_dose_level=level,
        myelosuppressive=any(data.classes[c].myelosuppressive for c in classes),
        tki=any(data.classes[c].tki for c in classes),
        members=members,
        notes=notes,
    )


def build_lines(patient: Patient, data: SequencingData) -> list[LineOfTherapy]:
    """The patient's lines of therapy, in order, numbered from 1 (empty when none or unknown)."""
    if not patient.treatments:
        return []
    window = data.conventions.concurrent_start_window_days
    drafts = _cluster(list(patient.treatments), window)
    _carry_backbone(drafts, window)
    return [_finish(n + 1, d, patient, data, window, n == len(drafts) - 1) for n, d in enumerate(drafts)]


def rescue_records(patient: Patient) -> list[str]:
    return [
        f"treatments[{i}] short-acting octreotide (symptom rescue, not a line of therapy)"
        for i, t in enumerate(patient.treatments or [])
        if t.agent == "octreotide"
    ]
