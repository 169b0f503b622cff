"""Golden cases per table and column: reviewed expectations, one file each (regen: python -m tests.golden.regen)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.golden.regen import summarize

HERE = Path(__file__).parent
CASES = sorted((HERE / "cases").glob("*.json"))


def test_golden_set_covers_every_table_and_column():
    settings = {
        (s["setting"]["table"], s["setting"]["column"], s["setting"]["status"])
        for s in (json.loads((HERE / "expected" / c.name).read_text()) for c in CASES)
    }
    for expected in [
        ("gi_wd_g12", None, "applies"),
        ("lung_thymus", None, "applies"),
        ("pancreas_wd_g12", None, "applies"),
        ("wd_g3", "favorable_advanced", "applies"),
        ("wd_g3", "unfavorable_resectable", "applies"),
        ("wd_g3", "unfavorable_advanced", "applies"),
        (None, None, "not_applicable"),
        (None, None, "needs_data"),
    ]:
        assert expected in settings


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden(case):
    expected = json.loads((HERE / "expected" / case.name).read_text())
    assert summarize(json.loads(case.read_text())) == expected
