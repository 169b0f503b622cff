"""The HTML report lists tiers in the guideline's order (preferred, other recommended, useful in certain
circumstances, listed; categories 1, 2A, 2B, 3), never alphabetically, and says what part of the discordance
reasons its plot and table show ("the top 15 of 39"), counting every reason group (summary ``reason_groups``,
also a ``meta`` row of summary.csv)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from netcds.cli import app

runner = CliRunner()
TIERS = ["preferred", "other_recommended", "useful_in_certain_circumstances", "listed"]


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("report")
    cohort = d / "c.ndjson"
    assert runner.invoke(app, ["synth", "--n", "600", "--seed", "3", "--out", str(cohort)]).exit_code == 0
    assert runner.invoke(app, ["cohort", "audit", str(cohort), "--out", str(d / "o")]).exit_code == 0
    return d / "o"


def test_tiers_and_categories_in_the_guidelines_order() -> None:
    from netcds.cohort.report import CATEGORY_ORDER, TIER_ORDER, clinical_order

    assert list(TIER_ORDER) == TIERS
    assert clinical_order(["useful_in_certain_circumstances", "None", "listed", "preferred", "other_recommended"],
                          TIER_ORDER) == [*TIERS, "None"]  # fmt: skip
    assert clinical_order(["3", "2B", "1", "2A"], CATEGORY_ORDER) == ["1", "2A", "2B", "3"]


def test_the_tier_plot_lists_tiers_in_the_guidelines_order(audit: Path) -> None:
    page = (audit / "report.html").read_text(encoding="utf-8")
    section = page[page.index("<h2>Tier and category") : page.index("<h2>Top discordance reasons</h2>")]
    shown = [t for t in re.findall(r"<!-- (\w+) -->", section) if t in TIERS]  # matplotlib's text labels
    assert len(shown) >= 3 and shown == sorted(shown, key=TIERS.index), shown


def test_the_reason_groups_are_counted_and_the_report_says_top_n_of_m(audit: Path) -> None:
    summary = json.loads((audit / "summary.json").read_text())
    (groups,) = (
        duckdb.connect()
        .execute(
            "SELECT count(*) FROM (SELECT DISTINCT verdict, setting_table, setting_column, decision_regimen,"
            " verdict_entry_id, failing_condition FROM read_parquet(?)"
            " WHERE verdict IN ('listed_not_eligible', 'not_listed'))",
            [str(audit / "decisions.parquet")],
        )
        .fetchone()
    )
    assert summary["reason_groups"] == groups > 25 == len(summary["reasons"])
    page = (audit / "report.html").read_text(encoding="utf-8")
    assert f"The plot shows the top 15 of {groups} discordance reasons, most frequent first" in page
    assert f"The table lists the top 25 of {groups} discordance reasons" in page
    with (audit / "summary.csv").open(newline="", encoding="utf-8") as fh:
        meta = {r["group"]: r["n"] for r in csv.DictReader(fh) if r["section"] == "meta"}
    assert meta["reason_groups"] == str(groups)


def test_all_reasons_shown_say_so() -> None:
    from netcds.cohort.report import reasons_caption

    assert (
        reasons_caption(15, 7, 7, "discordance reasons") == "all 7 discordance reasons, most frequent first"
    )
    assert reasons_caption(15, 25, 39, "reasons") == "the top 15 of 39 reasons, most frequent first"
    assert reasons_caption(25, 25, 25, "reasons") == "all 25 reasons, most frequent first"
