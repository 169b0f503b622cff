"""Assemble one Evaluation: setting, options, SSA plan, data needs, notes."""

from __future__ import annotations

from netcds import __version__
from netcds.engine.layers import attach_layers
from netcds.engine.options import build_options
from netcds.engine.possible import possible_settings
from netcds.engine.setting import SettingResult, select_setting, table_source
from netcds.engine.ssa_plan import setting_plan
from netcds.evaluation import (
    DerivedFact,
    Evaluation,
    GuidelineRef,
    Note,
    Option,
    PageRef,
    PossibleSetting,
    Setting,
    SourceRef,
)
from netcds.facts import Facts, build_facts
from netcds.knowledge.schema import Exclusion, Knowledge, Table
from netcds.logic.evaluate import settle
from netcds.patient import Patient
from netcds.safety import AgentKnowledge, load_agents
from netcds.sequencing.data import SequencingData, load_sequencing_data

SEQUENCING_STATEMENT = (
    "The guideline gives no data-driven sequence for these options. Options are shown by tier and "
    "category as the guideline lists them; any order within a tier is a discussion aid, not a ranking."
)
# pages each table refers to, for releases whose tables do not list them (``Table.see``): 5.2024
_SEE_5_2024: dict[str, list[str]] = {
    "gi_wd_g12": ["NET-9", "NET-14"],
    "lung_thymus": ["NET-14"],
    "pancreas_wd_g12": ["PanNET-1..10"],
}
DISCLAIMER = (
    "Decision support only: netcds lists what the encoded guideline version says for the recorded facts. "
    "It does not replace clinical judgement, multidisciplinary review or the full guideline and labels."
)


def _notes(kb: Knowledge, table: Table | None, facts_eval: Facts) -> list[Note]:
    if table is None:
        return []
    out: list[Note] = []
    for pid in table.principles:
        p = kb.principles[pid]
        if p.when is not None and settle(p.when, facts_eval)[0] is not True:
            continue
        out.append(
            Note(
                id=p.id,
                text=p.text,
                source=SourceRef(
                    document=p.source.document,
                    version=kb.version,
                    page=p.source.page,
                    table=p.source.table or table.source.table,
                    section=p.source.section,
                ),
            )
        )
    return out


def _table_see(table: Table) -> list[str]:
    return table.see if table.see is not None else _SEE_5_2024.get(table.id, [])


# the head of the unavailable reference an exclusion handled on pages the source does not contain gets
# (the reports find those references by it)
PAGES_NOT_IN_SOURCE = "pages not in the source"


def _not_in_source(e: Exclusion) -> PageRef:
    """An exclusion saying the guideline handles the situation on pages the source does not contain.
    The source does not name those pages, so no page id is claimed: the entry names the exclusion and
    the situation in its own words (its text up to the first colon)."""
    where = ", ".join(x for x in (e.source.page, e.source.table, e.source.section) if x)
    return PageRef(
        ref=f"{PAGES_NOT_IN_SOURCE} ({e.id})",
        title=e.text.split(":", 1)[0].strip(),
        available=False,
        note=(
            f"The reason no table applies ({e.source.document}, {where}) says the guideline handles this on "
            "pages the source does not contain; the source does not name them, so no page is named here "
            "and their content is not encoded."
        ),
    )


def unavailable_references(
    kb: Knowledge, setting: SettingResult, options: list[Option], possible: list[PossibleSetting]
) -> list[PageRef]:
    """The pages and reference lists the output points to that the source does not contain: those of the
    options (and of the possible settings' options), of the table(s) in question, and the pages an
    exclusion says the situation is handled on."""
    refs = {r.id: r for r in kb.manifest.references}
    listed = [*options, *(o for p in possible for o in p.options)]
    used = list(dict.fromkeys(s.ref for o in listed for s in o.see))
    if any(o.references for o in listed):
        used.append("NE-H-references")
    tables = [setting.table] if setting.table is not None else []
    tables += [c.table for c in setting.candidates]
    for t in {t.id: t for t in tables}.values():
        used += _table_see(t)
    out = [
        PageRef(ref=r, title=refs[r].title, available=refs[r].available, note=refs[r].note)
        for r in dict.fromkeys(used)
        if r in refs and not refs[r].available
    ]
    return out + [_not_in_source(e) for e in setting.excluded if e.scope == "pages_not_in_source"]


def guideline_ref(kb: Knowledge) -> GuidelineRef:
    """The guideline version and knowledge release an output is computed with."""
    return GuidelineRef(
        id=kb.id,
        version=kb.version,
        release=kb.release,
        title=kb.manifest.title,
        version_date=kb.manifest.version_date.isoformat(),
        digest=kb.digest,
    )


def evaluate(
    patient: Patient,
    kb: Knowledge,
    *,
    agents: AgentKnowledge | None = None,
    sequencing: SequencingData | None = None,
) -> Evaluation:
    """Evaluate one patient against one knowledge version.

    ``agents`` (drug monographs) and ``sequencing`` (consideration rules) default to
    the bundled data, read once per process and cached; pass them to pin versions.
    """
    facts = build_facts(patient)
    setting = select_setting(kb, facts)
    table, column = setting.table, setting.column
    options = build_options(kb, table, column, facts, setting.missing) if table and column else []
    plan = setting_plan(kb, setting, facts)
    possible = possible_settings(kb, setting, facts)
    needs: list[str] = list(setting.missing)
    for o in [*options, *(o for p in possible for o in p.options)]:
        needs += o.missing + o.category_missing
    needs += plan.missing
    ev = Evaluation(
        guideline=guideline_ref(kb),
        engine_version=__version__,
        patient_id=patient.id,
        setting=Setting(
            table=table.id if table else None,
            column=column.id if column else None,
            status=setting.status,
            reasons=setting.reasons,
            missing=setting.missing,
            title=table.title if table else None,
            row=column.label if column else None,
            source=table_source(kb, table, column) if table else None,
            reason_sources=setting.reason_sources,
        ),
        options=options,
        possible_settings=possible,
        ssa_plan=plan,
        needs_data=list(dict.fromkeys(needs)),
        notes=_notes(kb, table, facts),
        derived_facts=[DerivedFact(name=k, value=v.value, why=v.why) for k, v in facts.derived.items()],
        unavailable_references=unavailable_references(kb, setting, options, possible),
        sequencing_statement=SEQUENCING_STATEMENT,
        disclaimer=DISCLAIMER,
    )
    return attach_layers(
        ev, patient, facts, kb, agents or load_agents(), sequencing or load_sequencing_data()
    )
