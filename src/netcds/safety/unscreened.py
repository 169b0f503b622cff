"""What the screen could not check: the severity of a "not assessed" item, and the items for recorded
medications outside the curated lists (or recognised without a rule) and free-text comorbidities.

A check whose fact is unknown is reported one step below what it guards, never below info: a check that
would be ``critical`` (do not start as things stand) gives a ``warning`` while its fact is unknown (start
only once it is known, as the DPYD check the record cannot hold); a ``warning`` or ``info`` check gives an
``info`` item. A medication that is not screened guards every medication rule of the agents screened, so
its item takes the severity their strongest rule gives in the same way.
"""

from __future__ import annotations

from dataclasses import replace

from netcds.field_labels import situation_name
from netcds.memo import PerObject
from netcds.patient import Patient
from netcds.safety.condition_eval import Context, Result, evaluate
from netcds.safety.conditions import MedLeaf, SafetyCondition, walk
from netcds.safety.load import AgentKnowledge
from netcds.safety.models import DoseResult, SafetyItem, SourceOut
from netcds.safety.schema import SEVERITY_ORDER, Monograph, Severity

# what a "not screened" item rests on: netcds's own screening scope (docs/drug-safety.md), not a label or
# FDA's table, which say nothing about names outside the curated lists
SCREENING_SCOPE = "netcds drug-safety screening scope (docs/drug-safety.md), not a label statement"
SCOPE_MEDICATIONS = SourceOut(
    document=SCREENING_SCOPE,
    section=(
        "Interaction lists and matching: only the medications in the curated lists (knowledge/interactions/) "
        "are screened; any other name is reported as not screened"
    ),
)
SCOPE_FREE_TEXT = SourceOut(
    document=SCREENING_SCOPE,
    section="Conditions: free-text comorbidities (comorbidities.other) are not interpreted",
)


def unassessed_severity(guards: Severity) -> Severity:
    """The severity of a "not assessed" item for a check of severity ``guards`` (module docstring)."""
    return "warning" if guards == "critical" else "info"


def _reads_medication(when: SafetyCondition) -> bool:
    return any(isinstance(n, MedLeaf) for n in walk(when))


def unscreened_pending(
    mono: Monograph, results: tuple[Result, ...], dose: DoseResult, ctx: Context
) -> DoseResult:
    """``dose`` with each medication dose rule that a recorded name not screened could still trigger (its
    condition is false only because the name matched nothing) added to ``pending``, naming the
    ``medications[i]`` rows: the dose shown is not checked against them."""
    if not any(m.generic is None for m in ctx.meds or []):
        return dose
    loose = replace(ctx, unscreened_unknown=True)
    waiting = [
        (a, again.missing)
        for a, r in zip(mono.adjustments, results, strict=True)
        if r.value is False and _reads_medication(a.when) and (again := evaluate(a.when, loose)).value is None
    ]
    if not waiting:
        return dose
    return dose.model_copy(update={
        "pending": [*dose.pending, *(f"{a.id}: needs {', '.join(missing)}" for a, missing in waiting)],
        "rule_names": {**dose.rule_names, **{a.id: situation_name(a.finding) for a, _ in waiting}},
    })  # fmt: skip


def _medication_guard(mono: Monograph) -> Severity:
    """The highest severity of the monograph's rules that read a recorded medication (info when none)."""
    rules = [(w.when, w.severity) for w in mono.warnings] + [(a.when, a.severity) for a in mono.adjustments]
    rules += [(m.when, "info") for m in mono.monitoring if m.when is not None]
    found: list[Severity] = [sev for when, sev in rules if _reads_medication(when)]
    return min(found, key=SEVERITY_ORDER.__getitem__, default="info")


medication_guard: PerObject[Monograph, Severity] = PerObject(_medication_guard)


def generic_items(agent: str, agents: list[str], patient: Patient, ctx: Context, kb: AgentKnowledge,
                  used: set[str]) -> list[SafetyItem]:  # fmt: skip
    """Medications not recognised / recognised without a rule, and free-text comorbidities, for ``agent``
    (an agent or regimen id) whose ``agents`` were screened; what is not screened cites netcds's own
    screening scope (SCOPE_MEDICATIONS, SCOPE_FREE_TEXT)."""
    out: list[SafetyItem] = []
    guards = [medication_guard(kb.monograph(a)) for a in agents]
    unscreened = unassessed_severity(min(guards, key=SEVERITY_ORDER.__getitem__, default="info"))
    for m in ctx.meds or []:
        where = f"medications[{m.index}]"
        if m.generic is None:
            if m.local is not None:
                finding = (
                    f"not screened for systemic interaction: '{m.raw.strip()}' is a topical, ophthalmic or "
                    f"otic form of {m.local}; the interaction rules are for systemic use"
                )
                action = (
                    "Confirm that this preparation gives no meaningful systemic exposure; if it does, check "
                    f"it as {m.local} against the label and a drug-interaction reference."
                )
            else:
                finding = f"not screened: '{m.raw.strip()}' is not in the curated interaction lists"
                action = (
                    "Check this medication against the full label and a drug-interaction reference; an "
                    "unrecognised name is not evidence of safety."
                )
            out.append(
                SafetyItem(
                    severity=unscreened,
                    agent=agent,
                    id=f"medication_{m.index:02d}_not_screened",
                    kind="not_screened",
                    finding=finding,
                    action=action,
                    source=SCOPE_MEDICATIONS,
                    fields=[where],
                )
            )
        elif where not in used:
            info = kb.drugs.get(m.generic)
            classes = ", ".join(sorted(kb.class_labels[c] for c in (info.classes if info else ())))
            listed = f"listed as {classes}" if classes else "listed"
            doubt = "; ".join(dict.fromkeys(info.unverified.values())) if info and info.unverified else None
            listed += "; class membership UNVERIFIED" if doubt else ""
            out.append(
                SafetyItem(
                    severity="info",
                    agent=agent,
                    id=f"medication_{m.index:02d}_screened",
                    kind="screened",
                    finding=f"screened: {m.generic} ({listed}) triggers no rule of this monograph",
                    action="The curated lists give examples, not every interaction; check the full label.",
                    source=(info.sources[0] if info and info.sources else SCOPE_MEDICATIONS),
                    fields=[where],
                    verified=doubt is None,
                    verification=doubt,
                )
            )
    for i, text in enumerate(patient.comorbidities.other or []):
        out.append(
            SafetyItem(
                severity="info",
                agent=agent,
                id=f"comorbidity_other_{i:02d}",
                kind="not_screened",
                finding=f"not screened: comorbidity '{text.strip()}' (free text is not interpreted)",
                action="Review this condition against the label's warnings yourself.",
                source=SCOPE_FREE_TEXT,
                fields=[f"comorbidities.other[{i}]"],
            )
        )
    return out
