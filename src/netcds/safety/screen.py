"""Screen one agent or one regimen for one patient: safety items and the dose.

Safety sits beside guideline eligibility and never changes it. A rule whose
facts are unknown gives an item "not assessed: <field>" (one step below the rule's
severity, see :mod:`netcds.safety.unscreened`); a medication name that is not in the
curated lists gives "not screened: <name>" and leaves the medication dose rules it
could trigger pending; nothing unknown is read as safe. A critical warning with
``no_dose`` (do not give as things stand) leaves no dose, like an avoid rule.
Dates are compared with ``patient.as_of``, never the clock.
"""

from __future__ import annotations

from typing import Any

from netcds.facts import Facts, build_facts
from netcds.field_labels import UNVERIFIED_RULE, situation_name
from netcds.patient import REGIMEN_AGENTS, Patient
from netcds.safety.adjusted_dose import (
    NO_DOSE,
    PENDING,
    UNVERIFIED,
    combine,
    decides_population,
    sets_population_dose,
)
from netcds.safety.condition_eval import Context, Result
from netcds.safety.judgement import Judged, Judgement, known, shared_judgement
from netcds.safety.load import AgentKnowledge, load_agents, resolve
from netcds.safety.models import AgentScreen, DoseResult, Kind, RegimenScreen, SafetyItem, SourceOut
from netcds.safety.schema import SEVERITY_ORDER, Adjustment, Checked, Cite, Monograph, Severity
from netcds.safety.unscreened import (
    SCOPE_FREE_TEXT,
    SCOPE_MEDICATIONS,
    generic_items,
    unassessed_severity,
    unscreened_pending,
)

__all__ = [
    "SCOPE_FREE_TEXT", "SCOPE_MEDICATIONS", "load_agents", "option_safety", "screen_agent", "screen_regimen",
]  # fmt: skip

# regimens whose drug part differs from REGIMEN_AGENTS (radiotherapy has no monograph)
REGIMEN_DRUGS: dict[str, tuple[str, ...]] = {"rt_fluoropyrimidine": ("fluorouracil", "capecitabine")}
RT_FINDING = (
    "radiotherapy is outside the drug monographs; the concurrent fluoropyrimidine is screened as "
    "fluorouracil and as capecitabine (either may be used)"
)
NOT_ASSESSED = "not assessed: "
NOT_A_FIELD = "not a field of the record"
NA_ACTION = "Record the missing facts to complete this check; an unknown is not treated as absent."
SEED_TABLES = SourceOut(
    document="NCCN Guidelines NET V.5.2024, Principles of Systemic Anti-Tumor Therapy tables (seed 003)",
    section="entries 'Consider RT ± concurrent fluoropyrimidine-based chemotherapy' and 'Clinical trial'",
    seed="003",
)


def _context(patient: Patient, kb: AgentKnowledge, facts: Facts | None = None) -> Context:
    return Context(facts=facts or build_facts(patient), meds=kb.registry.screen(patient.medications),
                   as_of=patient.as_of, class_labels=kb.class_labels,
                   unverified_meds=kb.unverified_meds)  # fmt: skip


def _doubt(rule: Checked, r: Result | None = None) -> str | None:
    """Why an item is not label-confirmed: the rule itself, or a drug class membership it relied on."""
    notes = [] if rule.verified else [rule.verification or "not confirmed against the current label"]
    notes += [h.unverified for h in (r.hits if r else []) if h.unverified and h.value is True]
    return "; ".join(dict.fromkeys(notes)) or None


def _sorted(items: list[SafetyItem]) -> list[SafetyItem]:
    return sorted(items, key=lambda s: (SEVERITY_ORDER[s.severity], s.agent, s.id, s.finding))


def _counts(items: list[SafetyItem]) -> dict[str, int]:
    return {sev: sum(1 for s in items if s.severity == sev) for sev in SEVERITY_ORDER}


def _fields(r: Result) -> list[str]:
    return list(dict.fromkeys(f for h in r.hits for f in h.fields))


def _because(r: Result) -> str:
    facts = "; ".join(dict.fromkeys(h.text for h in r.hits))
    return f" ({facts})" if facts else ""


class _Screen:
    """Collects the items of one monograph for one patient."""

    def __init__(self, mono: Monograph, judged: Judged, weight_kg: float | None = None) -> None:
        self.mono = mono
        self.warnings, self.monitoring, self.adjustments = judged
        self.weight_kg = weight_kg  # read only by a per-kg dose rule (then part of the screen's memo key)
        self.items: list[SafetyItem] = []

    def src(self, cite: Cite) -> SourceOut:
        return resolve(self.mono.sources, cite)

    def add(self, severity: Severity, ident: str, finding: str, action: str, cite: Cite, fields: list[str],
            kind: Kind, doubt: str | None = None) -> None:  # fmt: skip
        self.items.append(
            SafetyItem.model_construct(  # built from validated knowledge: no re-validation
                severity=severity,
                agent=self.mono.id,
                finding=(UNVERIFIED + finding) if doubt else finding,
                action=action,
                source=self.src(cite),
                fields=fields,
                id=ident,
                kind=kind,
                verified=doubt is None,
                verification=doubt,
            )
        )

    def not_assessed(self, ident: str, what: str, r: Result, cite: Cite, guards: Severity,
                     doubt: str | None = None) -> None:  # fmt: skip
        """An item saying a check of severity ``guards`` was not made: one step below it while its fact is
        unknown (unscreened.unassessed_severity), with why a recorded fact could not be used."""
        missing = r.missing or _fields(r)
        what = f"[UNVERIFIED] {what}" if doubt else what
        severity = unassessed_severity(guards)
        for i, it in enumerate(self.items):  # one item per set of missing facts
            if it.kind == "not_assessed" and it.fields == missing:
                extra = self.src(cite)
                src = (
                    it.source
                    if extra == it.source
                    else it.source.model_copy(update={"also": [*it.source.also, extra]})
                )
                notes = "; ".join(n for n in (it.verification, doubt) if n) or None
                self.items[i] = it.model_copy(update={
                    "finding": f"{it.finding}; {what}", "source": src,
                    "verified": notes is None, "verification": notes,
                    "severity": min(it.severity, severity, key=SEVERITY_ORDER.__getitem__),
                })  # fmt: skip
                return
        why = "; ".join(dict.fromkeys(h.text for h in r.hits if h.note))
        why = f" ({why})" if why else ""
        self.items.append(
            SafetyItem.model_construct(
                severity=severity,
                agent=self.mono.id,
                finding=f"{NOT_ASSESSED}{', '.join(missing)}{why} — needed to check: {what}",
                action=NA_ACTION,
                source=self.src(cite),
                fields=missing,
                id=ident,
                kind="not_assessed",
                verified=doubt is None,
                verification=doubt,
            )
        )

    def rules(self) -> None:
        for w, r in zip(self.mono.warnings, self.warnings, strict=True):
            if r.value is True:
                self.add(w.severity, w.id, w.finding + _because(r), w.action, w.source, _fields(r), "warning",
                         _doubt(w, r))  # fmt: skip
            elif r.value is None:
                self.not_assessed(w.id, w.finding, r, w.source, w.severity, _doubt(w))
        for u in self.mono.unrecorded:  # a check the record cannot hold: said, never passed
            finding = f"{NOT_ASSESSED}{u.fact} ({NOT_A_FIELD}) — needed to check: {u.finding}"
            self.add(u.severity, u.id, finding, u.action, u.source, [], "not_assessed", _doubt(u))
        for m, r in zip(self.mono.monitoring, self.monitoring, strict=True):
            if r.value is True:
                self.add(
                    "info",
                    m.id,
                    f"monitoring: {m.what}" + _because(r),
                    "Plan this monitoring.",
                    m.source,
                    _fields(r),
                    "monitoring",
                    _doubt(m, r),
                )
            elif r.value is None:
                self.not_assessed(m.id, m.what, r, m.source, "info", _doubt(m))

    def dose(self, variant: str | None) -> DoseResult:
        d = self.mono.dose
        var = d.variants.get(variant) if variant else None
        standard, amount, cite = (
            (var.standard, var.amount, var.source) if var else (d.standard, d.amount, d.source)
        )
        base_doubt = _doubt(var if var else d)
        unverified = [f"dose: {base_doubt}"] if base_doubt else []
        applied: list[Adjustment] = []
        doubts: dict[str, str] = {}
        pending: list[tuple[Adjustment, Result]] = []
        judged = zip(self.mono.adjustments, self.adjustments, strict=True)
        for a, r in sorted(judged, key=lambda p: not sets_population_dose(p[0])):  # population dose first
            if r.value is True:
                applied.append(a.for_variant(variant))
                doubt = _doubt(a, r)
                if doubt:
                    doubts[a.id] = doubt
                finding = a.finding + _because(r)
                self.add(a.severity, a.id, finding, a.action, a.source, _fields(r), "adjustment", doubt)
            elif r.value is None:
                pending.append((a, r))
                self.not_assessed(a.id, a.finding, r, a.source, a.severity, _doubt(a))
        adjusted, value, notes, no_dose = combine(self.mono, applied, amount, self.weight_kg)
        # a critical warning saying not to give the agent as things stand leaves no dose, like an avoid rule
        no_dose_warnings = [
            (w, r) for w, r in zip(self.mono.warnings, self.warnings, strict=True) if w.no_dose
        ]
        stops = [(w, r) for w, r in no_dose_warnings if r.value is True]
        for w, r in stops:
            if doubt := _doubt(w, r):
                doubts[w.id] = doubt
        if stops:
            texts = [a.effect.text for a in applied if a.effect.avoid] + [str(w.no_dose) for w, _ in stops]
            adjusted, value, notes, no_dose = NO_DOSE[0] + "; ".join(texts), None, [], True
        # a "no dose" warning not yet decidable waits like an adjustment: its facts could still stop the dose
        # (unless there is no dose already: recording them would not give one)
        waits = [] if no_dose else [(w, r) for w, r in no_dose_warnings if r.value is None]
        unverified += [f"{k}: {v}" for k, v in doubts.items()]
        if adjusted is not None and doubts:
            adjusted = UNVERIFIED + adjusted
        base_pending = [a for a, _ in pending if decides_population(a)]
        # a missing population fact (a weight band, an age the label gives no dose below) leaves the dose
        # open, unless the applied rules already give none at all (avoid, or rules that cannot be
        # combined): recording the fact would not give one either
        if base_pending and not no_dose and not any(decides_population(a) for a in applied):
            need = sorted({m for a, r in pending if a in base_pending for m in (r.missing or _fields(r))})
            adjusted, value = f"{PENDING}{', '.join(need)}", None
        return DoseResult(
            agent=self.mono.id,
            standard=standard,
            adjusted=adjusted,
            adjusted_mg=value if d.unit == "mg" else None,
            adjusted_amount=value,
            unit=d.unit,
            rules_applied=[
                f"{a.id}{UNVERIFIED_RULE if a.id in doubts else ''}: {a.effect.text}" for a in applied
            ]
            + [f"{w.id}{UNVERIFIED_RULE if w.id in doubts else ''}: {w.no_dose}" for w, _ in stops]
            + notes,
            pending=[f"{a.id}: needs {', '.join(r.missing or _fields(r))}" for a, r in pending]
            + [f"{w.id}: needs {', '.join(r.missing or _fields(r))}" for w, r in waits],
            source=self.src(cite),
            net_label=d.net_label,
            unverified=unverified,
            rule_names={a.id: situation_name(a.finding) for a in [*applied, *(a for a, _ in pending)]}
            | {w.id: situation_name(w.finding) for w, _ in [*stops, *waits]},
        )


class ScreenSession:
    """One patient's screen across many regimens: the context is built once and each agent is
    screened once per dose variant, then shared by every regimen that contains it."""

    def __init__(self, patient: Patient, kb: AgentKnowledge, facts: Facts | None = None) -> None:
        self.patient = patient
        self.kb = kb
        self.ctx = _context(patient, kb, facts)
        self._memo: dict[tuple[str, str | None], tuple[Monograph, list[SafetyItem], DoseResult]] = {}
        self._judged: dict[str, Judgement] = {}  # an agent's rules do not depend on the dose variant

    def agent(self, agent_id: str, variant: str | None) -> tuple[Monograph, list[SafetyItem], DoseResult]:
        mono = self.kb.monograph(agent_id)
        key = (agent_id, variant if variant in mono.dose.variants else None)
        hit = self._memo.get(key)
        if hit is None:
            judged = self._judged.get(agent_id)
            if judged is None:
                judged = self._judged[agent_id] = shared_judgement(mono, self.ctx, self.kb)
            hit = _screen(agent_id, self.patient, self.kb, self.ctx, key[1], generic=False, judged=judged)
            self._memo[key] = hit
        return hit[0], list(hit[1]), hit[2]


def _screen(
    agent_id: str,
    patient: Patient,
    kb: AgentKnowledge,
    ctx: Context,
    variant: str | None,
    generic: bool,
    judged: Judgement | None = None,
) -> tuple[Monograph, list[SafetyItem], DoseResult]:
    mono = kb.monograph(agent_id)
    judged = judged if judged is not None else shared_judgement(mono, ctx, kb)
    weight = _weight(mono, ctx)
    core = judged.screens.get(variant) if weight is None else None  # built before from these results
    if core is None:
        key = (agent_id, variant, weight, *judged.signature)
        core = kb.screens.get(key)
        if core is None:
            s = _Screen(mono, judged.judged, weight)
            s.rules()
            dose = s.dose(variant)  # adds the adjustment items
            core = (tuple(s.items), dose)
            kb.screens.put(key, core)
        if weight is None:
            judged.screens[variant] = core
    items, dose = list(core[0]), unscreened_pending(mono, judged.judged[2], core[1], ctx)
    if generic:
        used = {f for it in items if it.kind in ("warning", "adjustment") for f in it.fields}
        items += generic_items(agent_id, [agent_id], patient, ctx, kb, used)
    return mono, items, dose


def _weight(mono: Monograph, ctx: Context) -> float | None:
    """The recorded weight when a dose rule of the monograph is per kg (it then decides the amount)."""
    if not known(mono).per_kg:
        return None
    value = ctx.facts.get("weight_kg")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def screen_agent(
    agent_id: str, patient: Patient, kb: AgentKnowledge, variant: str | None = None
) -> AgentScreen:
    """Safety items and dose of one agent for one patient (``variant``: a regimen id such as
    ``ssa_above_label`` that selects the agent's dose level inside that regimen)."""
    mono, items, dose = _screen(agent_id, patient, kb, _context(patient, kb), variant, generic=True)
    items = _sorted(items)
    return AgentScreen(agent=agent_id, name=mono.name, safety=items, dose=dose, counts=_counts(items))


def scope_item(agent: str, item_id: str, finding: str, action: str) -> SafetyItem:
    """An info item saying what lies outside the drug monographs (cited to the seed's tables)."""
    return SafetyItem(
        severity="info",
        agent=agent,
        id=item_id,
        kind="scope",
        source=SEED_TABLES,
        finding=finding,
        action=action,
    )


def screen_regimen(
    regimen_id: str, patient: Patient, kb: AgentKnowledge, session: ScreenSession | None = None
) -> RegimenScreen:
    """Every agent of a regimen screened for one patient; medication and free-text items appear once.

    Pass a :class:`ScreenSession` to screen several regimens of one patient without repeating work."""
    if regimen_id not in REGIMEN_AGENTS:
        raise KeyError(f"unknown regimen id '{regimen_id}'")
    agents = [a for a in REGIMEN_DRUGS.get(regimen_id, REGIMEN_AGENTS[regimen_id]) if a in kb.agents]
    session = session or ScreenSession(patient, kb)
    ctx = session.ctx
    items: list[SafetyItem] = []
    doses: list[DoseResult] = []
    used: set[str] = set()
    for agent in agents:
        _, its, dose = session.agent(agent, regimen_id)
        items += its
        doses.append(dose)
        used |= {f for it in its if it.kind in ("warning", "adjustment") for f in it.fields}
    if agents:
        items += generic_items(regimen_id, agents, patient, ctx, kb, used)
    if regimen_id == "rt_fluoropyrimidine":
        items.append(
            scope_item(
                "radiotherapy",
                "radiotherapy_out_of_scope",
                RT_FINDING,
                "The radiation plan is screened with radiation oncology; the fluoropyrimidine chosen is "
                "screened here as fluorouracil and as capecitabine.",
            )
        )
    if regimen_id == "clinical_trial":
        items.append(
            scope_item(
                "clinical_trial",
                "clinical_trial_protocol",
                "clinical trial: no agent to screen; eligibility and safety follow the protocol",
                "The protocol's eligibility criteria and dose rules apply.",
            )
        )
    items = _sorted(items)
    return RegimenScreen(regimen=regimen_id, agents=agents, safety=items, doses=doses, counts=_counts(items))


def option_safety(
    regimen_id: str, patient: Patient, kb: AgentKnowledge
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The ``safety`` and ``dose`` extension fields of one Evaluation option (JSON-ready).

    ``dose`` is the agent's DoseResult for a single-agent regimen, ``{"regimen": id, "agents": [...]}`` for a
    combination, and None when the regimen has no drug (clinical trial).
    """
    rs = screen_regimen(regimen_id, patient, kb)
    doses = [d.model_dump(mode="json") for d in rs.doses]
    dose: dict[str, Any] | None = doses[0] if len(doses) == 1 else None
    if len(doses) > 1:
        dose = {"regimen": regimen_id, "agents": doses}
    return [i.model_dump(mode="json") for i in rs.safety], dose
