"""Response shapes of the REST API (besides the contract's Evaluation and the store's records)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from netcds.evaluation import Evaluation


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvalCacheKind(_Out):
    """One kind's LRU in the answering worker process (its share of ``max_mb``)."""

    entries: int
    kept_bytes: int = Field(description="the entries' weight: packed bytes, or estimated object bytes")
    budget_bytes: int
    hits: int = Field(description="found in this process")
    shared_hits: int = Field(description="found in the level the workers share (serve --workers N)")
    misses: int


class EvalCacheInfo(_Out):
    max_mb: int = Field(description="size bound in MiB (0: the cache is off)")
    entries: int
    hits: int
    misses: int
    kinds: dict[str, EvalCacheKind] = Field(
        default_factory=dict,
        description="per kind (evaluation, mapping, cards, screen, ordercards), for sizing the cache",
    )


class Health(_Out):
    status: Literal["ok", "degraded"]
    version: str = Field(description="engine version")
    database: Literal["ok", "unreachable"]
    schema_revision: str | None = None
    guidelines: list[str] = Field(description="available guideline versions as id/version")
    safety: bool = Field(description="the safety layer is installed")
    hooks_open: bool = Field(description="CDS Hooks accept calls without a token (local open mode)")
    eval_cache: EvalCacheInfo | None = Field(
        default=None, description="the in-process cache of stateless evaluations (since start)"
    )


class GuidelineSummary(_Out):
    id: str
    version: str = Field(description="the guideline version the data encodes, e.g. 5.2024")
    release: str = Field(description="the knowledge release: selects exactly this data, e.g. 5.2024-r13")
    replaces: str | None = Field(default=None, description="the release this one supersedes")
    default: bool = Field(default=False, description="whether this service evaluates with it by default")
    title: str
    version_date: str
    digest: str = Field(description="content digest of the knowledge files")
    url: str = Field(description="where this version's tables are served as data")


class CaseResult(_Out):
    case_id: str
    version: int
    patient_hash: str = Field(description="sha256 of the canonical patient JSON")
    evaluation_id: str
    evaluation: Evaluation


class FhirEvaluation(_Out):
    patient: dict[str, Any] = Field(description="the contract Patient mapped from the Bundle")
    mapping: dict[str, Any] = Field(
        description=(
            "the mapping report: what was mapped (`mapped`), skipped or unknown (`unmapped`), and the rows "
            "of `patient.treatments` read as ongoing only because their ended records state no end date "
            "(`treatments_ended_without_end_date`), the current medication records whose drug could not be "
            "identified (`medications_not_identified`) and, when present, why the primary is managed under "
            "another guideline than the NET one (`other_guideline`)"
        )
    )
    evaluation: Evaluation


class AgentList(_Out):
    agents: list[str]
