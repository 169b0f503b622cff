"""Version impact: which decision points get different options or verdicts under another knowledge version.

Both versions are compiled to SQL and run over the same validated cohort (DuckDB); a decision
point is listed when its setting, any option (entry, regimen, status, tier, category), its verdict, the
condition a ``listed_not_eligible`` choice fails (``failing_condition``), the exclusions that make it out
of scope (``scope_exclusions``) or the fields a ``needs_data`` verdict waits for (``missing_fields``)
differ, with each change of the setting, the options, the failing condition, the exclusions and the
fields waited for (added, removed) in words (the verdicts are in ``verdict_from`` / ``verdict_to``).

Rows that fail validation are rejects, as in an audit: counted, the first few kept for the terminal, and
every one written (``{row, file, line, field, message, errors, raw}`` per line) to ``rejects_file`` when
given; rows in = compared + rejects, or the diff fails loudly.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netcds.cohort.audit import LostRowsError, validate_to_files
from netcds.cohort.run_duckdb import DuckDBEngine
from netcds.knowledge.schema import Knowledge

_SETTING = ("setting_status", "setting_table", "setting_column")
# a decision point is listed when any of these differs between the two versions
_COMPARED = (*_SETTING, "options", "verdict", "failing_condition", "scope_exclusions", "missing_fields")


@dataclass
class Change:
    row_id: int
    patient_id: str | None
    setting_from: str
    setting_to: str
    verdict_from: str
    verdict_to: str
    changes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class VersionDiff:
    version_from: str
    version_to: str
    rows_in: int
    compared: int
    rejects: int
    changed: list[Change]
    first_rejects: list[dict[str, Any]] = field(default_factory=list)


def _setting(r: dict[str, Any]) -> str:
    where = "/".join(x for x in (r["setting_table"], r["setting_column"]) if x) or "-"
    return f"{r['setting_status']}:{where}"


def option_changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    """Each added, removed or changed option, in words (``gi.x: category 2A -> 2B``)."""
    a = {o["entry_id"]: o for o in before}
    b = {o["entry_id"]: o for o in after}
    out = []
    for eid in list(dict.fromkeys([*a, *b])):
        if eid not in b:
            out.append(f"{eid}: removed")
        elif eid not in a:
            out.append(f"{eid}: added ({b[eid]['status']}, {b[eid]['tier']}, category {b[eid]['category']})")
        else:
            for k in ("regimen", "status", "tier", "category"):
                if a[eid][k] != b[eid][k]:
                    out.append(f"{eid}: {k} {a[eid][k]} -> {b[eid][k]}")
    return out


def missing_changes(before: list[str] | None, after: list[str] | None) -> list[str]:
    """The fields a ``needs_data`` verdict waits for that ``after`` adds or drops, in words
    (``missing_fields added disease.resectable``, ``missing_fields removed disease.biology``); a verdict
    that is not ``needs_data`` waits for none (``None``)."""
    a, b = list(before or []), list(after or [])
    out = []
    if added := [f for f in b if f not in a]:
        out.append("missing_fields added " + ", ".join(added))
    if removed := [f for f in a if f not in b]:
        out.append("missing_fields removed " + ", ".join(removed))
    return out


def diff_versions(
    cohort: Path,
    kb_from: Knowledge,
    kb_to: Knowledge,
    fmt: str | None = None,
    rejects_file: Path | None = None,
    keep: int = 20,
) -> VersionDiff:
    """Run both versions over ``cohort``; every rejected row goes to ``rejects_file`` (NDJSON, as an
    audit's ``rejects.ndjson``) when given, and the first ``keep`` to ``VersionDiff.first_rejects``."""
    work = Path(tempfile.mkdtemp(prefix="netcds-diff-"))
    engine = DuckDBEngine()
    rejects = rejects_file if rejects_file is not None else work / "rejects.ndjson"
    try:
        first_rejects: list[dict[str, Any]] = []  # kept while written: the rejects file may be a pipe
        ok, bad = validate_to_files(
            cohort, work / "canonical.ndjson", rejects, fmt, first=first_rejects, keep=keep
        )
        engine.load_canonical(work / "canonical.ndjson")
        engine.audit(kb_from, into="before")
        engine.audit(kb_to, into="after")
        cols = ", ".join(f"a.{c} AS a_{c}, b.{c} AS b_{c}" for c in _COMPARED)
        differs = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in _COMPARED)
        rows = engine.query(
            f"SELECT a.row_id, a.patient_id, {cols} FROM before a JOIN after b USING (row_id)"  # noqa: S608
            f" WHERE {differs} ORDER BY a.row_id"
        )
        compared = engine.count("before")
    finally:
        engine.close()
        shutil.rmtree(work, ignore_errors=True)
    if compared != ok:
        raise LostRowsError(f"rows in {ok + bad} != {compared} compared + {bad} rejects")
    changed = []
    for r in rows:
        before = {k[2:]: v for k, v in r.items() if k.startswith("a_")}
        after = {k[2:]: v for k, v in r.items() if k.startswith("b_")}
        words = []
        if _setting(before) != _setting(after):
            words.append(f"setting {_setting(before)} -> {_setting(after)}")
        words += option_changes(before["options"], after["options"])
        for key in ("failing_condition", "scope_exclusions"):
            if before[key] != after[key]:
                words.append(f"{key} {before[key] or '-'} -> {after[key] or '-'}")
        words += missing_changes(before["missing_fields"], after["missing_fields"])
        changed.append(
            Change(
                int(r["row_id"]),
                r["patient_id"],
                _setting(before),
                _setting(after),
                before["verdict"],
                after["verdict"],
                words,
            )
        )
    return VersionDiff(kb_from.release, kb_to.release, ok + bad, compared, bad, changed, first_rejects)
