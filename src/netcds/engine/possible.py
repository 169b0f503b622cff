"""The settings a record leaves open, each with the entries its table column lists.

When the record cannot decide between several settings (e.g. a well-differentiated G3 tumor whose
biology is not recorded: the favorable and the unfavorable column both remain), the Evaluation's
``options`` stay empty, since no one setting applies, but the clinician still sees what each possible
setting lists and what the record lacks to decide: every entry resolved as far as the record allows.
Its status is never ``eligible`` (the setting itself is unconfirmed); ``not_eligible`` where the
entry's own condition already fails; else ``needs_data`` naming the setting's missing fields first.
Only the guideline layer is resolved here (no safety screen, dose or sequencing: those follow once the
setting is known).
"""

from __future__ import annotations

from netcds.engine.options import build_options
from netcds.engine.setting import Candidate, SettingResult, table_source
from netcds.evaluation import PossibleSetting
from netcds.facts import Facts
from netcds.knowledge.schema import Knowledge

OPEN = "Unknown: one of several settings the record leaves open (see this possible setting's missing)"


def beyond_setting(missing: list[str], setting_missing: list[str]) -> list[str]:
    """The fields an option of a possible setting waits on besides those that decide the setting."""
    return [m for m in missing if m not in setting_missing]


def _reasons(c: Candidate) -> list[str]:
    out: list[str] = []
    for o in (c.table_outcome, c.column_outcome):
        out += [f"Unknown: {f.text}" for f in o.unknowns]
    for o in (c.table_outcome, c.column_outcome):
        out += [f"Met: {f.text}" for f in o.positives]
    return list(dict.fromkeys(out))


def possible_settings(kb: Knowledge, setting: SettingResult, facts: Facts) -> list[PossibleSetting]:
    """One entry per setting still possible, in the knowledge's table and column order; empty unless
    several remain (one possible setting is the Evaluation's own, with its options)."""
    out: list[PossibleSetting] = []
    for c in setting.candidates:
        missing = c.missing
        out.append(
            PossibleSetting(
                table=c.table.id,
                column=c.column.id,
                title=c.table.title,
                row=c.column.label,
                missing=missing,
                reasons=_reasons(c),
                source=table_source(kb, c.table, c.column),
                options=build_options(kb, c.table, c.column, facts, missing, OPEN),
            )
        )
    return out
