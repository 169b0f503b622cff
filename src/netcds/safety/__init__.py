"""Drug safety and dosing: agent monographs and interaction lists as data, plus a screening engine.

Public API::

    from netcds.safety import load_agents, screen_agent, screen_regimen
    kb = load_agents()
    screen_agent("cabozantinib", patient, kb)    # AgentScreen: safety items + dose
    screen_regimen("folfox", patient, kb)         # RegimenScreen: every agent of the regimen

Safety never changes guideline eligibility; it is reported beside it.
"""

from __future__ import annotations

from pathlib import Path

from netcds.safety.load import AgentKnowledge, load_agents, load_folder
from netcds.safety.models import AgentScreen, DoseResult, RegimenScreen, SafetyItem
from netcds.safety.screen import option_safety, screen_agent, screen_regimen

__all__ = [
    "AgentKnowledge", "AgentScreen", "DoseResult", "RegimenScreen", "SafetyItem",
    "load_agents", "option_safety", "screen_agent", "screen_regimen", "validate_knowledge",
]  # fmt: skip


def validate_knowledge(root: Path | None = None) -> str:
    """Validate monographs and interaction lists (uncached); KnowledgeError lists every problem."""
    from netcds.knowledge.load import default_knowledge_dir

    kb = load_folder((root or default_knowledge_dir()).resolve())
    n_drugs = len(kb.drugs)
    items = [
        x
        for m in kb.agents.values()
        for x in (m.dose, *m.adjustments, *m.warnings, *m.monitoring, *m.unrecorded)
    ]
    n_unverified = sum(1 for x in items if not x.verified)
    return (
        f"drug safety: {len(kb.agents)} agent monographs, {len(kb.interactions)} interaction lists "
        f"({n_drugs} medications), {n_unverified} monograph items and {len(kb.unverified_meds)} medication "
        f"class memberships marked unverified, digest {kb.digest}"
    )
