"""Lines of therapy from treatments[]: grouping, regimens, SSA backbone, durations, progression."""

from __future__ import annotations

import pytest

from netcds import Patient
from netcds.sequencing import build_lines, load_sequencing_data
from netcds.sequencing.summary import summarize
from tests.conftest import gi
from tests.sequencing.util import OCT_STD, seq, tx


def lines_of(treatments, **over):
    p = Patient.model_validate(gi(treatments=treatments, **over))
    data = load_sequencing_data()
    lines = build_lines(p, data)
    return lines, summarize(p, lines, data)


def test_concurrent_capecitabine_and_temozolomide_make_one_captem_line():
    lines, _ = lines_of(
        [
            OCT_STD,
            tx("capecitabine", "2021-07-05", "2022-01-10", progressed=True, stop_reason="progression"),
            tx("temozolomide", "2021-07-09", "2022-01-10", progressed=True, stop_reason="progression"),
        ]
    )
    assert len(lines) == 2
    captem = lines[1]
    assert captem.line == 2
    assert captem.regimen == "capecitabine_temozolomide"
    assert set(captem.agents) == {"capecitabine", "temozolomide"}
    # counts for every option it is an instance of
    assert {"capecitabine_temozolomide", "temozolomide_pm_capecitabine", "cytotoxic_chemotherapy"} <= set(
        captem.counts_as
    )
    assert [m.field for m in captem.members] == ["treatments[1]", "treatments[2]"]


def test_agents_starting_beyond_the_window_are_separate_lines():
    lines, _ = lines_of(
        [
            tx("temozolomide", "2021-07-05", "2022-01-10"),
            tx("capecitabine", "2021-09-01", "2022-01-10"),
        ]
    )
    assert [ln.regimen for ln in lines] == ["temozolomide_pm_capecitabine", None]
    assert lines[1].label == "capecitabine"
    assert lines[1].counts_as == ["cytotoxic_chemotherapy"]


def test_folfox_recognised_from_fluorouracil_leucovorin_oxaliplatin():
    lines, _ = lines_of(
        [
            tx("oxaliplatin", "2022-02-01", "2022-06-01"),
            tx("leucovorin", "2022-02-01", "2022-06-01"),
            tx("fluorouracil", "2022-02-01", "2022-06-01"),
        ]
    )
    assert len(lines) == 1
    assert lines[0].regimen == "folfox"
    assert lines[0].label == "FOLFOX"
    assert lines[0].myelosuppressive is True  # oxaliplatin is a platinum agent


def test_cisplatin_etoposide_and_a_recorded_regimen_id():
    lines, _ = lines_of(
        [
            tx("cisplatin", "2022-02-01", "2022-05-01"),
            tx("etoposide", "2022-02-02", "2022-05-01"),
            tx("capecitabine_temozolomide", "2022-06-01", "2022-12-01"),
        ]
    )
    assert [ln.regimen for ln in lines] == ["cisplatin_etoposide", "capecitabine_temozolomide"]
    assert lines[1].agents == ["capecitabine", "temozolomide"]


def test_ssa_continued_with_a_new_agent_is_backbone_not_a_new_line():
    lines, _ = lines_of(
        [
            tx(
                "octreotide_lar",
                "2020-01-06",
                None,
                dose_mg=30,
                interval_days=28,
                progressed=True,
                progression_date="2021-05-24",
                progression_type="radiographic",
            ),
            tx(
                "everolimus",
                "2021-06-07",
                "2022-03-01",
                progressed=True,
                progression_date="2022-02-14",
                stop_reason="progression",
            ),
        ],
        tumor={"functional": True, "syndromes": ["carcinoid_syndrome"]},
    )
    assert len(lines) == 2
    ssa_line, evero = lines
    assert ssa_line.regimen == "ssa" and ssa_line.ssa_dose_level == "standard"
    assert ssa_line.end.isoformat() == "2021-06-07" and not ssa_line.ongoing
    assert "backbone of line 2" in ssa_line.end_basis
    # the SSA was not stopped (it continued as line 2's backbone): no stop reason is made up for it
    assert ssa_line.progressed is True and ssa_line.stop_reason is None and ssa_line.stop_reasons == []
    assert evero.regimen == "everolimus"
    assert evero.backbone == ["octreotide_lar"]
    assert evero.counts_as == ["everolimus"]  # the backbone does not change what the line is
    assert [m.role for m in evero.members] == ["line", "backbone"]


def test_ssa_started_together_with_another_agent_is_its_backbone():
    lines, _ = lines_of(
        [
            tx("lanreotide", "2022-01-03", None, dose_mg=120, interval_days=28),
            tx("everolimus", "2022-01-05", None),
        ]
    )
    assert len(lines) == 1
    assert lines[0].regimen == "everolimus" and lines[0].backbone == ["lanreotide"]


def test_ssa_added_while_another_line_runs_joins_it_as_backbone():
    lines, _ = lines_of(
        [
            tx("everolimus", "2022-01-05", None),
            tx("octreotide_lar", "2022-04-01", None, dose_mg=20, interval_days=28),
        ]
    )
    assert len(lines) == 1 and lines[0].backbone == ["octreotide_lar"]


def test_short_acting_octreotide_is_not_a_line():
    lines, summary = lines_of([OCT_STD, tx("octreotide", "2020-03-01", "2020-03-20")])
    assert len(lines) == 1
    assert summary.not_counted_as_lines and "treatments[1]" in summary.not_counted_as_lines[0]


def test_duration_durability_and_best_response():
    lines, _ = lines_of(
        [
            OCT_STD,
            tx(
                "lu177_dotatate",
                "2021-07-05",
                "2021-12-20",
                interval_days=56,
                best_response="PR",
                progressed=True,
                progression_date="2023-09-04",
                stop_reason="completed",
            ),
        ]
    )
    prrt = lines[1]
    assert prrt.duration_months == 5.5  # 168 days
    assert prrt.durability.to_progression is True
    assert prrt.durability.months == 26.0
    assert prrt.best_response == "PR"
    assert prrt.stop_reason == "completed"


def test_ongoing_line_measured_to_as_of_only():
    no_date, _ = lines_of([tx("everolimus", "2024-01-01", None)])
    assert no_date[0].ongoing and no_date[0].duration_months is None
    dated, _ = lines_of([tx("everolimus", "2024-01-01", None)], as_of="2024-07-01")
    assert dated[0].duration_months == 6.0
    assert "as_of" in dated[0].duration_basis


PD_AFTER = [{"date": "2024-06-03", "recist_response": "PD"}]


def test_latest_ongoing_line_progressing_now_when_status_progressive():
    lines, _ = lines_of([tx("everolimus", "2024-01-01", None)], assessments=PD_AFTER)
    assert lines[0].progressed is True
    assert any("progressive" in n for n in lines[0].notes)
    stable, _ = lines_of(
        [tx("everolimus", "2024-01-01", None)], disease={"status": "stable"}, assessments=PD_AFTER
    )
    assert stable[0].progressed is None


@pytest.mark.parametrize(
    "assessments",
    [
        None,  # no dated progression: it may be the one that led to this line
        [{"date": "2023-12-18", "recist_response": "PD"}],  # progression before the line began
        [{"date": "2024-01-01", "recist_response": "PD"}],  # the baseline scan of the line
        [{"date": "2024-06-03", "recist_response": "SD"}],  # a later scan, not progression
    ],
)
def test_ongoing_line_is_not_read_as_progressing_without_progression_assessed_after_it_began(assessments):
    lines, _ = lines_of([tx("everolimus", "2024-01-01", None)], assessments=assessments)
    assert lines[0].progressed is None
    assert not any("progressive" in n for n in lines[0].notes)
    no_start, _ = lines_of([tx("everolimus", None, None)], assessments=PD_AFTER)
    assert no_start[0].progressed is None


def test_progression_on_standard_vs_above_label_ssa():
    _, std_only = lines_of([OCT_STD])
    assert std_only.progressed_on_standard_ssa is True
    assert std_only.progressed_on_above_label_ssa is False
    _, both = lines_of(
        [
            OCT_STD,
            tx(
                "octreotide_lar",
                "2021-06-07",
                "2022-01-10",
                dose_mg=60,
                interval_days=28,
                progressed=True,
                stop_reason="progression",
            ),
        ]
    )
    assert both.progressed_on_ssa is True
    assert both.progressed_on_above_label_ssa is True
    lines, _ = lines_of(
        [
            OCT_STD,
            tx("lanreotide", "2021-06-07", "2022-01-10", dose_mg=120, interval_days=14, progressed=True),
        ]
    )
    assert [ln.ssa_dose_level for ln in lines] == ["standard", "above_label"]
    assert [ln.regimen for ln in lines] == ["ssa", "ssa_above_label"]
    assert "above-label dose" in lines[1].label


def test_ssa_dose_not_recorded_is_unknown_level_not_standard():
    lines, summary = lines_of([tx("lanreotide", "2020-01-06", "2021-01-04", progressed=True)])
    assert lines[0].ssa_dose_level is None
    assert any("dose level unknown" in n for n in lines[0].notes)
    assert summary.progressed_on_ssa is True
    assert summary.progressed_on_standard_ssa is None  # unknown, never assumed standard


def test_symptomatic_vs_radiographic_progression():
    _, summary = lines_of(
        [
            OCT_STD,
            tx(
                "lanreotide",
                "2021-06-07",
                "2022-01-10",
                dose_mg=120,
                interval_days=14,
                progressed=True,
                progression_date="2022-01-03",
                progression_type="symptomatic",
                stop_reason="progression",
            ),
        ]
    )
    assert summary.radiographic_progression_lines == [1]
    assert summary.symptomatic_or_clinical_progression_lines == [2]
    assert summary.last_progression_type == "symptomatic"
    assert summary.last_progression.line == 2


def test_myelosuppressive_and_tki_exposure_and_toxicity_stops():
    _, summary = lines_of(
        [
            OCT_STD,
            tx("sunitinib", "2021-06-07", "2021-09-01", stop_reason="toxicity", progressed=False),
            tx("temozolomide", "2021-10-01", "2022-05-01", progressed=True, stop_reason="progression"),
        ]
    )
    assert summary.prior_tki is True and [r.line for r in summary.tki_lines] == [2]
    assert summary.prior_myelosuppressive is True
    assert [r.line for r in summary.myelosuppressive_lines] == [3]
    assert "alkylating agent" in summary.myelosuppressive_lines[0].detail
    assert [r.line for r in summary.stopped_for_toxicity] == [2]
    _, none = lines_of([OCT_STD])
    assert none.prior_tki is False and none.prior_myelosuppressive is False


def test_cumulative_exposure_counts_backbone_and_estimates_prrt_administrations():
    _, summary = lines_of(
        [
            tx(
                "octreotide_lar",
                "2020-01-06",
                None,
                dose_mg=30,
                interval_days=28,
                progressed=True,
                progression_date="2021-05-24",
            ),
            tx("lu177_dotatate", "2021-07-05", "2021-12-20", interval_days=56, stop_reason="completed"),
        ],
        as_of="2022-01-03",
    )
    by = {e.agent: e for e in summary.cumulative_exposures}
    assert by["lu177_dotatate"].estimated_administrations == 4
    assert by["octreotide_lar"].lines == [1, 2]  # its own line, then backbone of the PRRT line
    assert by["octreotide_lar"].total_months == 23.9


def test_unknown_history_is_not_an_empty_history():
    _, result = seq(gi(treatments=None))
    assert result.lines_of_therapy == []
    assert result.history.recorded is False
    assert result.history.prior_myelosuppressive is None
    _, empty = seq(gi(treatments=[], disease={"status": "progressive"}))
    assert empty.history.recorded is True and empty.history.prior_myelosuppressive is False


def test_undated_treatment_keeps_its_recorded_place():
    lines, _ = lines_of([OCT_STD, tx("everolimus", None, None), tx("sunitinib", "2023-01-01", None)])
    assert [ln.agents for ln in lines] == [["octreotide_lar"], ["everolimus"], ["sunitinib"]]
    assert lines[1].duration_months is None and lines[1].durability.basis == "start date not recorded"


def test_progression_on_ssa_detected_from_stop_reason_date_or_ongoing_progressive_course():
    by_stop = tx(
        "lanreotide", "2020-01-06", "2021-01-04", dose_mg=120, interval_days=28, stop_reason="progression"
    )
    lines, summary = lines_of([by_stop])
    assert lines[0].progressed is True and summary.progressed_on_standard_ssa is True
    by_date = tx(
        "octreotide_lar",
        "2020-01-06",
        "2021-01-04",
        dose_mg=20,
        interval_days=28,
        progression_date="2020-12-07",
    )
    lines, summary = lines_of([by_date])
    assert lines[0].progression_date.isoformat() == "2020-12-07" and summary.progressed_on_ssa is True
    ongoing = tx("octreotide_lar", "2020-01-06", None, dose_mg=30, interval_days=28)
    scans = [{"date": "2020-01-02", "recist_response": "SD"}, {"date": "2021-03-01", "recist_response": "PD"}]
    lines, summary = lines_of([ongoing], assessments=scans)  # progressive, assessed so while still on it
    assert lines[0].progressed is True and summary.progressed_on_ssa is True
    lines, summary = lines_of([ongoing])  # progressive, but when it progressed is not recorded
    assert lines[0].progressed is None and summary.progressed_on_ssa is None
    no_prog = tx(
        "octreotide_lar",
        "2020-01-06",
        "2021-01-04",
        dose_mg=30,
        interval_days=28,
        progressed=False,
        stop_reason="patient_choice",
    )
    lines, summary = lines_of([no_prog], disease={"status": "stable"})
    assert lines[0].progressed is False and summary.progressed_on_ssa is False
