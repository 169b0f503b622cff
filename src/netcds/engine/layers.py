"""Attach the sequencing and safety layers to a guideline Evaluation.

Neither layer may change an option's status, category or tier, nor drop an
option: they only add history, considerations, a discussion position, safety
findings and the starting dose. Both read versioned data loaded once. The
safety screen runs first: an option with a critical finding, or a dose the
label says to avoid, is placed after the others in the discussion order, with
the reason stated (it stays listed with its status and category).
"""

from __future__ import annotations

import hashlib

from netcds.evaluation import Evaluation, Option, RegimenDose
from netcds.facts import Facts
from netcds.field_labels import agent_name
from netcds.knowledge.schema import TIER_ORDER, Knowledge
from netcds.memo import PerObject
from netcds.patient import Patient
from netcds.safety import AgentKnowledge, DoseResult, screen_regimen
from netcds.safety.adjusted_dose import gives_no_dose
from netcds.safety.screen import ScreenSession
from netcds.sequencing.annotation import annotate
from netcds.sequencing.data import SequencingData

SEVERITIES = ("critical", "warning", "info")


def _digest(data: SequencingData) -> str:
    return hashlib.sha256(data.model_dump_json().encode()).hexdigest()[:16]


# content digest of the sequencing rules (computed once per loaded object)
sequencing_digest: PerObject[SequencingData, str] = PerObject(_digest)


def _dose_summary(doses: list[DoseResult]) -> str:
    parts = []
    for d in doses:
        adjusted = bool(d.adjusted) and not gives_no_dose(d.adjusted)  # "avoid: ..." is no dose
        dose = f"{agent_name(d.agent)}: {d.adjusted or d.standard}"
        parts.append(dose + (" (adjusted)" if adjusted else ""))
    return "; ".join(parts)


def add_safety(option: Option, session: ScreenSession) -> None:
    if option.regimen == "clinical_trial":
        return
    screen = screen_regimen(option.regimen, session.patient, session.kb, session)
    option.safety = list(screen.safety)
    if screen.doses:
        option.dose = RegimenDose(
            regimen=option.regimen, summary=_dose_summary(screen.doses), agents=screen.doses
        )


def safety_hold_back(option: Option, agents: AgentKnowledge) -> list[str]:
    """Why the safety screen places an option after the others: its critical findings and the
    adjustments that leave no labelled dose (the label says to avoid), in words."""
    out: list[str] = []
    for item in option.safety:
        if item.severity == "critical":
            out.append(f"critical safety finding for {agent_name(item.agent)}: {item.finding}")
        elif item.kind == "adjustment" and item.agent in agents.agents:
            avoid = {a.id for a in agents.monograph(item.agent).adjustments if a.effect.avoid}
            if item.id in avoid:
                out.append(f"the label says to avoid {agent_name(item.agent)} here: {item.finding}")
    return list(dict.fromkeys(out))


def add_sequencing(
    ev: Evaluation,
    patient: Patient,
    facts: Facts,
    kb: Knowledge,
    data: SequencingData,
    held_back: dict[str, list[str]] | None = None,
) -> None:
    seq = annotate(ev, patient, facts, kb, data, held_back)
    by_id = {s.entry_id: s for s in seq.options}
    for o in ev.options:
        s = by_id[o.entry_id]
        o.history = s.history
        o.considerations = s.considerations
        o.considerations_not_assessed = s.not_assessed
        o.discussion_rank = s.discussion_rank
        o.order_score = s.order_score
        o.order_factors = s.order_factors
        o.order_explanation = s.order_explanation
    ev.lines_of_therapy = seq.lines_of_therapy
    ev.treatment_history = seq.history
    ev.progression_pace = seq.progression_pace
    ev.discussion_order = seq.discussion_order
    ev.sequencing_statement = seq.statement
    # grouped by tier as the guideline gives them; within a tier, the discussion order (options of
    # equal standing share a discussion_rank, so the order's own list decides among them)
    table_pos = {o.entry_id: i for i, o in enumerate(ev.options)}
    listed = {e: k for t in seq.discussion_order for k, e in enumerate(t.entry_ids)}
    ev.options.sort(
        key=lambda o: (
            TIER_ORDER.index(o.tier),
            listed.get(o.entry_id, 10_000),
            table_pos[o.entry_id],
        )
    )


def attach_layers(
    ev: Evaluation,
    patient: Patient,
    facts: Facts,
    kb: Knowledge,
    agents: AgentKnowledge,
    data: SequencingData,
) -> Evaluation:
    session = ScreenSession(patient, agents, facts)
    for o in ev.options:
        add_safety(o, session)
    held = {o.entry_id: reasons for o in ev.options if (reasons := safety_hold_back(o, agents))}
    add_sequencing(ev, patient, facts, kb, data, held)
    ev.safety_summary = {
        sev: sum(1 for o in ev.options for i in o.safety if i.severity == sev) for sev in SEVERITIES
    }
    ev.knowledge = {"guideline": kb.digest, "agents": agents.digest, "sequencing": sequencing_digest(data)}
    return ev
