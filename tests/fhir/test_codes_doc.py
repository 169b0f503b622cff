"""The code tables are consistent, sourced, and identical to the table in docs/fhir-mapping.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from netcds.fhir import codes as C  # noqa: N812
from netcds.fhir.drug_names import agents_in, generic_name
from netcds.patient import AGENT_IDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "fhir-mapping.md"


def test_docs_table_matches_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert C.docs_block() in text, (
        "docs/fhir-mapping.md is stale: run python -m netcds.fhir.codes --write-docs"
    )


def test_every_row_has_a_known_source() -> None:
    for row in C.all_rows():
        assert row.source in C.SOURCES or row.source.startswith("no verified"), row


def test_lookup_dicts_agree_with_documented_rows() -> None:
    documented = {(r.system, r.code): r for r in C.all_rows()}
    for code in C.COMORBIDITY_SNOMED:
        assert (C.SNOMED, code) in documented, code
    for code, field in C.LAB_FIELD.items():
        row = documented[(C.LOINC, code)]
        assert field in row.target, (code, field, row.target)
    for code in C.KI67_PERCENT | C.KI67_QUALITATIVE | C.WEIGHT | C.MMR_IHC:
        assert (C.LOINC, code) in documented, code
    for system, code in C.POSITIVE | C.NEGATIVE:
        assert (system, code) in documented, code


def test_every_contract_agent_is_recognisable() -> None:
    tabled = {a.agent for a in C.AGENTS} | {"octreotide_lar", "radiotherapy"}
    assert set(AGENT_IDS) == tabled


def rx(code: str, display: str) -> dict[str, Any]:
    return {
        "coding": [
            {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": code, "display": display}
        ]
    }


@pytest.mark.parametrize(
    ("concept", "agents"),
    [
        (rx("1547545", "pembrolizumab"), ["pembrolizumab"]),
        (rx("309311", "cisplatin 1 MG/ML Injectable Solution"), ["cisplatin"]),
        ({"text": "LUTATHERA 7.4 GBq IV"}, ["lu177_dotatate"]),
        ({"text": "Welireg 120 mg daily"}, ["belzutifan"]),
        ({"text": "CAPTEM: capecitabine + temozolomide"}, ["temozolomide", "capecitabine"]),
        ({"text": "levoleucovorin"}, ["leucovorin"]),
        ({"text": "carboplatin"}, ["carboplatin"]),  # not 'cisplatin', not 'platinum'
        ({"text": "lisinopril 10 mg"}, []),
    ],
)
def test_agents_in(concept: dict[str, Any], agents: list[str]) -> None:
    assert sorted(a for a, _ in agents_in(concept)) == sorted(agents)


@pytest.mark.parametrize(
    ("concept", "name"),
    [
        (rx("197361", "amlodipine 5 MG Oral Tablet"), "amlodipine"),
        ({"text": "metformin hydrochloride 500 MG Oral Tablet"}, "metformin"),
        ({"text": "10 ML doxorubicin hydrochloride 2 MG/ML Injection"}, "doxorubicin"),
        ({"text": "predniSONE"}, "prednisone"),
        ({"text": "amlodipine / benazepril 5/10 mg"}, "amlodipine / benazepril"),
        ({"text": "potassium chloride 20 mEq"}, "potassium chloride"),
        ({"text": "Zestril [lisinopril] 10 MG"}, "zestril"),
    ],
)
def test_generic_name(concept: dict[str, Any], name: str) -> None:
    assert generic_name(concept) == name
