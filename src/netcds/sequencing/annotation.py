"""Public entry of the sequencing layer: annotate an Evaluation for discussion.

``annotate(evaluation, patient, facts)`` never changes an option's status,
category or tier and never drops an option; it adds, per option, the history,
the considerations and a discussion position within the option's tier, plus
the patient's lines of therapy and the pace of progression. ``held_back``
(entry id -> reasons in words) lets the caller place options after the others
for reasons the sequencing layer does not see itself: the engine passes the
safety screen's critical findings and "avoid" doses. The safety items already on
the options (``Option.safety``) are read for one point only: a recorded
comorbidity behind a warning or critical item (``sequencing/comorbidity.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from netcds.evaluation import Evaluation, Option
from netcds.facts import Facts
from netcds.knowledge import Knowledge, load_knowledge
from netcds.knowledge.schema import Entry
from netcds.logic.evaluate import show
from netcds.patient import Patient
from netcds.sequencing.considerations import considerations_for, extend, option_facts, seq_facts
from netcds.sequencing.data import SequencingData, load_sequencing_data, lookups
from netcds.sequencing.lines import build_lines
from netcds.sequencing.models import Consideration, OptionSequencing, SequencingResult
from netcds.sequencing.option_history import option_history
from netcds.sequencing.ordering import OrderInput, order_options
from netcds.sequencing.pace import progression_pace
from netcds.sequencing.summary import summarize

STATEMENT = (
    "The guideline gives no data-driven sequence for these systemic options (NCCN NET V.5.2024, NE-H). "
    "They stay grouped by tier and category exactly as the guideline lists them. Within a tier, netcds "
    "suggests where a discussion might start from the considerations shown for this patient (tumor burden, "
    "pace of progression, durability of earlier treatment, comorbidities, preferences, cumulative toxicity, "
    "logistics, monitoring, access); this is a discussion aid, not a ranking, and names no single "
    "recommended therapy."
)
# for a table whose page carries no such principle (the WD G3 table): nothing is attributed to it
STATEMENT_NO_PRINCIPLE = (
    "The guideline's table (NCCN NET V.5.2024, NE-H) lists these systemic options without setting an order "
    "of use, and netcds adds no data-driven sequence of its own. They stay grouped by tier and category "
    "exactly as the guideline lists them. Within a tier, netcds suggests where a discussion might start "
    "from the considerations shown for this patient (tumor burden, pace of progression, durability of "
    "earlier treatment, comorbidities, preferences, cumulative toxicity, logistics, monitoring, access); "
    "this is a discussion aid, not a ranking, and names no single recommended therapy."
)
# no table applies and no setting is left open: no option is listed, so no table is said to list any
STATEMENT_NO_TABLE = (
    "No systemic-therapy table of the guideline (NCCN NET V.5.2024, NE-H) applies to this record (the "
    "setting's reasons say why), so no systemic options are listed here and there is nothing to order; "
    "netcds adds no data-driven sequence of its own and names no recommended therapy."
)
NO_SEQUENCE_PRINCIPLE = "no_sequence_data"


def statement_for(kb: Knowledge, table_id: str | None, listed: bool = True) -> str:
    """The sequencing statement, attributing 'no data guide the sequence' to the guideline only where
    the table's page says it (its principles include ``no_sequence_data``). ``listed`` False (no table
    and no option, nor any possible setting's): a statement that no table lists options here."""
    if table_id is None:
        return STATEMENT_NO_PRINCIPLE if listed else STATEMENT_NO_TABLE
    try:
        principles = kb.table(table_id).principles
    except KeyError:
        return STATEMENT_NO_PRINCIPLE
    return STATEMENT if NO_SEQUENCE_PRINCIPLE in principles else STATEMENT_NO_PRINCIPLE


def _entries(kb: Knowledge, table_id: str | None) -> dict[str, Entry]:
    if table_id is None:
        return {}
    try:
        table = kb.table(table_id)
    except KeyError:
        return {}
    return {e.id: e for col in table.columns for e in col.entries}


# factors the Lieu 2026 discussion names whose recorded value may have no rule for an option:
# (fact, words); listed in the order explanation as considered, with no direction, where no
# consideration of the option reads them
UNDIRECTED = (
    ("disease.tumor_burden", "tumor burden"),
    ("seq.pace", "pace of progression"),
    ("preferences.priority", "the patient's stated priority"),
)


def _undirected(considerations: list[Consideration], facts: Facts, data: SequencingData) -> tuple[str, ...]:
    """Recorded factors that no consideration of this option reads (shown in the order's explanation)."""
    reads = lookups(data).reads
    read = {f for c in considerations for f in reads[c.rule_id]}
    return tuple(
        f"{words} ({show(facts.get(fact))})"
        for fact, words in UNDIRECTED
        if facts.get(fact) is not None and fact not in read
    )


def _order_input(
    o: Option,
    considerations: list[Consideration],
    facts: Facts,
    data: SequencingData,
    extra: Sequence[str],
    holding: frozenset[str],
) -> OrderInput:
    held = ["; ".join(c.basis) or c.text for c in considerations if c.rule_id in holding]
    return OrderInput(
        category=o.category,
        held_back=(*held, *extra),
        undirected=_undirected(considerations, facts, data),
    )


def annotate(
    evaluation: Evaluation,
    patient: Patient,
    facts: Facts,
    kb: Knowledge | None = None,
    data: SequencingData | None = None,
    held_back: Mapping[str, Sequence[str]] | None = None,
) -> SequencingResult:
    """Sequencing annotations for one evaluated patient (pure given its inputs)."""
    data = data or load_sequencing_data()
    kb = kb or load_knowledge(evaluation.guideline.release_id, evaluation.guideline.id)
    entries = _entries(kb, evaluation.setting.table)
    lines = build_lines(patient, data)
    summary = summarize(patient, lines, data)
    pace = progression_pace(patient, data.conventions)
    base = extend(facts, seq_facts(lines, summary, pace, patient))
    options: list[OptionSequencing] = []
    inputs: dict[str, OrderInput] = {}
    holding = lookups(data).holding  # the rules that hold an option back
    for o in evaluation.options:
        opt_facts = extend(base, option_facts(o, base, lines, data, evaluation.setting.table))
        considerations, undecided = considerations_for(o, evaluation.setting.table, opt_facts, data)
        extra = (held_back or {}).get(o.entry_id, ())
        inputs[o.entry_id] = _order_input(o, considerations, opt_facts, data, extra, holding)
        options.append(
            OptionSequencing(
                entry_id=o.entry_id,
                regimen=o.regimen,
                tier=o.tier,
                status=o.status,
                history=option_history(o, entries.get(o.entry_id), lines, data, opt_facts),
                considerations=considerations,
                not_assessed=undecided,
                order_explanation="",
            )
        )
    order = order_options(options, inputs, data.statement_of())
    return SequencingResult(
        statement=statement_for(
            kb, evaluation.setting.table, bool(evaluation.options or evaluation.possible_settings)
        ),
        lines_of_therapy=lines,
        history=summary,
        progression_pace=pace,
        options=options,
        discussion_order=order,
        conventions=data.conventions.model_dump(),
    )
