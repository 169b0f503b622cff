"""Knowledge release 5.2024-r10: citations only (the category note's tables, the pancreatic footnotes' inference).

(1) The source prints its category 2A default under the lung/thymus, pancreatic and WD G3 tables, not under
the GI table; up to r9 the note shown with a GI evaluation was cited to the GI table. (2) The pancreatic table
cites footnotes a and e-h, whose text for that table is on a page the source does not contain; up to r9 their
citations looked like any other. Tested against r9, so a later release that loses either fix fails here, and
everything else must be exactly as in r9.
"""

from __future__ import annotations

from typing import Any

import pytest

from netcds import load_knowledge
from tests.conftest import g3, gi, lung, pancreas, run

R9, R10 = load_knowledge("5.2024-r9"), load_knowledge("5.2024-r10")
THREE_TABLES = "Lung/Thymus NETs; Pancreatic NETs (WD G1/2); WD G3 NETs"
INFERRED = "text inferred"


def _notes(ev: Any) -> dict[str, Any]:
    return {n.id: n for n in ev.notes}


def test_the_gi_note_no_longer_claims_the_gi_table_prints_the_default() -> None:
    old, new = _notes(run(gi(), R9)), _notes(run(gi(), R10))
    assert old["default_category"].source.table == "NETs of the GI tract (WD G1/2)"  # the r9 claim
    assert "default_category" not in new
    gi_note = new["default_category_gi"]
    assert gi_note.source.table == "NETs of the GI tract (WD G1/2)"
    assert "no note under this table" in (gi_note.source.section or "")
    assert "prints no category note" in gi_note.text


@pytest.mark.parametrize("record", [lung(), pancreas(), g3()], ids=["lung", "pancreas", "wd-g3"])
def test_the_tables_that_print_the_default_cite_where_it_is_printed(record: dict[str, Any]) -> None:
    note = _notes(run(record, R10))["default_category"]
    assert note.source.table == THREE_TABLES
    assert "default_category_gi" not in _notes(run(record, R10))


def test_the_manifest_default_cites_the_three_tables() -> None:
    assert R10.manifest.default_category == R9.manifest.default_category == "2A"
    assert R10.manifest.default_category_source.table == THREE_TABLES


def test_pancreatic_citations_of_a_and_e_to_h_say_the_text_is_inferred() -> None:
    ev = run(pancreas(), R10)
    seen: set[str] = set()
    for o in ev.options:
        for fn in o.footnote_details:
            section = fn.source.section or ""
            if fn.letter in "aefgh":
                assert INFERRED in section and "NE-H 4 of 11" in section, (o.entry_id, fn.letter)
                seen.add(fn.letter)
            else:
                assert INFERRED not in section
    assert seen == set("aefgh")
    assert INFERRED in (ev.ssa_plan.source.section or "")
    # r9 cited the same letters without a word
    assert all(
        not (fn.source.section or "") for o in run(pancreas(), R9).options for fn in o.footnote_details
    )


@pytest.mark.parametrize("record", [gi(), lung(), g3()], ids=["gi", "lung", "wd-g3"])
def test_the_pages_that_print_the_letters_are_cited_as_before(record: dict[str, Any]) -> None:
    ev = run(record, R10)
    assert all(INFERRED not in (fn.source.section or "") for o in ev.options for fn in o.footnote_details)
    if ev.ssa_plan is not None and ev.ssa_plan.source is not None:
        assert INFERRED not in (ev.ssa_plan.source.section or "")


@pytest.mark.parametrize(
    "record",
    [
        gi(),
        lung(),
        pancreas(),
        g3(),
        gi(tumor={"primary_site": "duodenum"}),
        pancreas(tumor={"functional": True}),
    ],
    ids=["gi", "lung", "pancreas", "wd-g3", "duodenum", "pancreas-functional"],
)
def test_nothing_but_citations_changed(record: dict[str, Any]) -> None:
    old, new = run(record, R9), run(record, R10)
    assert new.setting == old.setting
    assert [(o.entry_id, o.status, o.tier, o.category, o.missing, o.reasons) for o in new.options] == [
        (o.entry_id, o.status, o.tier, o.category, o.missing, o.reasons) for o in old.options
    ]
    assert [(f.letter, f.text) for o in new.options for f in o.footnote_details] == [
        (f.letter, f.text) for o in old.options for f in o.footnote_details
    ]
    assert new.ssa_plan.action == old.ssa_plan.action


def test_tables_entries_and_footnotes_equal_r9() -> None:
    assert R10.footnotes == R9.footnotes
    assert R10.exclusions == R9.exclusions
    for t9, t10 in zip(R9.tables, R10.tables, strict=True):
        assert t10.columns == t9.columns
        assert t10.applies_when == t9.applies_when
        assert t10.model_copy(update={"principles": [], "inferred_footnotes": None}) == t9.model_copy(
            update={"principles": []}
        )
    assert {
        k: v for k, v in R10.principles.items() if k not in ("default_category", "default_category_gi")
    } == {k: v for k, v in R9.principles.items() if k != "default_category"}
