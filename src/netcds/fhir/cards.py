"""Evaluation and agent safety screens -> CDS Hooks 2.0 cards.

Cards are decision support, never a directive: the options card lists every
eligible option by tier as the guideline does (no single "best" option), the
missing-data card names the fields that would change them, safety cards cite
their source. A card's ``uuid`` is a UUIDv5 of its content and the input hash,
so the same input gives the same cards (no clock, no randomness); links are
left out of the hash because they carry stored ids.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from netcds.evaluation import Evaluation, GuidelineRef, Option

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:netcds:cds-hooks")
TOPIC_SYSTEM = "urn:netcds:cds-topic"
OVERRIDE_SYSTEM = "urn:netcds:override-reason"
UCUM = "http://unitsofmeasure.org"
MAX_SUMMARY = 139
TIER_ORDER = ("preferred", "other_recommended", "useful_in_certain_circumstances", "listed")
TIER_LABEL = {
    "preferred": "Preferred",
    "other_recommended": "Other recommended",
    "useful_in_certain_circumstances": "Useful in certain circumstances",
    "listed": "Listed (untiered)",
}
TABLE_SHORT = {
    "gi_wd_g12": "GI WD G1/2 table",
    "lung_thymus": "lung/thymus table",
    "pancreas_wd_g12": "pancreas WD G1/2 table",
    "wd_g3": "WD G3 table",
}
OVERRIDE_REASONS: tuple[dict[str, str], ...] = tuple(
    {"system": OVERRIDE_SYSTEM, "code": code, "display": display}
    for code, display in (
        ("benefit-outweighs-risk", "Benefit judged to outweigh the risk; will monitor"),
        ("interacting-drug-stopped", "Interacting medicine is being stopped or replaced"),
        ("dose-already-adjusted", "Dose already adjusted by the prescriber"),
        ("data-incorrect", "Finding rests on outdated or incorrect record data"),
        ("patient-preference", "Patient's informed preference"),
    )
)
INDICATORS = ("info", "warning", "critical")  # safety severities map 1:1; anything else shows as a warning


class SafetyFinding(BaseModel):
    """One safety item of an agent screen (shape of netcds.safety's SafetyItem)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    severity: str
    agent: str
    finding: str
    action: str | None = None
    source: Any = None
    fields: list[str] = Field(default_factory=list)
    id: str | None = None
    kind: str | None = None


class DoseAdvice(BaseModel):
    """The dose part of an agent screen (shape of netcds.safety's dose)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    agent: str
    standard: Any = None
    adjusted: Any = None
    adjusted_mg: float | None = None
    rules_applied: list[Any] = Field(default_factory=list)
    source: Any = None
    pending: list[str] = Field(default_factory=list)

    def rule_ids(self) -> set[str]:
        """Ids of the safety items that caused the adjustment ("strong_cyp3a4_inhibitor: ..." -> the id)."""
        out = set()
        for r in self.rules_applied:
            if isinstance(r, str) and ":" in r:
                out.add(r.split(":", 1)[0].strip())
            elif isinstance(r, Mapping) and r.get("id"):
                out.add(str(r["id"]))
        return out


class AgentScreenView(BaseModel):
    """A safety screen of one agent for one patient, independent of the safety module's classes."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    agent: str
    safety: list[SafetyFinding] = Field(default_factory=list)
    dose: DoseAdvice | None = None

    @classmethod
    def from_screen(cls, agent: str, screen: Any) -> AgentScreenView:
        """Accept the safety module's AgentScreen (pydantic model, dataclass or dict)."""
        if isinstance(screen, BaseModel):
            # read the model's attributes: dumping the screen to JSON and validating every item again
            # cost ~3x as much (~0.3 ms of a first order-sign call); sources stay models, read by cite()
            items = [
                SafetyFinding.model_validate(s, from_attributes=True) for s in getattr(screen, "safety", [])
            ]
            raw_dose = getattr(screen, "dose", None)
            dose_view = (
                DoseAdvice.model_validate(raw_dose, from_attributes=True) if raw_dose is not None else None
            )
            return cls(
                agent=str(getattr(screen, "agent", None) or agent),
                safety=[f if f.agent else f.model_copy(update={"agent": agent}) for f in items],
                dose=dose_view
                if dose_view is None or dose_view.agent
                else dose_view.model_copy(update={"agent": agent}),
            )
        data = _plain(screen)
        if not isinstance(data, dict):
            data = {}
        safety = [_plain(s) for s in data.get("safety") or []]
        dose = _plain(data.get("dose"))
        if isinstance(dose, dict):
            dose = {**dose, "agent": dose.get("agent") or agent}
        return cls(
            agent=str(data.get("agent") or agent),
            safety=[
                SafetyFinding.model_validate({**s, "agent": s.get("agent") or agent})
                for s in safety
                if isinstance(s, dict)
            ],
            dose=DoseAdvice.model_validate(dose) if isinstance(dose, dict) else None,
        )


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        import dataclasses

        return json.loads(json.dumps(dataclasses.asdict(value), default=str))
    return value


def indicator_for(severity: str) -> str:
    low = severity.strip().lower()
    return low if low in INDICATORS else "warning"


def summary_text(text: str) -> str:
    """One line, under 140 characters."""
    one = " ".join(text.split())
    return one if len(one) <= MAX_SUMMARY else one[: MAX_SUMMARY - 1].rstrip() + "…"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def finalize(card: dict[str, Any], seed: str) -> dict[str, Any]:
    """Give a card (and its suggestions) deterministic uuids from content + seed (the input hash)."""
    hashed = {k: v for k, v in card.items() if k not in ("uuid", "links")}
    if "suggestions" in hashed:
        hashed["suggestions"] = [{k: v for k, v in s.items() if k != "uuid"} for s in hashed["suggestions"]]
    card_id = str(uuid.uuid5(NAMESPACE, seed + "|" + _canonical(hashed)))
    for s in card.get("suggestions", []):
        s["uuid"] = str(uuid.uuid5(NAMESPACE, card_id + "|" + s["label"]))
    return {"uuid": card_id, **{k: v for k, v in card.items() if k != "uuid"}}


def cite(source: Any) -> tuple[str, str | None]:
    """A readable citation and its URL from a source given as a dict, a model or a string."""
    # a model's field values are read as they are (its __dict__), not dumped to JSON first
    src = source.__dict__ if isinstance(source, BaseModel) else _plain(source)
    if isinstance(src, str):
        return src, None
    if not isinstance(src, Mapping):
        return "source not stated", None
    parts = [str(src[k]) for k in ("document", "label", "name") if src.get(k)][:1]
    parts += [str(src[k]) for k in ("version", "section", "page", "table", "date") if src.get(k)]
    url = src.get("url")
    if not url:  # a seed citation corroborated by a public document: link that one
        also = [a.__dict__ if isinstance(a, BaseModel) else a for a in src.get("also") or []]
        url = next((a.get("url") for a in also if isinstance(a, Mapping) and a.get("url")), None)
    return (", ".join(parts) or "source not stated"), (str(url) if url else None)


def _source(label: str, url: str | None, topic: str, topic_display: str) -> dict[str, Any]:
    out: dict[str, Any] = {"label": label}
    if url:
        out["url"] = url
    out["topic"] = {"system": TOPIC_SYSTEM, "code": topic, "display": topic_display}
    return out


def _links(url: str | None, label: str) -> list[dict[str, str]]:
    return [{"label": label, "url": url, "type": "absolute"}] if url else []


def _guideline_label(ev: Evaluation) -> str:
    return f"NCCN NET V.{ev.guideline.version}, systemic therapy tables (encoded by netcds)"


def _option_line(o: Option) -> str:
    bits = [f"category {o.category}"]
    if o.intent:
        bits.append(o.intent)
    if o.footnotes:
        bits.append("footnotes " + ",".join(o.footnotes))
    return f"{o.label} ({'; '.join(bits)})"


def options_card(ev: Evaluation, base_url: str, explanation_url: str | None) -> dict[str, Any]:
    s = ev.setting
    guide_url = guideline_url(base_url, ev.guideline)
    eligible = [o for o in ev.options if o.status == "eligible"]
    waiting = [o for o in ev.options if o.status == "needs_data"]
    table = TABLE_SHORT.get(s.table or "", "table")
    lines: list[str] = []
    if s.status == "applies":
        tiers = [t for t in TIER_ORDER if any(o.tier == t for o in eligible)]
        summary = (
            f"NET therapy ({table}, NCCN V.{ev.guideline.version}): {len(eligible)} eligible option(s)"
            f" in {len(tiers)} tier(s); {len(waiting)} need data"
        )
        indicator = "info"
        lines.append(f"**Setting:** {s.title or table}" + (f", {s.row}" if s.row else ""))
        lines += [f"- {r}" for r in s.reasons]
        lines.append("")
        lines.append(
            "**Eligible options by tier** (the guideline's tiers; order within a tier is not a ranking):"
        )
        for t in TIER_ORDER:
            names = [_option_line(o) for o in eligible if o.tier == t]
            if names:
                lines.append(f"- *{TIER_LABEL[t]}:* " + "; ".join(names))
        if not eligible:
            lines.append("- none eligible on the recorded facts")
        if waiting:
            lines.append("")
            lines.append("**Need data before they can be assessed:**")
            lines += [f"- {o.label}: record {', '.join(o.missing) or 'see reasons'}" for o in waiting]
    elif s.status == "needs_data":
        summary = (
            f"NET therapy table cannot be chosen yet: record {', '.join(s.missing) or 'the missing facts'}"
        )
        indicator = "warning"
        lines.append("**The applicable guideline table depends on facts not recorded:**")
        lines += [f"- {r}" for r in s.reasons]
    else:
        summary = f"No NCCN NET V.{ev.guideline.version} systemic-therapy table applies to the recorded facts"
        indicator = "info"
        lines += [f"- {r}" for r in s.reasons]
    lines += ["", ev.sequencing_statement, "", f"*{ev.disclaimer}*"]
    return {
        "summary": summary_text(summary),
        "indicator": indicator,
        "detail": "\n".join(lines),
        "source": _source(_guideline_label(ev), guide_url, "therapy-options", "Systemic therapy options"),
        "links": _links(explanation_url or guide_url, "netcds: explanation of this evaluation"),
    }


def missing_data_card(ev: Evaluation, base_url: str, explanation_url: str | None) -> dict[str, Any] | None:
    if not ev.needs_data or ev.setting.status != "applies":
        return None
    depends: dict[str, list[str]] = {f: [] for f in ev.needs_data}
    for o in ev.options:
        for f in dict.fromkeys(o.missing + o.category_missing):
            depends.setdefault(f, []).append(o.label)
    if ev.ssa_plan.missing:
        for f in ev.ssa_plan.missing:
            depends.setdefault(f, []).append("SSA continuation plan")
    lines = [
        "Recording these facts could change an option's status or category (unknown is never read "
        "as negative):"
    ]
    for f, labels in depends.items():
        lines.append(f"- `{f}`" + (f": {', '.join(dict.fromkeys(labels))}" if labels else ""))
    guide_url = guideline_url(base_url, ev.guideline)
    n = len(ev.needs_data)
    head = ", ".join(ev.needs_data[:3]) + (" …" if n > 3 else "")
    return {
        "summary": summary_text(f"{n} unrecorded fact(s) could change the NET therapy options: {head}"),
        "indicator": "info",
        "detail": "\n".join(lines),
        "source": _source(_guideline_label(ev), guide_url, "missing-data", "Data that would change options"),
        "links": _links(explanation_url or guide_url, "netcds: explanation of this evaluation"),
    }


def safety_card(f: SafetyFinding, base_url: str, agent_label: str, *, overrides: bool) -> dict[str, Any]:
    label, url = cite(f.source)
    lines = [f"**{agent_label}:** {f.finding}"]
    if f.action:
        lines.append(f"**Consider:** {f.action}")
    if f.fields:
        lines.append("**Based on:** " + ", ".join(f"`{x}`" for x in f.fields))
    lines.append(f"**Source:** {label}")
    card: dict[str, Any] = {
        "summary": summary_text(f"{agent_label}: {f.finding}"),
        "indicator": indicator_for(f.severity),
        "detail": "\n\n".join(lines),
        "source": _source(label, url, "drug-safety", "Drug safety"),
        "links": _links(f"{base_url}/api/v1/agents/{f.agent}", f"netcds: {agent_label} safety information"),
    }
    if overrides:
        card["overrideReasons"] = [dict(r) for r in OVERRIDE_REASONS]
    return card


def _agent_label(agent: str) -> str:
    return agent.replace("_", " ").capitalize()


EXPLANATION = "urn:netcds:explanation"  # stands for a call's explanation URL in a cached card


def guideline_url(base_url: str, guideline: GuidelineRef) -> str:
    return f"{base_url}/api/v1/guidelines/{guideline.id}/{guideline.version}"


def with_explanation(cards: Sequence[Mapping[str, Any]], marker: str, url: str) -> list[dict[str, Any]]:
    """Copies of ``cards`` whose links to ``marker`` point at ``url``. Links are not part of a card's
    uuid, so the uuids stay those of the cached cards."""
    return [
        {**c, "links": [{**k, "url": url} if k.get("url") == marker else k for k in c.get("links") or []]}
        for c in cards
    ]


def patient_view_cards(
    ev: Evaluation,
    *,
    base_url: str,
    seed: str,
    explanation_url: str | None = None,
    screens: Sequence[AgentScreenView] = (),
) -> list[dict[str, Any]]:
    """Cards for the patient-view hook: options by tier, missing data, critical safety findings."""
    cards = [options_card(ev, base_url, explanation_url)]
    missing = missing_data_card(ev, base_url, explanation_url)
    if missing:
        cards.append(missing)
    seen: set[tuple[str, str]] = set()
    findings: list[SafetyFinding] = []
    for o in ev.options:
        if o.status != "eligible":
            continue
        # only critical findings make a card: test the severity before converting an item (a patient's
        # eligible options carry dozens of items, each a model dump and a validation to convert)
        findings += [
            SafetyFinding.model_validate(_plain(item))
            for item in o.safety
            if indicator_for(item.severity) == "critical"
        ]
    for screen in screens:
        findings += screen.safety
    for f in findings:
        key = (f.agent, f.finding)
        if indicator_for(f.severity) != "critical" or key in seen:
            continue
        seen.add(key)
        cards.append(safety_card(f, base_url, _agent_label(f.agent), overrides=True))
    return [finalize(c, seed) for c in cards]


def draft_dose_mg(resource: Mapping[str, Any]) -> float | None:
    """The dose of a draft MedicationRequest in mg, when stated as a UCUM/mg quantity."""
    for di in resource.get("dosageInstruction") or []:
        for dr in (di or {}).get("doseAndRate") or []:
            q = (dr or {}).get("doseQuantity") or {}
            unit = str(q.get("code") or q.get("unit") or "").lower()
            if isinstance(q.get("value"), int | float) and unit == "mg":
                return float(q["value"])
    return None


def with_dose(resource: Mapping[str, Any], mg: float) -> dict[str, Any]:
    """A copy of the draft MedicationRequest with its (first) dose set to ``mg`` mg, timing kept."""
    out = copy.deepcopy(dict(resource))
    value: int | float = int(mg) if float(mg).is_integer() else mg
    quantity = {"value": value, "unit": "mg", "system": UCUM, "code": "mg"}
    instructions = out.get("dosageInstruction") or [{}]
    first = dict(instructions[0] or {})
    rates = first.get("doseAndRate") or [{}]
    rate0 = dict(rates[0] or {})
    rate0["doseQuantity"] = quantity
    first["doseAndRate"] = [rate0, *rates[1:]]
    if "text" in first:
        first["text"] = f"{value} mg (adjusted; was: {first['text']})"
    out["dosageInstruction"] = [first, *instructions[1:]]
    return out


def _rule_text(r: Any) -> str:
    if isinstance(r, str):
        return r
    if isinstance(r, Mapping):
        return str(r.get("says") or r.get("text") or r.get("id") or _canonical(r))
    return str(r)


def _dose_value(mg: float) -> int | float:
    return int(mg) if float(mg).is_integer() else mg


def dose_suggestion(screen: AgentScreenView, draft: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """An ``update`` suggestion setting the draft order to the adjusted dose; None when none applies."""
    d = screen.dose
    if (
        d is None
        or d.adjusted_mg is None
        or draft is None
        or draft.get("resourceType") != "MedicationRequest"
    ):
        return None
    current = draft_dose_mg(draft)
    if current is not None and abs(current - float(d.adjusted_mg)) < 1e-9:
        return None
    value = _dose_value(d.adjusted_mg)
    name = _agent_label(screen.agent).lower()
    return {
        "label": f"Change {name} dose to {value} mg",
        "actions": [
            {
                "type": "update",
                "description": f"Set the draft {name} order's dose to {value} mg",
                "resource": with_dose(draft, float(d.adjusted_mg)),
            }
        ],
    }


def _dose_lines(screen: AgentScreenView, draft: Mapping[str, Any] | None) -> list[str]:
    d = screen.dose
    assert d is not None
    assert d.adjusted_mg is not None
    label = _agent_label(screen.agent)
    current = draft_dose_mg(draft) if draft else None
    lines = [
        f"**Label-based dose for this patient:** {d.adjusted or f'{_dose_value(d.adjusted_mg)} mg'}"
        + (f" (standard: {d.standard})" if d.standard else "")
    ]
    if d.rules_applied:
        lines.append("**Because:** " + "; ".join(_rule_text(r) for r in d.rules_applied))
    if d.pending:
        lines.append("**Dose not final, data missing:** " + "; ".join(d.pending))
    if current is None:
        lines.append(f"**Draft {label.lower()} dose:** not stated as a mg quantity")
    elif abs(current - float(d.adjusted_mg)) < 1e-9:
        lines.append(f"**Draft {label.lower()} dose:** {current:g} mg, already the adjusted dose")
    else:
        lines.append(f"**Draft {label.lower()} dose:** {current:g} mg")
    src_label, _ = cite(d.source)
    lines.append(f"**Dose source:** {src_label}")
    return lines


def dose_card(
    screen: AgentScreenView, draft: Mapping[str, Any] | None, base_url: str
) -> dict[str, Any] | None:
    """A stand-alone dose card, for an adjustment no safety finding card carries."""
    d = screen.dose
    if d is None or d.adjusted_mg is None:
        return None
    label = _agent_label(screen.agent)
    value = _dose_value(d.adjusted_mg)
    src_label, src_url = cite(d.source)
    suggestion = dose_suggestion(screen, draft)
    card: dict[str, Any] = {
        "summary": summary_text(
            f"{label}: consider {value} mg (label-based adjustment for this patient)"
            if suggestion or draft is None
            else f"{label}: draft dose {value} mg matches the label-based adjustment"
        ),
        "indicator": "warning" if suggestion or draft is None else "info",
        "detail": "\n\n".join(_dose_lines(screen, draft)),
        "source": _source(src_label, src_url, "dose-adjustment", "Dose adjustment"),
        "links": _links(f"{base_url}/api/v1/agents/{screen.agent}", f"netcds: {label} dosing information"),
    }
    if suggestion:
        card["suggestions"] = [suggestion]
        card["selectionBehavior"] = "at-most-one"
        card["overrideReasons"] = [dict(r) for r in OVERRIDE_REASONS]
    return card


def _info_card(screen: AgentScreenView, items: list[SafetyFinding], base_url: str) -> dict[str, Any]:
    label = _agent_label(screen.agent)
    monitoring = [f for f in items if f.kind == "monitoring"]
    unassessed = [f for f in items if f.kind in ("not_assessed", "not_screened")]
    other = [f for f in items if f.kind not in ("monitoring", "not_assessed", "not_screened")]
    lines: list[str] = []
    for title, group in (
        ("Checks not assessed (record the facts; unknown is not read as absent)", unassessed),
        ("Monitoring to plan", monitoring),
        ("Other information", other),
    ):
        if group:
            lines.append(f"**{title}:**")
            lines += [f"- {f.finding} ({cite(f.source)[0]})" for f in group]
            lines.append("")
    bits = [
        f"{len(unassessed)} check(s) not assessed for missing data" if unassessed else "",
        f"{len(monitoring)} monitoring item(s)" if monitoring else "",
        f"{len(other)} note(s)" if other else "",
    ]
    return {
        "summary": summary_text(f"{label}: " + ", ".join(b for b in bits if b)),
        "indicator": "info",
        "detail": "\n".join(lines).strip(),
        "source": _source(
            f"{label} label information (netcds safety data)",
            f"{base_url}/api/v1/agents/{screen.agent}",
            "drug-safety",
            "Drug safety",
        ),
        "links": _links(f"{base_url}/api/v1/agents/{screen.agent}", f"netcds: {label} safety information"),
    }


def order_cards(
    screen: AgentScreenView, draft: Mapping[str, Any] | None, *, base_url: str, seed: str
) -> list[dict[str, Any]]:
    """Cards for order-select / order-sign of one tabled agent: one card per critical or warning finding
    (the one that caused a dose adjustment carries the ``update`` suggestion), a dose card when no
    finding carries the adjustment, and one info card gathering monitoring and not-assessed checks."""
    label = _agent_label(screen.agent)
    order = {"critical": 0, "warning": 1, "info": 2}
    findings = sorted(screen.safety, key=lambda f: order[indicator_for(f.severity)])
    serious = [f for f in findings if indicator_for(f.severity) != "info"]
    minor = [f for f in findings if indicator_for(f.severity) == "info"]
    suggestion = dose_suggestion(screen, draft)
    causes = screen.dose.rule_ids() if screen.dose else set()
    dose_shown = False
    cards: list[dict[str, Any]] = []
    seen: set[str] = set()
    for f in serious:
        if f.finding in seen:
            continue
        seen.add(f.finding)
        card = safety_card(f, base_url, label, overrides=True)
        if screen.dose and screen.dose.adjusted_mg is not None and f.id in causes and not dose_shown:
            card["detail"] += "\n\n" + "\n\n".join(_dose_lines(screen, draft))
            if suggestion:
                card["suggestions"] = [suggestion]
                card["selectionBehavior"] = "at-most-one"
            dose_shown = True
        cards.append(card)
    if not dose_shown:
        dose = dose_card(screen, draft, base_url)
        if dose:
            cards.insert(0, dose)
    if minor:
        cards.append(_info_card(screen, minor, base_url))
    return [finalize(c, seed) for c in cards]


def unscreened_card(agent: str, reason: str, base_url: str, seed: str) -> dict[str, Any]:
    """An info card saying a tabled agent could not be screened (and why), instead of silence."""
    label = _agent_label(agent)
    return finalize(
        {
            "summary": summary_text(f"{label}: netcds could not run its safety screen ({reason})"),
            "indicator": "info",
            "detail": f"No safety or dose findings are shown for {label.lower()} because {reason}. "
            "This is not an all-clear.",
            "source": _source("netcds", f"{base_url}/api/v1/agents/{agent}", "drug-safety", "Drug safety"),
        },
        seed,
    )
