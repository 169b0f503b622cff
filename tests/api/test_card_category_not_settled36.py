"""Patient-view cards for a duodenal primary without its part (session 36, L3 of the session-35 review).

Lu-177's category 1 on the GI table waits for ``tumor.duodenal_part`` when the part is not recorded: the
options card must not print a bare "(category 2A)" as if settled, and the missing-data card must say that
the field cannot come from the chart's FHIR data (netcds does not map the parts) and where to enter it.
"""

from __future__ import annotations

from typing import Any

from netcds import Patient, evaluate, load_knowledge
from netcds.fhir.not_carried import WHERE, not_from_fhir
from netcds.fhir.option_cards import missing_data_card, options_card
from tests.conftest import gi

BASE = "http://cds.example.test"


def _ev(**tumor: Any) -> Any:
    rec = gi(tumor={"primary_site": "duodenum", **tumor})
    return evaluate(Patient.model_validate(rec), load_knowledge())


def _lu177_line(detail: str) -> str:
    lines = [ln for ln in detail.splitlines() if "Lu 177" in ln or "Lu-177" in ln or "lutetium" in ln.lower()]
    assert lines, detail
    return lines[0]


def test_options_card_says_the_category_is_not_settled() -> None:
    ev = _ev()
    lu = next(o for o in ev.options if o.regimen == "lu177_dotatate")
    assert lu.status == "eligible" and lu.category == "2A"
    assert lu.category_missing == ["tumor.duodenal_part"]
    line = _lu177_line(options_card(ev, BASE, None)["detail"])
    assert "category 2A, unsettled until recorded: " in line
    assert "uodenal part" in line  # the field's label, never the raw path
    assert "tumor.duodenal_part" not in line


def test_options_card_settled_category_stays_plain() -> None:
    ev = _ev(duodenal_part="third")
    lu = next(o for o in ev.options if o.regimen == "lu177_dotatate")
    assert lu.category == "1" and lu.category_missing == []
    line = _lu177_line(options_card(ev, BASE, None)["detail"])
    assert "category 1" in line and "unsettled" not in line


def test_missing_data_card_says_the_part_is_not_read_from_fhir() -> None:
    ev = _ev()
    card = missing_data_card(ev, BASE, None)
    assert card is not None
    rows = [ln for ln in card["detail"].splitlines() if "uodenal part" in ln]
    assert len(rows) == 1
    note = not_from_fhir("tumor.duodenal_part")
    assert note is not None and note in rows[0] and "duodenum's parts" in note
    # the other fields, and since session 37 every field FHIR never carries: tests/fhir/test_not_carried37.py
    assert [ln for ln in card["detail"].splitlines() if ln.startswith("- ")] == rows
    assert card["detail"].splitlines()[-1] == WHERE  # where to enter it, said once
