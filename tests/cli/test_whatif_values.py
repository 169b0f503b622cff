"""``netcds evaluate --what-if``: values are written as the contract's JSON (G2, true, null), never as
Python reprs ('G2', True, None), in the report and in the error messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "patients" / "small_bowel_after_ssa.json")
PY_REPR = re.compile(r"'[^']*'|\bTrue\b|\bFalse\b|\bNone\b")
runner = CliRunner()


def what_if(*assignments: str):  # type: ignore[no-untyped-def]
    from netcds.cli import app

    args = ["evaluate", EXAMPLE]
    for a in assignments:
        args += ["--what-if", a]
    return runner.invoke(app, args)


def test_what_if_report_shows_json_values() -> None:
    res = what_if("tumor.grade=G3", "tumor.necrosis=true", "tumor.sstr_status=null")
    assert res.exit_code == 0, res.output
    head = " ".join(res.stdout.split("Setting:", 1)[0].split())  # the "What if" line, unwrapped
    assert "tumor.grade: G2 -> G3" in head
    assert "tumor.necrosis: null (unknown) -> true" in head
    assert "tumor.sstr_status: positive -> null (unknown)" in head
    assert not PY_REPR.search(res.stdout.split("What-if changes only", 1)[0]), res.stdout


@pytest.mark.parametrize(
    ("assignment", "field", "words"),
    [
        ("tumor.grade=G9", "tumor.grade", "G9 is not an allowed value; must be G1, G2 or G3"),
        ("tumor.ki67_percent=150", "tumor.ki67_percent", "(got 150)"),
        ("tumor.necrosis=yes", "tumor.necrosis", "(got yes)"),
        ('tumor.sstr_status="true"', "tumor.sstr_status", '"true" is not an allowed value'),
        (
            'treatments=[{"agent": "everolimus", "agent": "sunitinib"}]',
            "treatments[0].agent",
            "appears twice in the same JSON object",
        ),
        ("tumor.grade=" + "[" * 5000 + "]" * 5000, "tumor.grade", "[[[["),  # too deep for json: taken as text
    ],
)
def test_what_if_errors_show_json_values(assignment: str, field: str, words: str) -> None:
    res = what_if(assignment)
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}: "), res.stderr
    assert words in lines[0]
    assert not PY_REPR.search(lines[0].split(": ", 2)[2].replace('"true"', "")), lines[0]


@pytest.mark.parametrize(
    ("value", "shown"),
    [("G2", "G2"), (True, "true"), (False, "false"), (None, "null (unknown)"), (8.0, "8"), (8.5, "8.5"),
     ("true", '"true"'), ("8", '"8"'), ("", '""'), (["insulinoma"], '["insulinoma"]')],
)  # fmt: skip
def test_show_value_reads_back(value: object, shown: str) -> None:
    from netcds.sequencing.whatif import show_value

    assert show_value(value) == shown
