"""Regenerate the golden expectations from the engine: `python -m tests.golden.regen`.

Only after a deliberate, reviewed change: the diff of tests/golden/expected/ is the clinical review.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from netcds import Patient, evaluate, load_knowledge
from netcds.engine.possible import beyond_setting

HERE = Path(__file__).parent


def summarize(case: dict[str, Any]) -> dict[str, Any]:
    ev = evaluate(Patient.model_validate(case["patient"]), load_knowledge())
    return {
        "setting": {"table": ev.setting.table, "column": ev.setting.column, "status": ev.setting.status},
        "options": {
            o.entry_id: f"{o.tier} | cat {o.category} | {o.status}"
            + (f" | missing {','.join(o.missing)}" if o.missing else "")
            for o in ev.options
        },
        "qualifiers": {
            o.entry_id: [f"{q.footnote or '-'}: {_met(q.met)}" for q in o.qualifiers]
            for o in ev.options
            if o.qualifiers
        },
        "footnotes": {o.entry_id: o.footnotes for o in ev.options if o.footnotes},
        "ssa_plan": ev.ssa_plan.action,
        **(
            {
                "possible_settings": {
                    f"{p.table}/{p.column or '-'} (decided by {','.join(p.missing)})": {
                        o.entry_id: " | also ".join([o.status, *_extra(beyond_setting(o.missing, p.missing))])
                        for o in p.options
                    }
                    for p in ev.possible_settings
                }
            }
            if ev.possible_settings
            else {}
        ),
        "needs_data": ev.needs_data,
        "notes": [n.id for n in ev.notes],
        "unavailable_references": [r.ref for r in ev.unavailable_references],
    }


def _extra(fields: list[str]) -> list[str]:
    return [",".join(fields)] if fields else []


def _met(met: bool | None) -> str:
    return {True: "met", False: "not met", None: "unknown"}[met]


def main() -> None:
    out = HERE / "expected"
    out.mkdir(exist_ok=True)
    for f in sorted((HERE / "cases").glob("*.json")):
        data = summarize(json.loads(f.read_text()))
        (out / f.name).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
