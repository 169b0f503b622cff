"""Options the patient already received stay listed with their history; category triggers are named."""

from __future__ import annotations

import pytest

from netcds.field_labels import agent_name
from tests.conftest import gi, lung, opt, pancreas
from tests.sequencing.util import OCT_STD, seq, tx

EVEROLIMUS = tx(
    "everolimus",
    "2021-06-07",
    "2022-02-07",
    best_response="SD",
    progressed=True,
    progression_date="2022-01-24",
    progression_type="radiographic",
    stop_reason="progression",
)
PRRT = tx(
    "lu177_dotatate",
    "2021-06-07",
    "2021-11-22",
    interval_days=56,
    best_response="PR",
    progressed=True,
    progression_date="2023-03-06",
    stop_reason="completed",
)
SUNITINIB = tx("sunitinib", "2021-06-07", "2021-10-04", progressed=False, stop_reason="toxicity")


@pytest.mark.parametrize(
    ("builder", "entry", "prior", "upgraded"),
    [
        (gi, "gi.cabozantinib", EVEROLIMUS, True),
        (gi, "gi.cabozantinib", PRRT, True),
        (gi, "gi.cabozantinib", SUNITINIB, False),  # sunitinib is not a GI trigger
        (lung, "lung.cabozantinib", EVEROLIMUS, True),
        (lung, "lung.cabozantinib", PRRT, False),  # lung/thymus: everolimus only
        (pancreas, "pancreas.cabozantinib", EVEROLIMUS, True),
        (pancreas, "pancreas.cabozantinib", PRRT, True),
        (pancreas, "pancreas.cabozantinib", SUNITINIB, True),
    ],
)
def test_cabozantinib_category_upgrade_named_in_basis_and_history(builder, entry, prior, upgraded):
    ev, result = seq(builder(treatments=[OCT_STD, prior]))
    option = opt(ev, entry)
    history = result.for_option(entry).history
    if upgraded:
        assert option.category == "1"
        assert f"received {agent_name(prior['agent'])} from" in option.category_basis[0]
        assert history is not None and history.received is False
        trigger = history.category_triggers[0]
        assert trigger.category == "1" and trigger.met is True
        assert [r.line for r in trigger.lines] == [2]
        assert trigger.lines[0].agents == [prior["agent"]]
        assert "Category 1 condition" in history.summary
    else:
        assert option.category == "2A"
        if history is not None:
            assert all(not t.lines and t.met is False for t in history.category_triggers)


def test_no_trigger_no_history_for_an_option_never_related_to_the_record():
    ev, result = seq(gi(treatments=[OCT_STD]))
    assert opt(ev, "gi.cabozantinib").category == "2A"
    assert result.for_option("gi.cabozantinib").history is None


def test_previously_received_option_kept_with_its_history():
    ev, result = seq(gi(treatments=[OCT_STD, EVEROLIMUS]))
    assert "gi.everolimus" in [o.entry_id for o in ev.options]
    h = result.for_option("gi.everolimus").history
    assert h.received is True and h.lines == [2]
    assert h.progressed is True and h.best_response == "SD"
    assert h.courses[0].durability.months == 7.6
    assert h.courses[0].progression_type == "radiographic"
    assert "line 2" in h.summary and "progressed on 2022-01-24" in h.summary
    # the SSA option keeps its own course too
    ssa = result.for_option("gi.ssa").history
    assert ssa.received is True and ssa.lines == [1]


def test_option_stopped_for_toxicity_shows_it():
    _, result = seq(pancreas(treatments=[OCT_STD, SUNITINIB]))
    h = result.for_option("pancreas.sunitinib").history
    assert h.received is True and h.stopped_for_toxicity is True and h.progressed is False
    assert h.stop_reasons == ["toxicity"]
    assert "stopped: toxicity" in h.summary


def test_captem_counts_for_the_pancreas_entry_and_the_gi_category3_group():
    captem = [
        tx("capecitabine", "2021-07-05", "2022-01-10", progressed=True),
        tx("temozolomide", "2021-07-05", "2022-01-10", progressed=True),
    ]
    _, pan = seq(pancreas(treatments=[OCT_STD, *captem]))
    assert pan.for_option("pancreas.capecitabine_temozolomide").history.lines == [2]
    _, g = seq(gi(treatments=[OCT_STD, *captem]))
    assert g.for_option("gi.cytotoxic_chemotherapy").history.lines == [2]


def test_same_class_line_shown_for_a_not_yet_received_option():
    _, result = seq(pancreas(treatments=[OCT_STD, SUNITINIB]))
    h = result.for_option("pancreas.cabozantinib").history
    assert h.received is False
    assert [r.line for r in h.same_class_lines] == [2]
    assert "VEGFR tyrosine kinase inhibitor" in h.same_class_lines[0].detail


def test_unknown_history_is_not_assessed_not_absent():
    _, result = seq(gi(treatments=None))
    h = result.for_option("gi.everolimus").history
    assert h is not None and h.received is None
    assert h.summary.startswith("not assessed: treatments")
