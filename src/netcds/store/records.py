"""What the store hands back: plain, typed records (also the API's response shapes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CaseVersionInfo(_Record):
    version: int
    patient_hash: str = Field(description="sha256 of the canonical patient JSON")
    created_at: datetime
    created_by: str


class CaseInfo(_Record):
    case_id: str
    created_at: datetime
    created_by: str
    latest_version: int
    versions: list[CaseVersionInfo]
    patient: dict[str, Any] = Field(description="the latest version of the patient record (contract Patient)")


class EvaluationInfo(_Record):
    evaluation_id: str
    origin: Literal["case", "cds-hooks", "rest"]
    case_id: str | None = None
    case_version: int | None = None
    input_hash: str = Field(description="sha256 of the canonical patient JSON the evaluation ran on")
    guideline_id: str
    guideline_version: str
    knowledge_digest: str | None = None
    engine_version: str
    output_hash: str = Field(
        description="sha256 of the evaluation JSON as returned (the engine's output is "
        "deterministic, so an identical replay has the same hash)"
    )
    service_id: str | None = None
    hook_instance: str | None = None
    card_uuids: list[str] = Field(default_factory=list)
    created_at: datetime
    created_by: str


class StoredEvaluation(EvaluationInfo):
    input: dict[str, Any] = Field(description="the patient record the evaluation ran on (contract Patient)")
    output: dict[str, Any] = Field(description="the Evaluation as returned then")


class FeedbackInfo(_Record):
    id: int
    service_id: str
    card_uuid: str
    outcome: Literal["accepted", "overridden"]
    accepted_suggestions: list[str] = Field(default_factory=list)
    override_system: str | None = None
    override_code: str | None = None
    override_display: str | None = None
    user_comment: str | None = None
    outcome_timestamp: str
    received_at: datetime
    actor: str


class AuditInfo(_Record):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None = None
    request_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
