"""The duodenum's two embryologic origins (foregut down to the major papilla, midgut beyond it).

Lu-177 dotatate is category 1 on the GI table for progressive midgut tumors. Up to 0.1.0 (session 34)
netcds read every duodenal primary as foregut, which withheld category 1 from a tumor of the third or
fourth part without a source. Now the part (``tumor.duodenal_part``) decides; with no part, or the second
part without its side of the papilla, the gut is unknown and the category names the field. The per-patient
engine, DuckDB and Spark must agree on every part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from netcds.knowledge.schema import Knowledge
from netcds.patient import DuodenalPart, Patient
from tests.conftest import gi

from .helpers import check_on_duckdb, check_on_spark, reference

# part -> (Lu-177 category, the fields the category waits for)
EXPECTED: dict[str | None, tuple[str, list[str]]] = {
    None: ("2A", ["tumor.duodenal_part"]),
    "first": ("2A", []),
    "second_preampullary": ("2A", []),
    "ampullary": ("2A", []),
    "second": ("2A", ["tumor.duodenal_part"]),
    "second_postampullary": ("1", []),
    "third": ("1", []),
    "fourth": ("1", []),
}


def test_every_part_is_expected() -> None:
    assert set(EXPECTED) - {None} == set(get_args(DuodenalPart))


def _records() -> list[dict[str, Any]]:
    out = []
    for part in EXPECTED:
        for status in ("progressive", "stable", None):
            tumor: dict[str, Any] = {"primary_site": "duodenum"}
            if part is not None:
                tumor["duodenal_part"] = part
            rec = gi(tumor=tumor, disease={"status": status, "small_bowel_mesenteric": False})
            rec["decision"] = {"date": "2025-04-01", "regimen": "lu177_dotatate"}
            out.append(rec)
    return out


def test_engine_category_follows_the_part(kb: Knowledge) -> None:
    ref = reference(_records(), kb)
    for i, rec in enumerate(_records(), start=1):
        part = rec["tumor"].get("duodenal_part")
        status = rec["disease"].get("status")
        if status != "progressive":  # category 1 needs progression as well as a midgut origin
            assert ref[i]["chosen_category"] == "2A", (part, status)
            continue
        assert ref[i]["chosen_category"] == EXPECTED[part][0], part


def test_the_category_names_the_part_it_waits_for(kb: Knowledge) -> None:
    from tests.conftest import opt, run

    for part, (category, waits) in EXPECTED.items():
        tumor: dict[str, Any] = {"primary_site": "duodenum"}
        if part is not None:
            tumor["duodenal_part"] = part
        o = opt(run(gi(tumor=tumor), kb), "gi.lu177_dotatate")
        assert (o.category, o.category_missing) == (category, waits), part


def test_duckdb_agrees_on_every_part(kb: Knowledge, tmp_path: Path) -> None:
    check_on_duckdb(_records(), kb, tmp_path, lambda q: None)


def test_spark_agrees_on_every_part(spark_engine: Any, kb: Knowledge) -> None:
    check_on_spark(spark_engine, _records(), kb, lambda q: None)


@pytest.mark.parametrize(
    ("tumor", "field"),
    [
        ({"primary_site": "ileum", "duodenal_part": "third"}, "duodenal_part"),
        ({"primary_site": "duodenum", "duodenal_part": "bulb"}, "duodenal_part"),
        ({"primary_site": "duodenum", "colon_segment": "ascending"}, "colon_segment"),
    ],
)
def test_a_part_that_does_not_fit_is_refused_naming_the_field(tumor: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        Patient.model_validate(gi(tumor=tumor))
    assert field in str(err.value)
