"""Facts derived from the lines of therapy: progression on SSA, exposures, toxicity stops."""

from __future__ import annotations

from datetime import date

from netcds.facts import SSA_AGENTS, progressed_on, treatment_agents
from netcds.patient import Patient
from netcds.sequencing.data import SequencingData
from netcds.sequencing.lines import months, rescue_records
from netcds.sequencing.models import Exposure, HistorySummary, LineOfTherapy, LineRef


def _ref(line: LineOfTherapy, detail: str) -> LineRef:
    return LineRef(line=line.line, agents=line.agents, detail=detail)


def _classes_words(line: LineOfTherapy, data: SequencingData, flag: str) -> str:
    words = [data.classes[c].label for c in line.classes if getattr(data.classes[c], flag)]
    return f"{line.label} ({', '.join(words)})"


def _exposures(patient: Patient, lines: list[LineOfTherapy], data: SequencingData) -> list[Exposure]:
    """Per agent: every recorded course (as a line or as backbone), summed."""
    where: dict[int, list[int]] = {}
    for line in lines:
        for m in line.members:
            where.setdefault(m.index, []).append(line.line)
    courses: dict[str, list[int]] = {}
    for i, t in enumerate(patient.treatments or []):
        for a in treatment_agents(t) if t.agent != "clinical_trial" else ("clinical_trial",):
            courses.setdefault(a, []).append(i)
    out: list[Exposure] = []
    records = patient.treatments or []
    for agent in sorted(courses):
        total, complete, admins = 0.0, True, None
        for i in courses[agent]:
            t = records[i]
            stop = t.end or patient.as_of
            if t.start and stop:
                total += months(t.start, stop)
            else:
                complete = False
            if agent == "lu177_dotatate" and t.start and t.end and t.interval_days:
                admins = (admins or 0) + (t.end - t.start).days // int(t.interval_days) + 1
        basis = "sum of recorded courses" + ("" if complete else "; some dates missing, the total is partial")
        if admins is not None:
            basis += "; administrations estimated from the dates and interval_days"
        in_lines = sorted({n for i in courses[agent] for n in where.get(i, [])})
        out.append(
            Exposure(
                agent=agent,
                agent_class=data.class_of(agent),
                lines=in_lines,
                courses=len(courses[agent]),
                total_months=round(total, 1),
                complete=complete,
                estimated_administrations=admins,
                basis=basis,
            )
        )
    return out


def summarize(patient: Patient, lines: list[LineOfTherapy], data: SequencingData) -> HistorySummary:
    """The history facts the sequencing rules and the report use, each traceable to lines."""
    if patient.treatments is None:
        return HistorySummary(
            recorded=False,
            line_count=0,
            notes=["treatments not recorded: history not assessed (unknown, not none)"],
        )
    on_ssa = progressed_on(patient, SSA_AGENTS, "octreotide LAR/lanreotide")
    on_std = progressed_on(patient, SSA_AGENTS, "standard-dose octreotide LAR/lanreotide", level="standard")
    on_above = progressed_on(
        patient, SSA_AGENTS, "above-label octreotide LAR/lanreotide", level="above_label"
    )
    progressed = [ln for ln in lines if ln.progressed]
    last = max(
        progressed,
        key=lambda ln: (ln.progression_date or ln.end or ln.start or date.min, ln.line),
        default=None,
    )
    myelo = [_ref(ln, _classes_words(ln, data, "myelosuppressive")) for ln in lines if ln.myelosuppressive]
    tki = [_ref(ln, _classes_words(ln, data, "tki")) for ln in lines if ln.tki]
    tox = [_ref(ln, f"{ln.label} stopped for toxicity") for ln in lines if "toxicity" in ln.stop_reasons]
    return HistorySummary(
        recorded=True,
        line_count=len(lines),
        progressed_on=sorted({a for ln in progressed for a in ln.agents}),
        progressed_on_ssa=on_ssa.value,
        progressed_on_standard_ssa=on_std.value,
        progressed_on_above_label_ssa=on_above.value,
        ssa_progression_basis=[on_ssa.why, on_std.why, on_above.why],
        last_progression=_ref(
            last,
            f"{last.label}: progression"
            + (f" on {last.progression_date}" if last.progression_date else "")
            + (f" ({last.progression_type})" if last.progression_type else " (type not recorded)"),
        )
        if last
        else None,
        last_progression_type=last.progression_type if last else None,
        symptomatic_or_clinical_progression_lines=[
            ln.line for ln in progressed if ln.progression_type in ("symptomatic", "clinical")
        ],
        radiographic_progression_lines=[
            ln.line for ln in progressed if ln.progression_type == "radiographic"
        ],
        prior_myelosuppressive=bool(myelo),
        myelosuppressive_lines=myelo,
        prior_tki=bool(tki),
        tki_lines=tki,
        stopped_for_toxicity=tox,
        cumulative_exposures=_exposures(patient, lines, data),
        not_counted_as_lines=rescue_records(patient),
    )
