"""Footnote a: what to do with a running SSA when progression is clinically significant."""

from __future__ import annotations

from datetime import date

from netcds.evaluation import SourceRef, SsaPlan
from netcds.facts import SSA_AGENTS, Facts, treatment_agents
from netcds.field_labels import agent_name
from netcds.knowledge.schema import Knowledge, Table


def _current_ssa(facts: Facts) -> str:
    ts = facts.patient.treatments
    if ts is None:
        return "SSA use not recorded"
    ssa = [t for t in ts if SSA_AGENTS.intersection(treatment_agents(t))]
    if not ssa:
        return "no octreotide LAR/lanreotide in the recorded history"
    ongoing = [t for t in ssa if t.end is None]
    if ongoing:
        return f"currently on {agent_name(ongoing[-1].agent)}"
    last = max(ssa, key=lambda t: t.end or t.start or date.min)
    return f"{agent_name(last.agent)} already stopped{f' on {last.end}' if last.end else ''}"


def ssa_plan(kb: Knowledge, table: Table | None, facts: Facts) -> SsaPlan:
    if table is None:
        return SsaPlan(action="not_applicable", reasons=["No table applies, so footnote a does not either."])
    letter = table.ssa_plan_footnote
    if letter is None:
        return SsaPlan(
            action="not_specified",
            reasons=[f"The {table.title} table carries no footnote on continuing or stopping an SSA."],
            source=SourceRef(
                document=table.source.document,
                version=kb.version,
                page=table.source.page,
                table=table.source.table,
            ),
        )
    fn = kb.footnotes[letter]
    src = SourceRef(
        document=fn.source.document,
        version=kb.version,
        page=fn.source.page,
        table=table.source.table,
        footnote=letter,
    )
    current = _current_ssa(facts)
    fwhy = facts.why("derived.functional")
    ts = facts.patient.treatments
    if ts is not None and not any(SSA_AGENTS.intersection(treatment_agents(t)) for t in ts):
        return SsaPlan(
            action="not_applicable",
            footnote=letter,
            source=src,
            reasons=[
                f"Footnote {letter} concerns a patient receiving octreotide LAR or lanreotide; "
                "the recorded history has none."
            ],
        )
    significant = facts.get("disease.progression_clinically_significant")
    progressive = facts.get("derived.progressive")
    functional = facts.get("derived.functional")
    # one reading of "clinically significant progression" (facts.py), shared with the SSA qualifiers
    significant_progression = facts.get("derived.significant_progression")
    if significant_progression is False:
        why = (
            "progression recorded as not clinically significant"
            if significant is False
            else "no progression recorded"
        )
        return SsaPlan(
            action="not_applicable",
            footnote=letter,
            source=src,
            reasons=[f"Footnote {letter} concerns clinically significant progression; {why}.", current],
        )
    if significant_progression is None:
        missing = ["disease.progression_clinically_significant"] + (
            ["disease.status"] if progressive is None else []
        )
        return SsaPlan(
            action="needs_data",
            footnote=letter,
            source=src,
            missing=missing,
            reasons=[
                "Whether progression is clinically significant is not recorded "
                f"(footnote {letter} depends on it).",
                current,
            ],
        )
    if functional is None:
        return SsaPlan(
            action="needs_data",
            footnote=letter,
            source=src,
            missing=list(facts.missing_for("derived.functional")),
            reasons=[
                "Clinically significant progression, but whether the tumor is functional is not "
                f"recorded (footnote {letter}: stop for non-functional, continue for functional).",
                current,
            ],
        )
    if ts is None:  # unknown is not false: whether an SSA is being given decides if there is one to stop
        return SsaPlan(
            action="needs_data",
            footnote=letter,
            source=src,
            missing=["treatments"],
            reasons=[
                f"Clinically significant progression in a {'functional' if functional else 'non-functional'} "
                f"tumor ({fwhy}): if octreotide LAR or lanreotide is being given, footnote {letter} says to "
                f"{'continue' if functional else 'stop'} it; whether it is, is not recorded.",
                current,
            ],
        )
    if functional:
        return SsaPlan(
            action="continue",
            footnote=letter,
            source=src,
            reasons=[
                f"Clinically significant progression in a functional tumor ({fwhy}): "
                "keep the SSA for hormone control.",
                "The SSA may be combined with whichever next option is chosen.",
                current,
            ],
        )
    return SsaPlan(
        action="discontinue",
        footnote=letter,
        source=src,
        reasons=[
            f"Clinically significant progression in a non-functional tumor ({fwhy}): stop the SSA.",
            current,
        ],
    )
