"""Footnote a: what to do with a running SSA when progression is clinically significant."""

from __future__ import annotations

from datetime import date

from netcds.engine.setting import SettingResult
from netcds.evaluation import SourceRef, SsaPlan
from netcds.facts import SSA_AGENTS, Facts, course_running, ssa_courses, treatment_agents
from netcds.field_labels import agent_name
from netcds.knowledge.schema import Knowledge, Table
from netcds.logic.evaluate import evaluate
from netcds.patient import Treatment


def _last_ended(ssa: list[Treatment]) -> Treatment | None:
    """The last of ``ssa`` when every course has ended, else None (one is ongoing, or there is none)."""
    if not ssa or any(t.end is None for t in ssa):
        return None
    return max(ssa, key=lambda t: t.end or t.start or date.min)


def _current_ssa(facts: Facts) -> str:
    ssa = ssa_courses(facts.patient)
    if ssa is None:
        return "SSA use not recorded"
    if not ssa:
        return "no octreotide LAR/lanreotide in the recorded history"
    last = _last_ended(ssa)
    if last is None:
        running = [t for t in ssa if course_running(t)]  # as derived.on_ssa reads it
        if running:
            return f"currently on {agent_name(running[-1].agent)}"
        stopped = [t for t in ssa if t.end is None][-1]
        why = str(stopped.stop_reason).replace("_", " ")
        return f"{agent_name(stopped.agent)} stopped ({why}), no end date recorded"
    return f"{agent_name(last.agent)} already stopped on {last.end}"


def _restart(facts: Facts) -> str:
    """What footnote a's "continue" means when every recorded octreotide LAR / lanreotide course has ended:
    taking it up again (and, when the last one was stopped for toxicity, that it was); else nothing."""
    last = _last_ended(ssa_courses(facts.patient) or [])
    if last is None:
        return ""
    toxicity = ", and it was stopped for toxicity" if last.stop_reason == "toxicity" else ""
    return f"; continuing it here means taking it up again{toxicity}"


def _course(table: Table, facts: Facts) -> tuple[bool | None, str, list[str]]:
    """Is there an SSA course the footnote speaks of? (value, why in words, fields that would decide)."""
    ts = facts.patient.treatments
    if table.ssa_plan_course is None:  # the releases before 5.2024-r5: any recorded course
        if ts is None:
            return None, "whether octreotide LAR or lanreotide is being given is not recorded", ["treatments"]
        given = any(SSA_AGENTS.intersection(treatment_agents(t)) for t in ts)
        return given, "" if given else "the recorded history has none", []
    out = evaluate(table.ssa_plan_course, facts)
    why = "; ".join(f.detail for f in out.findings() if f.detail)
    return out.value, why, list(out.missing)


def _fields(first: list[str], later: list[tuple[list[str], str]]) -> list[str]:
    return list(dict.fromkeys([*first, *(f for fields, _ in later for f in fields)]))


def _also(later: list[tuple[list[str], str]]) -> list[str]:
    """The later unknowns that would also decide the plan, in words (none: nothing)."""
    said = [why for _, why in later if why]
    return [f"Also deciding the plan: {'; '.join(said)}."] if said else []


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
        section=table.footnote_section(letter),
    )
    current = _current_ssa(facts)
    fwhy = facts.why("derived.functional")
    course, course_why, course_missing = _course(table, facts)
    if course is False:
        concerns = (
            "a patient receiving octreotide LAR or lanreotide"
            if table.ssa_plan_course is None
            else "progression on octreotide LAR or lanreotide"
        )
        return SsaPlan(
            action="not_applicable",
            footnote=letter,
            source=src,
            reasons=[f"Footnote {letter} concerns {concerns}; {course_why}."]
            + ([current] if table.ssa_plan_course is not None else []),
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
    # every unknown that could still change the plan is named at once (as an option's missing[]): the
    # first one decides the wording, the later ones are said beside it
    later: list[tuple[list[str], str]] = []
    if functional is None:
        later.append(
            (list(facts.missing_for("derived.functional")), "whether the tumor is functional is not recorded")
        )
    if course is None:
        later.append((course_missing, course_why))
    if significant_progression is None:
        missing = ["disease.progression_clinically_significant"] + (
            ["disease.status"] if progressive is None else []
        )
        return SsaPlan(
            action="needs_data",
            footnote=letter,
            source=src,
            missing=_fields(missing, later),
            reasons=[
                "Whether progression is clinically significant is not recorded "
                f"(footnote {letter} depends on it).",
                *_also(later),
                current,
            ],
        )
    if functional is None:
        return SsaPlan(
            action="needs_data",
            footnote=letter,
            source=src,
            missing=_fields([], later),
            reasons=[
                "Clinically significant progression, but whether the tumor is functional is not "
                f"recorded (footnote {letter}: stop for non-functional, continue for functional).",
                *_also(later[1:]),
                current,
            ],
        )
    kind = "functional" if functional else "non-functional"
    what = "continuing" if functional else "discontinuing"
    if course is None:  # unknown is not false: whether there is an SSA course it speaks of decides the plan
        return SsaPlan(
            action="needs_data",
            footnote=letter,
            source=src,
            missing=course_missing,
            reasons=[
                f"Clinically significant progression in a {kind} tumor ({fwhy}): footnote {letter} lists "
                f"{what} octreotide LAR or lanreotide for a {kind} tumor; {course_why}.",
                current,
            ],
        )
    on = "" if table.ssa_plan_course is None else f" ({course_why})"
    if functional:
        return SsaPlan(
            action="continue",
            footnote=letter,
            source=src,
            reasons=[
                f"Clinically significant progression{on} in a functional tumor ({fwhy}): footnote "
                f"{letter} lists continuing octreotide LAR or lanreotide for a functional tumor.",
                "The SSA may be combined with whichever next option is chosen.",
                current + _restart(facts),
            ],
        )
    return SsaPlan(
        action="discontinue",
        footnote=letter,
        source=src,
        reasons=[
            f"Clinically significant progression{on} in a non-functional tumor ({fwhy}): footnote {letter} "
            "lists discontinuing octreotide LAR or lanreotide for a non-functional tumor.",
            current,
        ],
    )


def setting_plan(kb: Knowledge, setting: SettingResult, facts: Facts) -> SsaPlan:
    """Footnote a's plan for the setting as far as it is known: a setting that waits for data may turn
    out to be no table at all, so a plan a possible table would give is only that table's, said as such
    (``needs_data`` naming what the setting waits for); plans that agree whatever the setting stand."""
    if setting.status == "applies":
        return ssa_plan(kb, setting.table, facts)
    if setting.status != "needs_data":
        return ssa_plan(kb, None, facts)
    tables = list({c.table.id: c.table for c in setting.candidates}.values())
    if not tables and setting.table is not None:
        tables = [setting.table]
    plans = [(t, ssa_plan(kb, t, facts)) for t in tables]
    silent = ("not_applicable", "not_specified")  # the footnote asks nothing of this patient there
    open_plans = [(t, p) for t, p in plans if p.action not in silent]
    if not open_plans:  # footnote a asks nothing in any possible setting, nor without a table
        quiet = [p for _, p in plans if p.action == "not_applicable"]
        return quiet[0] if quiet else plans[0][1] if plans else ssa_plan(kb, None, facts)
    first = open_plans[0][1]
    reasons = [
        f"Which table applies is not settled yet (the setting needs data), and footnote {first.footnote} "
        "speaks only where a table carrying it applies."
    ]
    missing = list(setting.missing)
    for t, p in open_plans:
        said = p.action.replace("_", " ")
        why = "; ".join(r.rstrip(".") for r in p.reasons if r)
        reasons.append(f"If the {t.title} table applies: {said} ({why}).")
        missing += p.missing
    return SsaPlan(
        action="needs_data",
        reasons=reasons,
        missing=list(dict.fromkeys(missing)),
        footnote=first.footnote,
        source=first.source,
    )
