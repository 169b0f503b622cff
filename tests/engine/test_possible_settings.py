"""When the record leaves several settings open, each is shown with what it lists, none eligible."""

from __future__ import annotations

from netcds import load_knowledge
from tests.conftest import g3, gi, pancreas, run

KB = load_knowledge()


def _entries(table: str, column: str | None) -> list[str]:
    t = next(t for t in KB.tables if t.id == table)
    return [e.id for e in next(c for c in t.columns if c.id == column).entries]


def test_wd_g3_without_biology_shows_both_advanced_columns_with_all_their_entries() -> None:
    ev = run(g3(disease={"biology": ...}))
    assert ev.setting.status == "needs_data" and ev.options == []
    shown = [(p.table, p.column) for p in ev.possible_settings]
    assert shown == [("wd_g3", "favorable_advanced"), ("wd_g3", "unfavorable_advanced")]
    for p in ev.possible_settings:
        assert p.missing == ["disease.biology"]
        assert [o.entry_id for o in p.options] == _entries(p.table, p.column)  # nothing dropped
        assert p.source.table == "WD G3 NETs" and p.source.column == p.column
        assert any(r.startswith("Unknown: ") and "biology" in r for r in p.reasons)


def test_a_possible_settings_options_are_never_eligible_and_name_the_deciding_field() -> None:
    ev = run(g3(disease={"biology": ...}))
    statuses = {o.status for p in ev.possible_settings for o in p.options}
    assert "eligible" not in statuses and "needs_data" in statuses
    for p in ev.possible_settings:
        for o in p.options:
            if o.status == "needs_data":
                assert o.missing[: len(p.missing)] == p.missing, o.entry_id
                assert "one of several settings" in o.reasons[0]
    assert "disease.biology" in ev.needs_data


def test_an_entry_whose_own_condition_fails_stays_not_eligible_with_the_failing_fact() -> None:
    # pembrolizumab (both advanced columns) needs tumor progression after prior treatment: none recorded
    ev = run(g3(disease={"biology": ...}, treatments=[]))
    for p in ev.possible_settings:
        pem = next(o for o in p.options if o.regimen == "pembrolizumab")
        assert pem.status == "not_eligible" and pem.missing == []
        assert any(r.startswith("Not met: ") for r in pem.reasons), pem.reasons


def test_an_option_needing_more_data_names_it_after_the_setting_fields() -> None:
    ev = run(g3(disease={"biology": ...}, tumor={"sstr_status": ...}))
    fav = ev.possible_settings[0]
    lu = next(o for o in fav.options if o.regimen == "lu177_dotatate")
    assert lu.status == "needs_data" and lu.missing == ["disease.biology", "tumor.sstr_status"]
    assert "tumor.sstr_status" in ev.needs_data


def test_grade_unknown_leaves_the_g12_and_the_g3_tables_open() -> None:
    ev = run(gi(tumor={"grade": ..., "ki67_percent": ..., "differentiation": "well"}))
    assert ev.setting.status == "needs_data" and ev.setting.table is None
    tables = {p.table for p in ev.possible_settings}
    assert tables == {"gi_wd_g12", "wd_g3"}, [(p.table, p.column) for p in ev.possible_settings]
    assert all(o.status != "eligible" for p in ev.possible_settings for o in p.options)


def test_no_possible_settings_when_one_setting_applies_or_only_one_remains() -> None:
    assert run(g3()).possible_settings == []  # applies
    assert run(pancreas()).possible_settings == []
    one = run(gi(disease={"extent": ...}))  # extent unknown: the GI table is the only possible setting
    assert (one.setting.status, one.setting.table) == ("needs_data", "gi_wd_g12")
    assert one.possible_settings == [] and {o.status for o in one.options} <= {"needs_data", "not_eligible"}


def test_not_applicable_has_no_possible_settings() -> None:
    ev = run(gi(tumor={"differentiation": "poor", "grade": "G3"}))
    assert ev.setting.status == "not_applicable" and ev.possible_settings == []
