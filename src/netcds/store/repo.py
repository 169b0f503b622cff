"""The persistent store: one SQLAlchemy engine, migrated at open, with small typed operations.

The engine and the migrations are made in ``database.py`` (re-exported here); the CDS Hooks feedback,
the audit log and used token ids are in ``trail.py``, the cards the hook services issued in
``issued.py``, the case record versions in ``cases.py``; the errors are in ``errors.py`` (re-exported
here). This module holds the store itself and its evaluations. Every
operation is one short transaction; the appends every request makes (audit
entries, evaluations, used token ids) are group-committed (``batch.py``): many
callers, one transaction and one fsync, each caller returning only after it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Protocol, Required, TypedDict, Unpack, cast

from sqlalchemy import Engine, Table, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from netcds.evaluation import Evaluation, GuidelineRef
from netcds.ids import new_id
from netcds.patient import Patient
from netcds.store.batch import GroupCommit, WriterLock, queue_insert
from netcds.store.canonical import canonical_json, sha256_hex
from netcds.store.cases import Cases
from netcds.store.database import (
    MIGRATIONS,
    is_memory_url,
    make_engine,
    migrate,
    schema_revision,
    sqlite_file,
    writer_lock_path,
)
from netcds.store.errors import DuplicateError, NotFoundError
from netcds.store.issued import IssuedCards
from netcds.store.models import (
    AuditRow,
    CaseRow,
    CaseVersionRow,
    EvaluationOutputRow,
    EvaluationRow,
)
from netcds.store.outputs import compress_output, output_text
from netcds.store.records import EvaluationInfo, StoredEvaluation
from netcds.store.trail import Trail, as_utc, now_utc

__all__ = [
    "MIGRATIONS",
    "DuplicateError",
    "EvaluationFields",
    "KnownSet",
    "NotFoundError",
    "Stamped",
    "Store",
    "is_memory_url",
    "make_engine",
    "migrate",
    "schema_revision",
    "sqlite_file",
]
EVALUATIONS = cast(Table, EvaluationRow.__table__)


class Stamped(Protocol):
    """What a stored evaluation needs besides its output bytes: the versions that produced it (an
    Evaluation, or the service cache's entry for one)."""

    @property
    def guideline(self) -> GuidelineRef: ...

    @property
    def engine_version(self) -> str: ...


class EvaluationFields(TypedDict, total=False):
    """What is stored with an evaluation besides its input and output documents."""

    origin: Required[str]  # rest, case, cds-hooks, web ...
    actor: Required[str]
    request_id: str | None
    case_id: str | None
    case_version: int | None
    service_id: str | None
    hook_instance: str | None
    card_uuids: Sequence[str] | None
    evaluation_id: str | None
    output: str | bytes | None  # the evaluation's JSON when the caller has it already ...
    output_zstd: bytes | None  # ... or its stored form (outputs.compress_output) ...
    output_hash: str | None  # ... and its sha256 (required with output_zstd)
    input_json: str | None  # the patient's canonical JSON (canonical_json) when the caller has it already


def _packing(output: str | bytes) -> Callable[[], bytes]:
    """An output's stored form, made when it is written (on the writer thread, and only if new)."""
    return lambda: compress_output(output if isinstance(output, bytes) else output.encode())


def _given(packed: bytes) -> Callable[[], bytes]:
    """An output already in its stored form."""
    return lambda: packed


class KnownSet:
    """A bounded set of recent keys (oldest forgotten first)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str) -> None:
        with self._lock:
            self._keys[key] = None
            if len(self._keys) > self.size:
                self._keys.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._keys


class Store(Cases, Trail, IssuedCards):
    """Cases, evaluations, issued hook cards and their feedback, the audit log and used JWT ids."""

    def __init__(self, engine: Engine, *, writer_lock_file: bool = True) -> None:
        """``writer_lock_file`` False: no ``<database>.writer-lock`` file (a reader that writes nothing)."""
        self.engine = engine
        self._session = sessionmaker(engine, expire_on_commit=False)
        lock_path = writer_lock_path(engine) if writer_lock_file else None
        self._writer = WriterLock(lock_path) if engine.dialect.name == "sqlite" else None
        self._write_lock: AbstractContextManager[Any] = self._writer or nullcontext()
        self._batch = GroupCommit(self._session, self._write_lock)
        self._stored_outputs = KnownSet(10_000)
        self._issued = KnownSet(100_000)

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect to ``url`` and run the migrations."""
        engine = make_engine(url)
        migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self._batch.close()
        self.engine.dispose()
        if self._writer is not None:
            self._writer.close()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """A read transaction (or a write where the database arbitrates, e.g. PostgreSQL)."""
        with self._session.begin() as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A write transaction. SQLite has one writer: writers queue on :class:`WriterLock` instead of
        spinning in SQLite's busy handler (whose sleep back-off makes tail latency explode under load)."""
        with self._write_lock, self._session.begin() as session:
            yield session

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    # evaluations -------------------------------------------------------------------------------------
    def save_evaluation(
        self, patient: Patient, evaluation: Evaluation, **fields: Unpack[EvaluationFields]
    ) -> EvaluationInfo:
        """Persist one evaluation with the input it ran on and the versions that produced it, and wait
        for the commit (see :class:`EvaluationFields`)."""
        return _evaluation_info(
            EvaluationRow(**self.submit_evaluation(patient, evaluation, **fields).result())
        )

    def submit_evaluation(
        self, patient: Patient, evaluation: Evaluation | Stamped, **fields: Unpack[EvaluationFields]
    ) -> Future[dict[str, Any]]:
        """Queue :meth:`save_evaluation`'s write; the future resolves (with the row's values) once it
        has committed. Without an Evaluation object, ``output`` (its JSON), or ``output_zstd`` (its
        stored form) with ``output_hash``, must be given."""
        output, packed, output_hash, card_uuids = (
            fields.get("output"),
            fields.get("output_zstd"),
            fields.get("output_hash"),
            fields.get("card_uuids"),
        )
        body = fields.get("input_json") or canonical_json(patient)
        stored: Callable[[], bytes]
        if packed is not None:
            if not output_hash:  # the packed bytes are not unpacked here to hash them
                raise ValueError("submit_evaluation: 'output_zstd' needs its 'output_hash'")
            stored, out_hash = _given(packed), output_hash
        else:
            text_out: str | bytes
            if output is not None:
                text_out = output
            elif isinstance(evaluation, Evaluation):
                text_out = evaluation.model_dump_json()
            else:
                raise ValueError("submit_evaluation: 'output' is required without an Evaluation object")
            out_hash = (
                output_hash
                if output is not None and output_hash
                else hashlib.sha256(
                    text_out if isinstance(text_out, bytes) else text_out.encode()
                ).hexdigest()
            )
            stored = _packing(text_out)
        values: dict[str, Any] = {
            "id": fields.get("evaluation_id") or new_id(),
            "origin": fields["origin"],
            "case_id": fields.get("case_id"),
            "case_version": fields.get("case_version"),
            "input_json": body,
            "input_hash": sha256_hex(body),
            "guideline_id": evaluation.guideline.id,
            "guideline_version": evaluation.guideline.release_id,
            "knowledge_digest": evaluation.guideline.digest,
            "engine_version": evaluation.engine_version,
            "output_hash": out_hash,
            "service_id": fields.get("service_id"),
            "hook_instance": fields.get("hook_instance"),
            "card_uuids": json.dumps(list(card_uuids)) if card_uuids else None,
            "created_at": now_utc(),
            "created_by": fields["actor"],
            "request_id": fields.get("request_id"),
        }

        def append(s: Session) -> dict[str, Any]:
            self._put_output(s, out_hash, stored)
            queue_insert(s, EVALUATIONS, values)
            return values

        future = self._batch.submit(append)

        def remember(f: Future[dict[str, Any]]) -> None:
            if f.exception() is None:
                self._stored_outputs.add(out_hash)

        future.add_done_callback(remember)
        return future

    def _put_output(self, s: Session, digest: str, stored: Callable[[], bytes]) -> None:
        """Store an output document once per content hash: skipped when this process knows it is stored
        (outputs are never deleted), else an insert that does nothing when another process stored it.
        ``stored`` gives the document's stored form (called only when it is written)."""
        in_batch: set[str] = s.info.setdefault("netcds.outputs", set())
        if digest in self._stored_outputs or digest in in_batch:  # remembered after a commit only
            return
        in_batch.add(digest)
        ins = sqlite_insert if s.get_bind().dialect.name == "sqlite" else pg_insert
        s.execute(
            ins(EvaluationOutputRow)
            .values(
                hash=digest,
                output_zstd=stored(),
            )
            .on_conflict_do_nothing(index_elements=["hash"])
        )

    def save_case_evaluation(
        self,
        patient: Patient,
        evaluation: Evaluation,
        *,
        actor: str,
        case_id: str | None = None,
        new_case_id: str | None = None,
        evaluation_id: str | None = None,
        request_id: str | None = None,
    ) -> tuple[str, int, str, EvaluationInfo]:
        """Store a case record version, its evaluation and the audit entry in ONE transaction, so a crash
        leaves all of them or none. ``case_id`` None: a new case (id ``new_case_id`` or a fresh one) at
        version 1; else the next version of that case (NotFoundError when absent). Given ids that already
        exist raise DuplicateError (nothing is written). Returns (case id, version, patient hash, info)."""
        body = canonical_json(patient)
        digest = sha256_hex(body)
        output = evaluation.model_dump_json()
        out_hash = sha256_hex(output)
        now = now_utc()
        try:
            with self._write() as s:
                self._put_output(s, out_hash, _packing(output))
                if case_id is None:
                    cid, version = new_case_id or new_id(), 1
                    if s.get(CaseRow, cid) is not None:
                        raise DuplicateError(cid)
                    s.add(CaseRow(id=cid, created_at=now, created_by=actor, latest_version=1))
                    s.flush()
                else:
                    cid = case_id
                    case = s.get(CaseRow, case_id, with_for_update=True)
                    if case is None:
                        raise NotFoundError(case_id)
                    case.latest_version += 1
                    version = case.latest_version
                if evaluation_id is not None and s.get(EvaluationRow, evaluation_id) is not None:
                    raise DuplicateError(evaluation_id)
                s.add(
                    CaseVersionRow(
                        case_id=cid,
                        version=version,
                        patient_json=body,
                        patient_hash=digest,
                        created_at=now,
                        created_by=actor,
                    )
                )
                row = EvaluationRow(
                    id=evaluation_id or new_id(),
                    origin="case",
                    case_id=cid,
                    case_version=version,
                    input_json=body,
                    input_hash=digest,
                    guideline_id=evaluation.guideline.id,
                    guideline_version=evaluation.guideline.release_id,
                    knowledge_digest=evaluation.guideline.digest,
                    engine_version=evaluation.engine_version,
                    output_hash=out_hash,
                    created_at=now,
                    created_by=actor,
                    request_id=request_id,
                )
                s.add(row)
                s.add(
                    AuditRow(
                        at=now,
                        actor=actor,
                        action="case.create" if case_id is None else "case.version",
                        target=cid,
                        request_id=request_id,
                        detail=json.dumps(
                            {"version": version, "patient_hash": digest, "evaluation_id": row.id},
                            sort_keys=True,
                        ),
                    )
                )
        except IntegrityError:  # a concurrent twin committed first
            raise DuplicateError(evaluation_id or new_case_id or "") from None
        self._stored_outputs.add(out_hash)
        return cid, version, digest, _evaluation_info(row)

    def find_evaluation(self, evaluation_id: str) -> tuple[EvaluationInfo, str] | None:
        """A stored evaluation's record and its output JSON text as stored, or None."""
        with self._tx() as s:
            row = s.get(EvaluationRow, evaluation_id)
            return None if row is None else (_evaluation_info(row), _output(s, row))

    def get_evaluation(self, evaluation_id: str) -> StoredEvaluation:
        with self._tx() as s:
            row = s.get(EvaluationRow, evaluation_id)
            if row is None:
                raise NotFoundError(evaluation_id)
            info = _evaluation_info(row)
            return StoredEvaluation(
                **info.model_dump(), input=json.loads(row.input_json), output=json.loads(_output(s, row))
            )

    def case_evaluations(self, case_id: str) -> list[EvaluationInfo]:
        with self._tx() as s:
            if s.get(CaseRow, case_id) is None:
                raise NotFoundError(case_id)
            rows = s.scalars(
                select(EvaluationRow)
                .where(EvaluationRow.case_id == case_id)
                # by version first: versions written at once may take their clock readings out of order
                .order_by(EvaluationRow.case_version, EvaluationRow.created_at, EvaluationRow.id)
            ).all()
            return [_evaluation_info(r) for r in rows]

    def count_evaluations(self) -> int:
        with self._tx() as s:
            return int(s.scalar(select(func.count()).select_from(EvaluationRow)) or 0)


def _output(s: Session, row: EvaluationRow) -> str:
    found = s.get(EvaluationOutputRow, row.output_hash)
    if found is None:  # the foreign key forbids it
        raise NotFoundError(f"output {row.output_hash} of evaluation {row.id}")
    return output_text(found.output_json, found.output_zstd)


def _evaluation_info(row: EvaluationRow) -> EvaluationInfo:
    return EvaluationInfo(
        evaluation_id=row.id,
        origin=row.origin,
        case_id=row.case_id,
        case_version=row.case_version,
        input_hash=row.input_hash,
        guideline_id=row.guideline_id,
        guideline_version=row.guideline_version,
        knowledge_digest=row.knowledge_digest,
        engine_version=row.engine_version,
        output_hash=row.output_hash,
        service_id=row.service_id,
        hook_instance=row.hook_instance,
        card_uuids=json.loads(row.card_uuids) if row.card_uuids else [],
        created_at=as_utc(row.created_at),
        created_by=row.created_by,
    )
