"""Output of the safety screen: items beside (never inside) guideline eligibility.

Ordering is deterministic: severity (critical, warning, info), then agent,
then item id. No timestamps; the same patient and data give the same output.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal[
    "warning", "adjustment", "monitoring", "not_assessed", "not_screened", "screened", "scope",
]  # fmt: skip
# info items the text report and the PDF show without asking: a rule's finding about this patient or regimen
# ("warning", "scope") and what was not screened; monitoring, not-assessed and screened items wait
SHOWN_INFO_KINDS: frozenset[str] = frozenset({"warning", "scope", "not_screened"})


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceOut(_Out):
    document: str
    section: str
    url: str | None = None
    seed: str | None = None
    date: str | None = None
    also: list[SourceOut] = Field(default_factory=list)


class SafetyItem(_Out):
    severity: Literal["critical", "warning", "info"]
    agent: str
    finding: str
    action: str
    source: SourceOut
    fields: list[str] = Field(default_factory=list)
    # extensions
    id: str
    kind: Kind
    verified: bool = True  # False: the rule (or a drug's class membership) is not confirmed against the label
    verification: str | None = None  # what is unconfirmed, when verified is False


class DoseResult(_Out):
    agent: str
    standard: str
    adjusted: str | None = None
    adjusted_mg: float | None = None
    rules_applied: list[str] = Field(default_factory=list)
    source: SourceOut
    # extensions
    unit: str
    adjusted_amount: float | None = None
    pending: list[str] = Field(default_factory=list)
    net_label: bool = False
    unverified: list[str] = Field(default_factory=list)  # dose facts used here that are not label-confirmed
    # the situation of each rule named in rules_applied and pending, in words, by rule id
    # ("strong_cyp3a4_inhibitor" -> "Strong CYP3A4 inhibitor"): what a page or card shows for the id
    rule_names: dict[str, str] = Field(default_factory=dict)


class AgentScreen(_Out):
    agent: str
    name: str
    safety: list[SafetyItem]
    dose: DoseResult
    counts: dict[str, int]


class RegimenScreen(_Out):
    regimen: str
    agents: list[str]
    safety: list[SafetyItem]
    doses: list[DoseResult]
    counts: dict[str, int]
