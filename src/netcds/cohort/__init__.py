"""Cohort concordance audits: the knowledge compiled to SQL (DuckDB, Spark), checked against the engine.

Public entry points::

    from netcds.cohort import audit_sql, reference_result, run_audit, synth_records
"""

from netcds.cohort.audit import run_audit
from netcds.cohort.query import audit_sql
from netcds.cohort.synth import synth_records
from netcds.cohort.verdict import reference_result

__all__ = ["audit_sql", "reference_result", "run_audit", "synth_records"]
