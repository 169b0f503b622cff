"""The safety cards of agent screens: a card per serious finding, and one card gathering the checks not
assessed for missing data, monitoring and notes."""

from __future__ import annotations

from typing import Any

from netcds.fhir.card_base import (
    OVERRIDE_REASONS,
    AgentScreenView,
    SafetyFinding,
    agent_page,
    cite,
    field_labels,
    indicator_for,
    md_text,
    summary_text,
)
from netcds.fhir.card_base import agent_label as _agent_label
from netcds.fhir.card_base import card_links as _links
from netcds.fhir.card_base import card_source as _source

NOT_ASSESSED = "not assessed: "  # how the safety screen words a check it could not run (netcds.safety)


def readable_finding(f: SafetyFinding) -> str:
    """A finding's words with the fields a "not assessed: <paths> — needed to check: ..." item names as
    clinician-readable labels (the screen's text names the contract paths)."""
    raw = NOT_ASSESSED + ", ".join(f.fields)
    if f.kind != "not_assessed" or not f.fields or not f.finding.startswith(raw):
        return f.finding
    return NOT_ASSESSED + field_labels(f.fields) + f.finding[len(raw) :]


def safety_card(f: SafetyFinding, base_url: str, agent_label: str, *, overrides: bool) -> dict[str, Any]:
    label, url = cite(f.source)
    finding = md_text(f.finding)  # may quote record text (a medication's name as recorded)
    lines = [f"**{agent_label}:** {finding}"]
    if f.action:  # the source's advice in words (agent data: descriptive, never an order)
        lines.append(f"**What the source says:** {f.action}")
    if f.fields:
        lines.append("**Based on (this patient's record):** " + field_labels(f.fields))
    lines.append(f"**Source:** {label}")
    card: dict[str, Any] = {
        "summary": summary_text(f"{agent_label}: {md_text(f.finding, emphasis=False)}"),
        "indicator": indicator_for(f.severity),
        "detail": "\n\n".join(lines),
        "source": _source(label, url, "drug-safety", "Drug safety"),
        "links": _links(agent_page(base_url, f.agent), f"netcds: {agent_label} safety information"),
    }
    if overrides:
        card["overrideReasons"] = [dict(r) for r in OVERRIDE_REASONS]
    return card


UNASSESSED = ("not_assessed", "not_screened")


def info_card(screen: AgentScreenView, items: list[SafetyFinding], base_url: str) -> dict[str, Any]:
    """One card gathering the checks not assessed for missing data, monitoring and notes: a warning when a
    check not assessed guards a critical finding (netcds.safety: one step below what it guards)."""
    label = _agent_label(screen.agent)
    monitoring = [f for f in items if f.kind == "monitoring"]
    unassessed = [f for f in items if f.kind in UNASSESSED]
    other = [f for f in items if f.kind not in ("monitoring", *UNASSESSED)]
    lines: list[str] = []
    for title, group in (
        ("Checks not assessed (record the facts; unknown is not read as absent)", unassessed),
        ("Monitoring to plan", monitoring),
        ("Other information", other),
    ):
        if group:
            lines.append(f"**{title}:**")
            lines += [f"- {md_text(readable_finding(f))} ({cite(f.source)[0]})" for f in group]
            lines.append("")
    bits = [
        f"{len(unassessed)} check(s) not assessed for missing data" if unassessed else "",
        f"{len(monitoring)} monitoring item(s)" if monitoring else "",
        f"{len(other)} note(s)" if other else "",
    ]
    serious = any(indicator_for(f.severity) != "info" for f in unassessed)
    return {
        "summary": summary_text(f"{label}: " + ", ".join(b for b in bits if b)),
        "indicator": "warning" if serious else "info",
        "detail": "\n".join(lines).strip(),
        "source": _source(
            f"{label} label information (netcds safety data)",
            agent_page(base_url, screen.agent),
            "drug-safety",
            "Drug safety",
        ),
        "links": _links(agent_page(base_url, screen.agent), f"netcds: {label} safety information"),
    }
