"""The engine's words name agents as a clinician writes them ("octreotide LAR", "Lu-177 dotatate"),
never by their contract id ("octreotide_lar", "lu177_dotatate"); the ids stay in the id fields."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from netcds import Patient, evaluate, load_knowledge
from netcds.field_labels import AGENT_NAMES
from tests.strategies import patients

KB = load_knowledge()
# an id as a word, not inside a dotted data path a citation names ("sequencing data: regimens.ssa.x")
ID = re.compile("|".join(rf"(?<![\w.]){a}(?!\w|\.\w)" for a in AGENT_NAMES))


def words(node: Any) -> list[str]:
    """Every text of more than one word (ids, entry ids and field paths are single words)."""
    if isinstance(node, dict):
        return [w for v in node.values() for w in words(v)]
    if isinstance(node, list):
        return [w for v in node for w in words(v)]
    return [node] if isinstance(node, str) and " " in node.strip() else []


def test_the_example_names_octreotide_lar_in_words() -> None:
    record = json.loads(
        (Path(__file__).parents[2] / "examples/patients/small_bowel_after_ssa.json").read_text()
    )
    out = json.loads(evaluate(Patient.model_validate(record), KB).model_dump_json())
    text = words(out)
    assert any("octreotide LAR from 2024-01-10" in t for t in text)  # the history predicate's detail
    assert [t for t in text if ID.search(t)] == []


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(patients())
def test_no_agent_id_in_the_engines_words(record: dict[str, Any]) -> None:
    out = json.loads(evaluate(Patient.model_validate(record), KB).model_dump_json())
    assert [t for t in words(out) if ID.search(t)] == []
