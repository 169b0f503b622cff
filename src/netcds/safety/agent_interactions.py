"""One agent's drug interactions as data, for its monograph page (``GET /api/v1/agents/{id}``).

The interaction lists (``knowledge/interactions/*.yaml``) hold medication classes and
their member drugs, not agents; an agent's interactions are the rules of its
monograph (adjustments, warnings, monitoring) whose condition requires a medication
class or a named medication. Each is given with the monograph's citation for the
rule and, for every class or medication it names, the lists' citation for it and
the drugs the screen recognises (the lists give examples, not every drug). A
medication named under ``not`` (e.g. "a P-gp inhibitor without a CYP3A4
inhibitor") is an exclusion, not an interaction partner, and is not listed.
"""

from __future__ import annotations

from typing import Any

from netcds.safety.conditions import MedLeaf, SafetyCondition, SAll, SAny
from netcds.safety.load import AgentKnowledge, resolve
from netcds.safety.models import SourceOut
from netcds.safety.schema import Adjustment, Monitoring, WarningRule

__all__ = ["agent_interactions"]


def _required_meds(c: SafetyCondition | None) -> list[MedLeaf]:
    if isinstance(c, SAll | SAny):
        return [m for item in c.items for m in _required_meds(item)]
    if isinstance(c, MedLeaf):
        return [c]
    return []  # a fact or date leaf, or a `not` (an exclusion)


def _source(s: SourceOut) -> dict[str, Any]:
    return s.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


def _members(kb: AgentKnowledge) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for generic in sorted(kb.drugs):
        for k in kb.drugs[generic].classes:
            out.setdefault(k, []).append(generic)
    return out


def _class_entry(kb: AgentKnowledge, members: dict[str, list[str]], k: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": k, "label": kb.class_labels.get(k, k)}
    if k in kb.class_sources:
        entry["source"] = _source(kb.class_sources[k])
    entry["medications"] = members.get(k, [])
    doubtful = [g for g in entry["medications"] if k in kb.drugs[g].unverified]
    if doubtful:
        entry["unverified_medications"] = doubtful
    return entry


def _medication_entry(kb: AgentKnowledge, name: str) -> dict[str, Any]:
    info = kb.drugs.get(name)
    entry: dict[str, Any] = {"name": name}
    if info is not None:
        entry["classes"] = sorted(info.classes)
        entry["sources"] = [_source(s) for s in info.sources]
    return entry


def agent_interactions(kb: AgentKnowledge, agent_id: str) -> list[dict[str, Any]]:
    """Every rule of the agent's monograph that a recorded medication triggers, in data order, with
    the classes and medications it names and their public sources."""
    mono = kb.monograph(agent_id)
    members = _members(kb)
    rules: list[tuple[str, Adjustment | WarningRule | Monitoring]] = [
        *(("adjustments", a) for a in mono.adjustments),
        *(("warnings", w) for w in mono.warnings),
        *(("monitoring", m) for m in mono.monitoring),
    ]
    out: list[dict[str, Any]] = []
    for where, rule in rules:
        leaves = _required_meds(rule.when)
        if not leaves:
            continue
        item: dict[str, Any] = {"id": rule.id, "rule": where}
        if isinstance(rule, Monitoring):
            item |= {"severity": "info", "finding": rule.what}
        else:
            item |= {"severity": rule.severity, "finding": rule.finding, "action": rule.action}
        if isinstance(rule, Adjustment):
            item["effect"] = rule.effect.text
        classes = dict.fromkeys(k for leaf in leaves for k in leaf.classes)
        names = dict.fromkeys(n for leaf in leaves for n in leaf.names)
        item["classes"] = [_class_entry(kb, members, k) for k in classes]
        item["medications"] = [_medication_entry(kb, n) for n in names]
        item["source"] = _source(resolve(mono.sources, rule.source))
        if not rule.verified:
            item["verified"] = False
            item["verification"] = rule.verification
        out.append(item)
    return out
