"""Cases and stored evaluations as the web pages need them, over the service's store.

``StoreCases`` wraps :class:`netcds.store.Store` (the service's database) and uses
only its public operations, except for listing cases, which the store does not
offer yet: until ``Store.list_cases`` exists it is a read-only query on the
store's own tables. ``MemoryCases`` is the fallback when the web app is mounted
on an app without a store (kept in memory, lost at restart; the pages say so).

Both store a new version only under the REST API's rules: the case must exist, and the record must carry
the case's patient id (``PatientMismatchError`` otherwise). With the form's one-time token the stored ids
derive from token, case and record (``form_ids``), so a repeated submission returns its earlier save, as the
REST API's ``Idempotency-Key`` does. A version saves only while the one its form started from
(``base_version``) is the newest (``NewerVersionError``); the service store checks just before the write,
not in its transaction (``MemoryCases`` under one lock).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from netcds.evaluation import Evaluation
from netcds.ids import new_id
from netcds.patient import Patient
from netcds.store.case_rules import check_patient

ACTOR = "web"
SIGNED_LINK_ACTOR = "web-signed-link"  # a stored evaluation opened by a card's signed link


class CaseNotFoundError(LookupError):
    """No case or evaluation with that id."""


class CaseConflictError(RuntimeError):
    """A concurrent save changed the same case first; nothing was stored."""


@dataclass(frozen=True)
class CaseVersion:
    version: int
    created_at: datetime
    created_by: str
    patient_hash: str


class NewerVersionError(RuntimeError):
    """The case's newest version is not the one the form started from (``base``); nothing was stored."""

    def __init__(self, case_id: str, base: int, newest: CaseVersion) -> None:
        self.case_id, self.base, self.newest = case_id, base, newest
        super().__init__(f"case {case_id}: version {newest.version} is newest, not {base}")


def check_base(case_id: str, base: int | None, versions: list[CaseVersion]) -> None:
    """A form that started from version ``base`` saves only while that is still the newest version."""
    if base is not None and versions and versions[-1].version != base:
        raise NewerVersionError(case_id, base, versions[-1])


_FORM_NS = uuid.UUID("0f5c7a52-3a8e-4d61-b0a4-7765622d666f")


def form_ids(token: str, case_id: str | None, patient: Patient) -> tuple[str, str]:
    """(id of a new case, evaluation id) for one submission of a form: its token, the case it saves to and
    the record; a repeat of the same submission derives the same ids, another record or case others."""
    from netcds.store.canonical import content_hash

    key = f"{token}|{case_id or 'new'}|{content_hash(patient)}"
    return str(uuid.uuid5(_FORM_NS, "case|" + key)), str(uuid.uuid5(_FORM_NS, "evaluation|" + key))


@dataclass(frozen=True)
class CaseSummary:
    case_id: str
    patient_id: str | None
    created_at: datetime
    latest_version: int
    primary_site: str | None = None


@dataclass(frozen=True)
class EvaluationSummary:
    evaluation_id: str
    case_id: str | None
    case_version: int | None
    guideline_id: str
    guideline_version: str
    engine_version: str
    created_at: datetime
    origin: str


@dataclass(frozen=True)
class CaseDetail:
    case_id: str
    created_at: datetime
    latest_version: int
    versions: list[CaseVersion]
    patient: dict[str, Any]
    evaluations: list[EvaluationSummary]


@dataclass(frozen=True)
class StoredEvaluationView:
    summary: EvaluationSummary
    input: dict[str, Any]
    output: dict[str, Any]


class CaseRepository(Protocol):
    persistent: bool

    def list_cases(self, query: str | None = None, limit: int = 200) -> list[CaseSummary]: ...
    def create_case(
        self,
        patient: Patient,
        evaluation: Evaluation,
        request_id: str | None = None,
        *,
        token: str | None = None,
    ) -> tuple[str, int, str]: ...
    def add_version(
        self,
        case_id: str,
        patient: Patient,
        evaluation: Evaluation,
        request_id: str | None = None,
        *,
        token: str | None = None,
        base_version: int | None = None,
    ) -> tuple[int, str]: ...
    def get_case(self, case_id: str) -> CaseDetail: ...
    def get_evaluation(self, evaluation_id: str) -> StoredEvaluationView: ...
    def audit(self, action: str, target: str | None, request_id: str | None, actor: str = ACTOR) -> None: ...


# The REST API reads a case or evaluation id as a ``uuid.UUID`` path parameter (pydantic); the pages read
# it the same way, so they take exactly the spellings the API takes (upper case, no hyphens, braces,
# ``urn:uuid:``) and no others (Python's own ``uuid.UUID`` is laxer: hyphens anywhere, an unclosed brace).
_UUID: TypeAdapter[uuid.UUID] = TypeAdapter(uuid.UUID)


def canonical_id(text: str) -> str | None:
    """The id in its stored form (lower case, hyphenated), or None when the API would refuse it too."""
    try:
        return str(_UUID.validate_python(text))
    except ValidationError:
        return None


def valid_id(text: str) -> bool:
    return canonical_id(text) is not None


def _matches(query: str | None, case_id: str, patient_id: str | None) -> bool:
    if not query:
        return True
    q = query.strip().lower()
    return case_id.lower().startswith(q) or (patient_id is not None and q in patient_id.lower())


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class StoreCases:
    """The service store (SQLite or PostgreSQL): cases survive restarts and are audited."""

    persistent = True

    def __init__(self, store: Any) -> None:
        self.store = store

    def list_cases(self, query: str | None = None, limit: int = 200) -> list[CaseSummary]:
        lister = getattr(self.store, "list_cases", None)
        if callable(lister):  # the store's own listing, once it offers one
            rows = lister()
            out = []
            for r in rows:
                data = r.model_dump() if hasattr(r, "model_dump") else dict(r)
                patient = data.get("patient") or {}
                pid = patient.get("id") if isinstance(patient, dict) else data.get("patient_id")
                if _matches(query, str(data["case_id"]), pid):
                    out.append(
                        CaseSummary(
                            case_id=str(data["case_id"]),
                            patient_id=pid,
                            created_at=_utc(data["created_at"]),
                            latest_version=int(data["latest_version"]),
                            primary_site=((patient or {}).get("tumor") or {}).get("primary_site"),
                        )
                    )
            return out[:limit]
        return self._query_cases(query, limit)

    def _query_cases(self, query: str | None, limit: int) -> list[CaseSummary]:
        from sqlalchemy import and_, select
        from sqlalchemy.orm import Session

        from netcds.store.models import CaseRow, CaseVersionRow

        stmt = (
            select(CaseRow, CaseVersionRow.patient_json)
            .join(
                CaseVersionRow,
                and_(CaseVersionRow.case_id == CaseRow.id, CaseVersionRow.version == CaseRow.latest_version),
            )
            .order_by(CaseRow.created_at.desc(), CaseRow.id)
            .limit(5000)
        )
        out: list[CaseSummary] = []
        with Session(self.store.engine) as s:
            for case, body in s.execute(stmt).all():
                patient = json.loads(body)
                pid = patient.get("id")
                if not _matches(query, case.id, pid):
                    continue
                out.append(
                    CaseSummary(
                        case_id=case.id,
                        patient_id=pid,
                        created_at=_utc(case.created_at),
                        latest_version=case.latest_version,
                        primary_site=(patient.get("tumor") or {}).get("primary_site"),
                    )
                )
                if len(out) >= limit:
                    break
        return out

    def _earlier(self, case_id: str, evaluation_id: str | None) -> tuple[str, int, str] | None:
        """The earlier save of the same form submission (case id, version, evaluation id), if stored."""
        found = self.store.find_evaluation(evaluation_id) if evaluation_id else None
        if found is None or found[0].case_id != case_id or found[0].case_version is None:
            return None
        return case_id, found[0].case_version, str(evaluation_id)

    def create_case(
        self,
        patient: Patient,
        evaluation: Evaluation,
        request_id: str | None = None,
        *,
        token: str | None = None,
    ) -> tuple[str, int, str]:
        """A new case: its record, evaluation and audit entry in one transaction (or the earlier save of
        the same form submission)."""
        from netcds.store.errors import DuplicateError

        new_case_id, eid = form_ids(token, None, patient) if token else (None, None)
        if new_case_id and (earlier := self._earlier(new_case_id, eid)):
            return earlier
        try:
            case_id, version, _digest, info = self.store.save_case_evaluation(
                patient,
                evaluation,
                actor=ACTOR,
                new_case_id=new_case_id,
                evaluation_id=eid,
                request_id=request_id,
            )
        except DuplicateError:  # the same submission, sent twice at once, committed first
            if new_case_id and (earlier := self._earlier(new_case_id, eid)):
                return earlier
            raise CaseConflictError(new_case_id or "") from None
        return case_id, version, str(info.evaluation_id)

    def add_version(
        self,
        case_id: str,
        patient: Patient,
        evaluation: Evaluation,
        request_id: str | None = None,
        *,
        token: str | None = None,
        base_version: int | None = None,
    ) -> tuple[int, str]:
        """The next version of a case with its evaluation and audit entry, in one transaction (or the
        earlier save of the same form submission)."""
        from netcds.store.errors import DuplicateError, NotFoundError

        eid = form_ids(token, case_id, patient)[1] if token else None
        if earlier := self._earlier(case_id, eid):
            return earlier[1], earlier[2]
        try:
            info = self.store.get_case(case_id)
        except NotFoundError:
            raise CaseNotFoundError(case_id) from None
        versions = [
            CaseVersion(v.version, _utc(v.created_at), v.created_by, v.patient_hash) for v in info.versions
        ]
        check_base(case_id, base_version, versions)
        check_patient(case_id, info.patient.get("id"), patient)
        try:
            _cid, version, _digest, saved = self.store.save_case_evaluation(
                patient, evaluation, actor=ACTOR, case_id=case_id, evaluation_id=eid, request_id=request_id
            )
        except NotFoundError:
            raise CaseNotFoundError(case_id) from None
        except DuplicateError:  # a concurrent write to the same case committed first
            if earlier := self._earlier(case_id, eid):  # the same submission, sent twice at once
                return earlier[1], earlier[2]
            raise CaseConflictError(case_id) from None
        return version, str(saved.evaluation_id)

    def get_case(self, case_id: str) -> CaseDetail:
        from netcds.store.errors import NotFoundError

        try:
            info = self.store.get_case(case_id)
            evals = self.store.case_evaluations(case_id)
        except NotFoundError:
            raise CaseNotFoundError(case_id) from None
        return CaseDetail(
            case_id=info.case_id,
            created_at=_utc(info.created_at),
            latest_version=info.latest_version,
            versions=[
                CaseVersion(v.version, _utc(v.created_at), v.created_by, v.patient_hash)
                for v in info.versions
            ],
            patient=dict(info.patient),
            evaluations=[_summary(e) for e in evals],
        )

    def get_evaluation(self, evaluation_id: str) -> StoredEvaluationView:
        from netcds.store.errors import NotFoundError

        try:
            found = self.store.get_evaluation(evaluation_id)
        except NotFoundError:
            raise CaseNotFoundError(evaluation_id) from None
        return StoredEvaluationView(_summary(found), dict(found.input), dict(found.output))

    def audit(self, action: str, target: str | None, request_id: str | None, actor: str = ACTOR) -> None:
        self.store.audit(actor, action, target, request_id)


def _summary(e: Any) -> EvaluationSummary:
    return EvaluationSummary(
        evaluation_id=str(e.evaluation_id),
        case_id=e.case_id,
        case_version=e.case_version,
        guideline_id=e.guideline_id,
        guideline_version=e.guideline_version,
        engine_version=e.engine_version,
        created_at=_utc(e.created_at),
        origin=e.origin,
    )


@dataclass
class _MemCase:
    case_id: str
    created_at: datetime
    versions: list[tuple[CaseVersion, dict[str, Any]]] = field(default_factory=list)


class MemoryCases:
    """In-process fallback: the same operations, nothing persisted."""

    persistent = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cases: dict[str, _MemCase] = {}
        self._evals: dict[str, StoredEvaluationView] = {}

    def list_cases(self, query: str | None = None, limit: int = 200) -> list[CaseSummary]:
        with self._lock:
            cases = sorted(self._cases.values(), key=lambda c: (c.created_at, c.case_id), reverse=True)
            out = []
            for c in cases:
                patient = c.versions[-1][1]
                if _matches(query, c.case_id, patient.get("id")):
                    out.append(
                        CaseSummary(
                            c.case_id,
                            patient.get("id"),
                            c.created_at,
                            len(c.versions),
                            (patient.get("tumor") or {}).get("primary_site"),
                        )
                    )
            return out[:limit]

    def _add(
        self, case: _MemCase, patient: Patient, ev: Evaluation, eid: str | None = None
    ) -> tuple[int, str]:
        from netcds.store.canonical import content_hash

        version = len(case.versions) + 1
        now = datetime.now(UTC)
        body = patient.model_dump(mode="json", exclude_none=True)
        case.versions.append((CaseVersion(version, now, ACTOR, content_hash(patient)), body))
        eid = eid or new_id()
        self._evals[eid] = StoredEvaluationView(
            EvaluationSummary(
                eid,
                case.case_id,
                version,
                ev.guideline.id,
                ev.guideline.release_id,
                ev.engine_version,
                now,
                "case",
            ),
            body,
            json.loads(ev.model_dump_json()),
        )
        return version, eid

    def _earlier(self, case_id: str, evaluation_id: str | None) -> tuple[str, int, str] | None:
        found = self._evals.get(evaluation_id) if evaluation_id else None
        if found is None or found.summary.case_id != case_id or found.summary.case_version is None:
            return None
        return case_id, found.summary.case_version, str(evaluation_id)

    def create_case(
        self,
        patient: Patient,
        evaluation: Evaluation,
        request_id: str | None = None,
        *,
        token: str | None = None,
    ) -> tuple[str, int, str]:
        _ = request_id  # nothing persisted, nothing to audit
        new_case_id, eid = form_ids(token, None, patient) if token else (new_id(), None)
        with self._lock:
            if earlier := self._earlier(new_case_id, eid):
                return earlier
            if new_case_id in self._cases:
                raise CaseConflictError(new_case_id)
            case = _MemCase(new_case_id, datetime.now(UTC))
            self._cases[case.case_id] = case
            version, eid = self._add(case, patient, evaluation, eid)
            return case.case_id, version, eid

    def add_version(
        self,
        case_id: str,
        patient: Patient,
        evaluation: Evaluation,
        request_id: str | None = None,
        *,
        token: str | None = None,
        base_version: int | None = None,
    ) -> tuple[int, str]:
        _ = request_id  # nothing persisted, nothing to audit
        eid = form_ids(token, case_id, patient)[1] if token else None
        with self._lock:  # the check and the write under one lock: no save slips in between
            if earlier := self._earlier(case_id, eid):
                return earlier[1], earlier[2]
            case = self._cases.get(case_id)
            if case is None:
                raise CaseNotFoundError(case_id)
            check_base(case_id, base_version, [v for v, _ in case.versions])
            check_patient(case_id, case.versions[-1][1].get("id"), patient)
            return self._add(case, patient, evaluation, eid)

    def get_case(self, case_id: str) -> CaseDetail:
        with self._lock:
            case = self._cases.get(case_id)
            if case is None:
                raise CaseNotFoundError(case_id)
            evals = sorted(
                (e.summary for e in self._evals.values() if e.summary.case_id == case_id),
                key=lambda s: (s.created_at, s.evaluation_id),
            )
            return CaseDetail(
                case.case_id,
                case.created_at,
                len(case.versions),
                [v for v, _ in case.versions],
                case.versions[-1][1],
                evals,
            )

    def get_evaluation(self, evaluation_id: str) -> StoredEvaluationView:
        with self._lock:
            found = self._evals.get(evaluation_id)
            if found is None:
                raise CaseNotFoundError(evaluation_id)
            return found

    def audit(self, action: str, target: str | None, request_id: str | None, actor: str = ACTOR) -> None:
        _ = (action, target, request_id, actor)  # nothing persisted, nothing to audit
