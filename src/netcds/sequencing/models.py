"""Typed output of the sequencing layer (history, pace, considerations, order, what-if).

These models are added to the Evaluation by the integrator (``Option.history``,
``Option.considerations`` and evaluation-level fields). Same input, same output:
no clocks; months are computed from recorded dates and ``as_of`` only.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from netcds.evaluation import SourceRef

Response = Literal["CR", "PR", "SD", "PD"]
StopReason = Literal["progression", "toxicity", "completed", "patient_choice", "other"]
ProgressionType = Literal["radiographic", "clinical", "symptomatic"]
DoseLevel = Literal["standard", "above_label", "below_standard"]
Factor = Literal[
    "tumor_burden", "progression_pace", "progression_significance", "prior_durability", "comorbidity",
    "preference", "cumulative_toxicity", "logistics", "monitoring", "access", "tumor_biology",
]  # fmt: skip
Direction = Literal["for", "against", "neutral"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- lines of therapy -------------------------------------------------------------------------


class LineMember(_Out):
    """One recorded treatment (``treatments[index]``) inside a line."""

    index: int
    field: str
    agent: str
    role: Literal["line", "backbone"]
    start: date | None
    end: date | None
    dose_mg: float | None = None
    interval_days: float | None = None
    ssa_dose_level: DoseLevel | None = None
    ssa_dose_basis: str | None = None
    best_response: Response | None = None
    progressed: bool | None = None
    progression_date: date | None = None
    progression_type: ProgressionType | None = None
    stop_reason: StopReason | None = None


class Durability(_Out):
    """How long the line controlled the disease, and what that number means."""

    months: float | None
    to_progression: bool | None
    basis: str


class LineOfTherapy(_Out):
    line: int
    regimen: str | None
    label: str
    agents: list[str]
    backbone: list[str] = Field(default_factory=list)
    counts_as: list[str] = Field(default_factory=list)
    classes: list[str] = Field(default_factory=list)
    start: date | None
    end: date | None
    end_basis: str
    ongoing: bool
    duration_months: float | None
    duration_basis: str
    best_response: Response | None
    stop_reason: StopReason | None
    stop_reasons: list[StopReason] = Field(default_factory=list)
    progressed: bool | None
    progression_date: date | None
    progression_type: ProgressionType | None
    durability: Durability
    ssa_dose_level: DoseLevel | None = None
    myelosuppressive: bool = False
    tki: bool = False
    members: list[LineMember]
    notes: list[str] = Field(default_factory=list)
    source: str = "patient record (treatments[])"


class Exposure(_Out):
    """Cumulative exposure to one agent over all lines (as line or backbone)."""

    agent: str
    agent_class: str | None
    lines: list[int]
    courses: int
    total_months: float | None
    complete: bool
    estimated_administrations: int | None = None
    basis: str


class LineRef(_Out):
    line: int
    agents: list[str]
    detail: str


class HistorySummary(_Out):
    recorded: bool
    line_count: int
    progressed_on: list[str] = Field(default_factory=list)
    progressed_on_ssa: bool | None = None
    progressed_on_standard_ssa: bool | None = None
    progressed_on_above_label_ssa: bool | None = None
    ssa_progression_basis: list[str] = Field(default_factory=list)
    last_progression: LineRef | None = None
    last_progression_type: ProgressionType | None = None
    symptomatic_or_clinical_progression_lines: list[int] = Field(default_factory=list)
    radiographic_progression_lines: list[int] = Field(default_factory=list)
    prior_myelosuppressive: bool | None = None
    myelosuppressive_lines: list[LineRef] = Field(default_factory=list)
    prior_tki: bool | None = None
    tki_lines: list[LineRef] = Field(default_factory=list)
    stopped_for_toxicity: list[LineRef] = Field(default_factory=list)
    cumulative_exposures: list[Exposure] = Field(default_factory=list)
    not_counted_as_lines: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


# ---- pace -------------------------------------------------------------------------------------


class Measurement(_Out):
    date: date
    sum_of_diameters_mm: float


class ProgressionPace(_Out):
    value: Literal["slow", "moderate", "rapid"] | None
    derived_from: Literal["disease.progression_pace", "assessments"] | None
    rule: str
    growth_percent_per_month: float | None = None
    measurements: list[Measurement] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    convention: str


# ---- per option -------------------------------------------------------------------------------


class Course(_Out):
    """One earlier line that gave this option's regimen."""

    line: int
    regimen: str | None
    start: date | None
    end: date | None
    duration_months: float | None
    best_response: Response | None
    progressed: bool | None
    progression_type: ProgressionType | None
    stop_reason: StopReason | None
    durability: Durability


class CategoryTrigger(_Out):
    """A category rule of the option that reads the treatment history, and the lines that meet it."""

    category: str
    says: str
    met: bool | None
    lines: list[LineRef] = Field(default_factory=list)


class OptionHistory(_Out):
    received: bool | None
    lines: list[int] = Field(default_factory=list)
    courses: list[Course] = Field(default_factory=list)
    total_months: float | None = None
    best_response: Response | None = None
    progressed: bool | None = None
    stopped_for_toxicity: bool = False
    stop_reasons: list[StopReason] = Field(default_factory=list)
    same_class_lines: list[LineRef] = Field(default_factory=list)
    category_triggers: list[CategoryTrigger] = Field(default_factory=list)
    summary: str


class Consideration(_Out):
    rule_id: str
    factor: Factor
    direction: Direction
    text: str
    basis: list[str] = Field(default_factory=list)
    source: SourceRef
    additional_sources: list[SourceRef] = Field(default_factory=list)


class OrderFactor(_Out):
    rule_id: str
    factor: Factor
    direction: Literal["for", "against"]
    effect: int


class OptionSequencing(_Out):
    entry_id: str
    regimen: str
    tier: str
    status: str
    history: OptionHistory | None = None
    considerations: list[Consideration] = Field(default_factory=list)
    not_assessed: list[str] = Field(default_factory=list)
    discussion_rank: int | None = None
    order_score: int = 0
    order_factors: list[OrderFactor] = Field(default_factory=list)
    order_explanation: str


class TierOrder(_Out):
    tier: str
    entry_ids: list[str]
    unranked: list[str] = Field(default_factory=list)


class SequencingResult(_Out):
    statement: str
    lines_of_therapy: list[LineOfTherapy]
    history: HistorySummary
    progression_pace: ProgressionPace
    options: list[OptionSequencing]
    discussion_order: list[TierOrder]
    conventions: dict[str, Any]

    def for_option(self, entry_id: str) -> OptionSequencing:
        for o in self.options:
            if o.entry_id == entry_id:
                return o
        raise KeyError(entry_id)


# ---- what-if ----------------------------------------------------------------------------------


class Assignment(_Out):
    path: str
    before: Any
    after: Any


class SettingSnapshot(_Out):
    table: str | None
    column: str | None
    status: str


class OptionChange(_Out):
    entry_id: str
    regimen: str
    label: str
    status_before: str | None
    status_after: str | None
    category_before: str | None
    category_after: str | None
    changed: list[Literal["status", "category", "added", "removed"]]


class WhatIfResult(_Out):
    assignments: list[Assignment]
    setting_before: SettingSnapshot
    setting_after: SettingSnapshot
    setting_changed: bool
    ssa_plan_before: str
    ssa_plan_after: str
    changes: list[OptionChange]
    unchanged: int
    statement: str
