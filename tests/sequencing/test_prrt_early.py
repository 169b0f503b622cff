"""'PRRT early' speaks of meaningful progression on the SSA: not of a later progression on another line.

The Lieu 2026 discussion places PRRT early after meaningful progression on an SSA. The recorded
'clinically significant progression' describes the current progression; once another systemic line
came after the SSA, that is no longer the progression on the SSA, and the point is not made. A
history that cannot tell (undated later line) leaves it not assessed, naming the field.
"""

from __future__ import annotations

from netcds.sequencing.models import Factor
from tests.conftest import gi
from tests.sequencing.util import rules, seq, tx

EARLY = {"prrt.early.meaningful_progression", "preference.long_term_control.prrt"}
LAN = tx("lanreotide", "2018-01-01", "2021-01-01", dose_mg=120, interval_days=28, progressed=True,
         progression_date="2020-12-01", stop_reason="progression")  # fmt: skip
EVERO = tx("everolimus", "2021-01-10", "2023-03-01", progressed=True, progression_date="2023-02-01",
           stop_reason="progression")  # fmt: skip
CABO = tx("cabozantinib", "2023-03-10", None, progressed=True, progression_date="2025-05-01")
LTC = {"priority": "long_term_control"}


def test_no_prrt_early_when_the_current_progression_is_on_a_later_line():
    """Lanreotide progressed in 2020, then everolimus, then cabozantinib, progressing now."""
    _, r = seq(gi(as_of="2025-06-01", treatments=[LAN, EVERO, CABO], preferences=LTC))
    prrt = r.for_option("gi.lu177_dotatate")
    assert prrt.status == "eligible"
    assert not rules(prrt) & EARLY
    assert "seq.latest_progression_on_ssa" not in str(prrt.not_assessed)
    assert prrt.order_score == 0


def test_prrt_early_when_the_latest_progression_is_the_one_on_the_ssa():
    _, r = seq(gi(as_of="2021-02-01", treatments=[LAN], preferences=LTC))
    prrt = r.for_option("gi.lu177_dotatate")
    assert rules(prrt) >= EARLY
    c = next(c for c in prrt.considerations if c.rule_id == "prrt.early.meaningful_progression")
    assert any("no other systemic line recorded after it" in b for b in c.basis)


def test_prrt_early_is_not_assessed_when_the_order_of_the_lines_is_not_recorded():
    undated = tx("everolimus", None, None, progressed=True)
    _, r = seq(gi(as_of="2025-06-01", treatments=[LAN, undated], preferences=LTC))
    prrt = r.for_option("gi.lu177_dotatate")
    assert not rules(prrt) & EARLY
    assert "treatments[1].start" in prrt.not_assessed


def test_meaningful_progression_has_its_own_factor_not_the_pace():
    _, r = seq(gi(disease={"progression_pace": "rapid"}))
    prrt = r.for_option("gi.lu177_dotatate")
    c = next(c for c in prrt.considerations if c.rule_id == "prrt.early.meaningful_progression")
    assert c.factor == "progression_significance" and "progression_significance" in Factor.__args__
    # the explanation no longer says 'for: progression_pace' while naming the pace as undirected
    assert "for: progression_pace" not in prrt.order_explanation
    assert "for: progression_significance (prrt.early.meaningful_progression)" in prrt.order_explanation
    assert "pace of progression (rapid)" in prrt.order_explanation
