"""Both synthetic generators draw every duodenal part, and none, for a duodenal primary (session 36).

Up to session 35 synth.py drew four of the seven parts and synth_sql.py three, so the cohort equivalence
tests never met ``second_preampullary``, ``second_postampullary`` or ``fourth`` on generated data. Both now
draw one mix (synth.py ``DUODENAL_PART_MIX``): mostly the first and second parts, ampullary a minority,
the third and fourth rare, a share unrecorded; never a part for another primary (the contract refuses it).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, get_args

import pytest

from netcds.cohort.synth import DUODENAL_PART_MIX, synth_records
from netcds.patient import DuodenalPart, Patient

from .test_synth_ssa import EQUIVALENCE_COHORTS, sql_generated

EVERY = {*get_args(DuodenalPart), None}


def parts(records: list[dict[str, Any]]) -> Counter[str | None]:
    """The duodenal part of each duodenal record (None: not recorded)."""
    return Counter(
        r["tumor"].get("duodenal_part") for r in records if r["tumor"]["primary_site"] == "duodenum"
    )


def check(records: list[dict[str, Any]]) -> None:
    assert set(parts(records)) == EVERY
    assert not [
        r["tumor"]
        for r in records
        if r["tumor"]["primary_site"] != "duodenum" and "duodenal_part" in r["tumor"]
    ]
    seen = parts(records)
    n = sum(seen.values())
    # the mix, loosely: the first part the most common, third and fourth rare, a share unrecorded
    assert seen.most_common(1)[0][0] == "first"
    assert (seen["third"] + seen["fourth"]) / n < 0.2
    assert 0.08 < seen[None] / n < 0.35


def test_the_mix_is_every_part_and_none() -> None:
    assert {p for p, _ in DUODENAL_PART_MIX} == EVERY
    assert len(DUODENAL_PART_MIX) == len(EVERY)
    assert sum(w for _, w in DUODENAL_PART_MIX) == pytest.approx(1.0)


def test_python_generator_draws_every_part() -> None:
    records = list(synth_records(8000, seed=36))
    check(records)
    for r in records:  # the parts drawn are contract records
        if r["tumor"].get("duodenal_part"):
            Patient.model_validate({k: v for k, v in r.items() if k != "decision"})


def test_sql_generator_draws_every_part() -> None:
    records = sql_generated(8000, 36)
    check(records)
    for r in records:
        if r["tumor"].get("duodenal_part"):
            Patient.model_validate({k: v for k, v in r.items() if k != "decision"})


@pytest.mark.parametrize(("n", "seed", "off", "missing"), EQUIVALENCE_COHORTS)
def test_the_equivalence_cohorts_meet_every_part(n: int, seed: int, off: float, missing: float) -> None:
    """The cohorts test_equivalence_duckdb.py / _spark.py audit hold every part and none."""
    assert set(parts(list(synth_records(n, seed, off, missing)))) == EVERY
