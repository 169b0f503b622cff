"""The store's cases: a patient record kept as numbered versions (``cases``, ``case_versions``).

Each version holds the record's canonical JSON and its sha256; a case's ``latest_version`` is bumped under
a row lock, so concurrent writers get distinct versions. Storing a case version together with its
evaluation in one transaction is :meth:`netcds.store.repo.Store.save_case_evaluation`.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager

from sqlalchemy import select
from sqlalchemy.orm import Session

from netcds.ids import new_id
from netcds.patient import Patient
from netcds.store.canonical import canonical_json, sha256_hex
from netcds.store.errors import NotFoundError
from netcds.store.models import CaseRow, CaseVersionRow
from netcds.store.records import CaseInfo, CaseVersionInfo
from netcds.store.trail import as_utc, now_utc


class Cases:
    """Mixed into :class:`netcds.store.repo.Store`, which provides the transactions."""

    def _tx(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    # cases -------------------------------------------------------------------------------------------
    def create_case(self, patient: Patient, actor: str) -> tuple[str, int, str]:
        """Store a new case with ``patient`` as version 1; returns (case id, version, patient hash)."""
        case_id = new_id()
        body = canonical_json(patient)
        digest = sha256_hex(body)
        now = now_utc()
        with self._write() as s:
            s.add(CaseRow(id=case_id, created_at=now, created_by=actor, latest_version=1))
            s.flush()
            s.add(
                CaseVersionRow(
                    case_id=case_id,
                    version=1,
                    patient_json=body,
                    patient_hash=digest,
                    created_at=now,
                    created_by=actor,
                )
            )
        return case_id, 1, digest

    def add_case_version(self, case_id: str, patient: Patient, actor: str) -> tuple[int, str]:
        """Store ``patient`` as the next version of a case; returns (version, patient hash)."""
        body = canonical_json(patient)
        digest = sha256_hex(body)
        with self._write() as s:
            case = s.get(CaseRow, case_id, with_for_update=True)
            if case is None:
                raise NotFoundError(case_id)
            case.latest_version += 1
            version = case.latest_version
            s.add(
                CaseVersionRow(
                    case_id=case_id,
                    version=version,
                    patient_json=body,
                    patient_hash=digest,
                    created_at=now_utc(),
                    created_by=actor,
                )
            )
        return version, digest

    def case_patient(self, case_id: str, version: int | None = None) -> Patient:
        with self._tx() as s:
            q = select(CaseVersionRow).where(CaseVersionRow.case_id == case_id)
            q = (
                q.where(CaseVersionRow.version == version)
                if version
                else q.order_by(CaseVersionRow.version.desc())
            )
            row = s.scalars(q.limit(1)).first()
            if row is None:
                raise NotFoundError(case_id)
            return Patient.model_validate_json(row.patient_json)

    def get_case(self, case_id: str) -> CaseInfo:
        with self._tx() as s:
            case = s.get(CaseRow, case_id)
            if case is None:
                raise NotFoundError(case_id)
            rows = s.scalars(
                select(CaseVersionRow)
                .where(CaseVersionRow.case_id == case_id)
                .order_by(CaseVersionRow.version)
            ).all()
            return CaseInfo(
                case_id=case.id,
                created_at=as_utc(case.created_at),
                created_by=case.created_by,
                latest_version=case.latest_version,
                versions=[
                    CaseVersionInfo(
                        version=r.version,
                        patient_hash=r.patient_hash,
                        created_at=as_utc(r.created_at),
                        created_by=r.created_by,
                    )
                    for r in rows
                ],
                patient=json.loads(rows[-1].patient_json),
            )
