"""Re-run a stored evaluation with its pinned guideline version and report what changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from netcds import __version__
from netcds.engine import evaluate
from netcds.errors import NetcdsError
from netcds.io import all_errors, first_problem
from netcds.knowledge.load import load_knowledge
from netcds.patient import Patient
from netcds.store.canonical import sha256_hex
from netcds.store.repo import Store

MAX_DIFFERENCES = 200


class StoredInputError(NetcdsError):
    """A stored evaluation's input no longer passes today's Patient contract (the contract was tightened
    since it was stored, e.g. a contradiction now refused): it cannot be re-run. ``field`` and
    ``message`` name the first problem, ``problems`` lists every one as (field, message) pairs, and
    ``summary`` is the first with the count of the others ("field: message (+2 more)"). The stored
    evaluation itself stays readable; nothing about the request that asked for the replay is wrong."""

    def __init__(self, evaluation_id: str, problems: list[tuple[str, str]]) -> None:
        self.evaluation_id = evaluation_id
        self.problems = problems
        self.field, self.message = problems[0]
        self.summary = first_problem(problems)
        super().__init__(
            f"evaluation {evaluation_id}: its stored input no longer passes today's Patient contract: "
            f"{self.summary}"
        )


class Difference(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="JSON path inside the Evaluation, e.g. options[3].status")
    stored: Any = None
    replayed: Any = None
    change: str = Field(description="changed | added | removed")


class ReplayResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    evaluation_id: str
    guideline_id: str
    guideline_version: str
    stored_engine_version: str
    replay_engine_version: str
    stored_knowledge_digest: str | None
    replay_knowledge_digest: str | None
    stored_output_hash: str
    replay_output_hash: str
    identical: bool
    differences: list[Difference]
    truncated: bool = False


def _join(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)


def diff_json(a: Any, b: Any, path: str = "", out: list[Difference] | None = None) -> list[Difference]:
    """Structural differences between two JSON values (paths as in the contract: a.b[0].c)."""
    out = [] if out is None else out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            p = _join(path, k)
            if k not in b:
                out.append(Difference(path=p, stored=a[k], change="removed"))
            elif k not in a:
                out.append(Difference(path=p, replayed=b[k], change="added"))
            else:
                diff_json(a[k], b[k], p, out)
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            p = _join(path, i)
            if i >= len(b):
                out.append(Difference(path=p, stored=a[i], change="removed"))
            elif i >= len(a):
                out.append(Difference(path=p, replayed=b[i], change="added"))
            else:
                diff_json(a[i], b[i], p, out)
    elif a != b or type(a) is not type(b):
        out.append(Difference(path=path or "<root>", stored=a, replayed=b, change="changed"))
    return out


def replay(store: Store, evaluation_id: str, knowledge_root: Path | None = None) -> ReplayResult:
    """Re-evaluate the stored input with its stored guideline id+version.

    Raises NotFoundError (no such evaluation), StoredInputError (the stored input is refused by today's
    Patient contract) or KnowledgeError (that version cannot be loaded)."""
    stored = store.get_evaluation(evaluation_id)
    try:
        patient = Patient.model_validate(stored.input)
    except ValidationError as exc:  # every field, named as the CLI and the API name a record's fields
        raise StoredInputError(evaluation_id, all_errors(exc)) from None
    kb = load_knowledge(stored.guideline_version, stored.guideline_id, root=knowledge_root)
    text = evaluate(patient, kb).model_dump_json()
    fresh = json.loads(text)
    diffs = diff_json(stored.output, fresh)
    return ReplayResult(
        evaluation_id=evaluation_id,
        guideline_id=stored.guideline_id,
        guideline_version=stored.guideline_version,
        stored_engine_version=stored.engine_version,
        replay_engine_version=__version__,
        stored_knowledge_digest=stored.knowledge_digest,
        replay_knowledge_digest=kb.digest,
        stored_output_hash=stored.output_hash,
        replay_output_hash=sha256_hex(text),
        identical=not diffs,
        differences=diffs[:MAX_DIFFERENCES],
        truncated=len(diffs) > MAX_DIFFERENCES,
    )
