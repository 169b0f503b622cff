"""The text report gives an option's whole dose line, wrapped in its cell, never cut short."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from netcds import Patient, evaluate, load_knowledge
from netcds.report import render

ROOT = Path(__file__).resolve().parents[2]
FIVE_LINES = ROOT / "examples" / "patients" / "five_lines.json"


def option_column(text: str) -> str:
    """The report's option column, its wrapped lines joined back into one text."""
    cells = [line.split("│")[3] for line in text.splitlines() if line.count("│") == 4]
    return re.sub(r"\s+", " ", " ".join(c.strip() for c in cells))


@pytest.mark.parametrize("width", [60, 100, 160])
def test_cabozantinib_dose_line_wraps_whole(width: int) -> None:
    ev = evaluate(Patient.model_validate(json.loads(FIVE_LINES.read_text())), load_knowledge())
    cabo = next(o for o in ev.options if o.regimen == "cabozantinib")
    assert cabo.status == "eligible" and cabo.dose is not None
    standard = cabo.dose.agents[0].standard
    assert ";" in standard and len(standard) > width  # the case the report used to cut at the ';'
    console = Console(width=width, record=True, color_system=None)
    for block in render(ev):
        console.print(block)
    column = option_column(console.export_text())
    assert f"Dose cabozantinib: {standard}" in column


def test_cli_report_shows_the_whole_cabozantinib_dose() -> None:
    from netcds.cli import app

    res = CliRunner().invoke(app, ["evaluate", str(FIVE_LINES)])
    assert res.exit_code == 0, res.output
    assert "pediatric patients 12 years and older weighing under 40 kg: 40 mg once daily" in option_column(
        res.stdout
    )
