"""The fields netcds never reads from FHIR (netcds.fhir.not_carried) are truly never read, and a CDS Hooks
card asking for one of them says so and where to enter it, while fields FHIR can carry get no such note.

Before session 37 the list sat unused in ``fhir.mcode`` and the missing-data card said it for
``tumor.duodenal_part`` alone: a card asking for, e.g., ``disease.biology`` on a WD G3 bundle sent the
clinician to the chart, where recording it changes nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from netcds import Patient, evaluate, load_knowledge
from netcds.fhir import MappingReport, bundle_to_patient
from netcds.fhir.not_carried import JUDGEMENTS, NOT_CARRIED, WHERE, not_from_fhir
from netcds.fhir.option_cards import missing_data_card
from netcds.field_labels import field_label
from tests.fhir.conftest import load, wrap
from tests.fhir.test_mcode_examples import JOHN, NET_PRIMARY

AS_OF = date(2025, 6, 1)
BASE = "http://cds.example.test"
BUNDLES = ("ileal_net_ssa_progression.json", "pannet_germline_vhl.json", "wd_g3_msi_high.json")
NOT_READ = "(not read from FHIR: "


def _value(p: Patient, path: str) -> Any:
    node: Any = p
    for part in path.split("."):
        if node is None:
            return None
        node = getattr(node, part)
    return node


def _carried_nothing(p: Patient, report: MappingReport) -> None:
    for path in NOT_CARRIED:
        value = _value(p, path)
        if path == "preferences" and value is not None:
            assert all(v is None for v in value.model_dump().values()), value
        else:
            assert value is None, (path, value)
    fields = {m.field for m in report.mapped}
    assert not {f for f in fields if f in NOT_CARRIED or f.split(".")[0] in NOT_CARRIED}


def test_every_listed_field_is_a_patient_field() -> None:
    """A typo in the list would make the card's note silently never fire for the real field."""
    p = Patient.model_validate({"tumor": {"primary_site": "ileum"}})
    for path in NOT_CARRIED:
        node: Any = p
        for part in path.split("."):
            assert part in type(node).model_fields, path
            node = getattr(node, part) or type(node).model_fields[part].annotation


@pytest.mark.parametrize("name", BUNDLES)
def test_our_bundles_never_set_a_not_carried_field(name: str) -> None:
    _carried_nothing(*bundle_to_patient(load(name), as_of=AS_OF))


def test_official_resources_never_set_a_not_carried_field(mcode_examples: dict[str, dict[str, Any]]) -> None:
    net = NET_PRIMARY | {"id": "primary-cancer-condition-nsclc"}
    _carried_nothing(*bundle_to_patient(wrap(*(mcode_examples[n] for n in JOHN), net), as_of=AS_OF))


@pytest.mark.parametrize("field", [*JUDGEMENTS[:-1], "tumor.duodenal_part", "preferences.prrt_center_access"])
def test_not_from_fhir_says_why_and_where(field: str) -> None:
    text = not_from_fhir(field)
    assert text is not None and f"({text})".startswith(NOT_READ)
    assert ("duodenum" in text) == (field == "tumor.duodenal_part")
    assert ("preference" in text) == field.startswith("preferences")


@pytest.mark.parametrize(
    "field", ["tumor.ki67_percent", "tumor.primary_site", "disease.status", "tumor.functional", "sex"]
)
def test_fields_fhir_carries_get_no_note(field: str) -> None:
    assert not_from_fhir(field) is None


def _rows(card: dict[str, Any]) -> list[str]:
    return [ln for ln in card["detail"].splitlines() if ln.startswith("- ")]


def test_wd_g3_bundle_card_marks_biology_not_read_from_fhir() -> None:
    """The WD G3 bundle's setting waits for disease.biology, a multidisciplinary judgement: its row says
    the chart cannot supply it; the rows for fields the chart can carry do not."""
    p, _ = bundle_to_patient(load("wd_g3_msi_high.json"), as_of=AS_OF)
    ev = evaluate(p, load_knowledge())
    assert "disease.biology" in ev.needs_data
    ev = ev.model_copy(update={"setting": ev.setting.model_copy(update={"status": "applies"})})
    card = missing_data_card(ev, BASE, None)
    assert card is not None
    rows = _rows(card)
    assert len(rows) == len(dict.fromkeys(ev.needs_data + [f for o in ev.options for f in o.missing]))
    for field in dict.fromkeys(ev.needs_data):
        [row] = [r for r in rows if r.startswith(f"- {field_label(field)}")]
        assert (NOT_READ in row) == (not_from_fhir(field) is not None), (field, row)
    assert any(NOT_READ in r for r in rows)
    assert card["detail"].splitlines()[-1] == WHERE and "patient form" in WHERE


def test_ileal_bundle_card_rows_follow_the_list() -> None:
    p, _ = bundle_to_patient(load("ileal_net_ssa_progression.json"), as_of=AS_OF)
    ev = evaluate(p, load_knowledge())
    card = missing_data_card(ev, BASE, None)
    if card is None:
        pytest.fail("the ileal bundle leaves facts unrecorded; its missing-data card must exist")
    for row in _rows(card):
        fields = [f for f in ev.needs_data if row.startswith(f"- {field_label(f)}")]
        assert fields, row
        assert (NOT_READ in row) == any(not_from_fhir(f) is not None for f in fields), row
    assert (card["detail"].splitlines()[-1] == WHERE) == any(not_from_fhir(f) for f in ev.needs_data)
