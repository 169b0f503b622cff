"""`netcds kb show`: the note on unmarked categories under each table is that table's own principle.

The source prints its "category 2A unless marked" note under the lung/thymus, pancreatic and WD G3 tables
only (release 5.2024-r10); under the GI table netcds says it applies the same default although the source
prints no note there. `kb show` used to print the source's note under every table.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from netcds import load_knowledge
from netcds.cli import app
from netcds.kb_view import category_note

runner = CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("table", "principle"),
    [
        ("gi_wd_g12", "default_category_gi"),
        ("lung_thymus", "default_category"),
        ("pancreas_wd_g12", "default_category"),
        ("wd_g3", "default_category"),
    ],
)
def test_each_table_shows_its_own_category_principle(table: str, principle: str) -> None:
    kb = load_knowledge()
    t = next(x for x in kb.tables if x.id == table)
    assert category_note(kb, t) == kb.principles[principle].text
    res = runner.invoke(app, ["kb", "show", table], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    out = _flat(res.output)
    assert _flat(kb.principles[principle].text) in out
    assert "unless otherwise marked" not in out


def test_a_table_without_the_principle_gets_netcds_words() -> None:
    kb = load_knowledge()
    t = next(x for x in kb.tables if x.id == "wd_g3").model_copy(update={"principles": []})
    assert category_note(kb, t).startswith(
        "Unless an entry is marked otherwise, netcds shows it as category 2A"
    )
