"""An invalid patient file lists every problem, each with its field: the first line stays the one line
naming the first field (exit 2), and each further problem follows on its own indented line, escaped and
capped, so a user fixes the file in one pass instead of one error per run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcds.cli import app
from netcds.io import SHOWN_OTHERS

runner = CliRunner()
THREE_PROBLEMS = {
    "age": 60,  # not in the contract (age_years is)
    "tumor": {"primary_site": "lung", "ki67_percent": 150},
    "disease": {"tumor_burden": "significant"},
}


def _write(tmp_path: Path, record: object) -> str:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("command", [["evaluate"], ["check", "--agent", "everolimus"]])
def test_every_problem_is_listed_with_its_field(tmp_path: Path, command: list[str]) -> None:
    res = runner.invoke(app, [command[0], _write(tmp_path, THREE_PROBLEMS), *command[1:]])
    assert res.exit_code == 2 and res.stdout == ""
    lines = res.stderr.splitlines()
    assert lines[0] == "error: tumor.ki67_percent: must be less than or equal to 100 (got 150) (+2 more)"
    assert (
        sorted(lines[1:])
        == [
            '  also disease.tumor_burden: "significant" is not an allowed value; '
            "must be 'mild', 'clinically_significant' or 'bulky'",
            "  also age: unknown field (not in the contract)",
        ][::-1]
    )


def test_one_problem_is_still_one_line(tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["evaluate", _write(tmp_path, {"tumor": {"primary_site": "lung", "ki67_percent": -1}})]
    )
    assert res.exit_code == 2
    assert res.stderr == "error: tumor.ki67_percent: must be greater than or equal to 0 (got -1)\n"


def test_many_problems_are_capped_and_counted(tmp_path: Path) -> None:
    record: dict[str, object] = {"tumor": {"primary_site": "lung"}}
    record |= {f"unknown_{i:02d}": i for i in range(SHOWN_OTHERS + 6)}  # 26 unknown fields
    res = runner.invoke(app, ["evaluate", _write(tmp_path, record)])
    assert res.exit_code == 2
    lines = res.stderr.splitlines()
    assert lines[0].startswith("error: unknown_00: unknown field") and lines[0].endswith("(+25 more)")
    assert [x.split(":")[0] for x in lines[1:-1]] == [f"  also unknown_{i:02d}" for i in range(1, 21)]
    assert lines[-1] == "  ... and 5 more"


def test_further_problems_are_escaped(tmp_path: Path) -> None:
    record = {"tumor": {"primary_site": "lung", "ki67_percent": 150}, "x\x1b[31m\u202e": 1}
    res = runner.invoke(app, ["evaluate", _write(tmp_path, record)])
    assert res.exit_code == 2 and len(res.stderr.splitlines()) == 2
    assert "\x1b" not in res.stderr and "\u202e" not in res.stderr and "also x" in res.stderr
