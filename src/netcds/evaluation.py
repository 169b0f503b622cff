"""The contract's output model: one Evaluation of one patient against one guideline version.

Field names of the contract are kept exactly; the rest are documented
extensions (docs/contract.md). No timestamps: the same input and knowledge
version always give byte-identical JSON.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["eligible", "needs_data", "not_eligible"]
SettingStatus = Literal["applies", "needs_data", "not_applicable"]
TableId = Literal["gi_wd_g12", "lung_thymus", "pancreas_wd_g12", "wd_g3"]
ColumnId = Literal["favorable_advanced", "unfavorable_resectable", "unfavorable_advanced"]
SsaAction = Literal["continue", "discontinue", "not_applicable", "not_specified", "needs_data"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceRef(_Out):
    """Where an output item comes from (guideline page/table/footnote, or a public URL)."""

    document: str
    version: str | None = None
    page: str | None = None
    table: str | None = None
    column: str | None = None
    footnote: str | None = None
    footnotes: list[str] = Field(default_factory=list)
    section: str | None = None
    see: list[str] = Field(default_factory=list)
    url: str | None = None
    date: str | None = None


class GuidelineRef(_Out):
    id: str
    version: str
    # the knowledge release that produced it (loadable id; absent in outputs stored before releases)
    release: str | None = None
    title: str | None = None
    version_date: str | None = None
    digest: str | None = None

    @property
    def release_id(self) -> str:
        """The knowledge folder that reproduces it: its release, or its version for older outputs."""
        return self.release or self.version


class Setting(_Out):
    table: TableId | None
    column: ColumnId | None
    status: SettingStatus
    reasons: list[str]
    missing: list[str] = Field(default_factory=list)
    title: str | None = None
    row: str | None = None
    source: SourceRef | None = None
    # where each of ``reasons`` comes from, aligned with it (the same length, in the same order): the
    # table (and column) a finding belongs to, or the exclusion that says why no table applies. Empty
    # only in outputs stored before it was added.
    reason_sources: list[SourceRef] = Field(default_factory=list)


class FootnoteRef(_Out):
    letter: str
    available: bool
    text: str | None = None
    source: SourceRef


class Qualifier(_Out):
    says: str
    met: bool | None
    text: str
    footnote: str | None = None


class PageRef(_Out):
    ref: str
    title: str
    available: bool
    note: str


class Option(_Out):
    regimen: str
    tier: Literal["preferred", "other_recommended", "useful_in_certain_circumstances", "listed"]
    category: Literal["1", "2A", "2B", "3"]
    status: Status
    reasons: list[str]
    missing: list[str]
    footnotes: list[str]
    source: SourceRef
    # extensions
    entry_id: str
    label: str
    intent: Literal["neoadjuvant"] | None = None
    group: str | None = None
    category_default: Literal["1", "2A", "2B", "3"]
    category_basis: list[str] = Field(default_factory=list)
    category_missing: list[str] = Field(default_factory=list)
    qualifiers: list[Qualifier] = Field(default_factory=list)
    footnote_details: list[FootnoteRef] = Field(default_factory=list)
    see: list[PageRef] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    guideline_dose: str | None = None
    note: str | None = None
    # sequencing layer (netcds.sequencing): history, considerations, discussion position
    history: OptionHistory | None = None
    considerations: list[Consideration] = Field(default_factory=list)
    considerations_not_assessed: list[str] = Field(default_factory=list)
    discussion_rank: int | None = None
    order_score: int = 0
    order_factors: list[OrderFactor] = Field(default_factory=list)
    order_explanation: str | None = None
    # safety layer (netcds.safety): beside eligibility, never inside it
    safety: list[SafetyItem] = Field(default_factory=list)
    dose: RegimenDose | None = None


class SsaPlan(_Out):
    action: SsaAction
    reasons: list[str]
    missing: list[str] = Field(default_factory=list)
    footnote: str | None = None
    source: SourceRef | None = None


class Note(_Out):
    id: str
    text: str
    source: SourceRef


class DerivedFact(_Out):
    name: str
    value: Any
    why: str


class PossibleSetting(_Out):
    """One of several settings the record leaves open (``setting.status`` needs_data), with the entries
    that setting's table column lists, each resolved for this patient as far as the record allows: at
    best needs_data (the setting itself is not confirmed), not_eligible where its own condition fails."""

    table: TableId
    column: ColumnId | None
    title: str
    row: str
    missing: list[str]
    reasons: list[str]
    source: SourceRef
    options: list[Option]


class Evaluation(_Out):
    guideline: GuidelineRef
    engine_version: str
    setting: Setting
    options: list[Option]
    possible_settings: list[PossibleSetting] = Field(default_factory=list)
    ssa_plan: SsaPlan
    needs_data: list[str]
    notes: list[Note]
    # extensions
    patient_id: str | None = None
    knowledge: dict[str, str] = Field(default_factory=dict)
    lines_of_therapy: list[LineOfTherapy] = Field(default_factory=list)
    treatment_history: HistorySummary | None = None
    progression_pace: ProgressionPace | None = None
    discussion_order: list[TierOrder] = Field(default_factory=list)
    safety_summary: dict[str, int] = Field(default_factory=dict)
    derived_facts: list[DerivedFact] = Field(default_factory=list)
    unavailable_references: list[PageRef] = Field(default_factory=list)
    sequencing_statement: str
    disclaimer: str


# The layer models reference SourceRef above, so they are imported last and the
# forward references resolved here (no import cycle: neither imports the engine).
from netcds.safety.models import DoseResult, SafetyItem  # noqa: E402
from netcds.sequencing.models import (  # noqa: E402
    Consideration,
    HistorySummary,
    LineOfTherapy,
    OptionHistory,
    OrderFactor,
    ProgressionPace,
    TierOrder,
)


class RegimenDose(_Out):
    """Starting dose of every agent of a regimen for this patient, with the rules applied."""

    regimen: str
    summary: str
    agents: list[DoseResult]


Option.model_rebuild()
PossibleSetting.model_rebuild()
Evaluation.model_rebuild()
