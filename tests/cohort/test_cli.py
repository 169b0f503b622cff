"""The cohort commands end to end: synth -> audit (files, report with plots) and the SQL printout."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from netcds.cli import app

runner = CliRunner()


def test_synth_then_audit_writes_every_output(tmp_path: Path) -> None:
    cohort = tmp_path / "cohort.ndjson"
    res = runner.invoke(app, ["synth", "--n", "400", "--seed", "3", "--out", str(cohort)])
    assert res.exit_code == 0, res.output
    assert len(cohort.read_text().splitlines()) == 400
    out = tmp_path / "audit"
    res = runner.invoke(app, ["cohort", "audit", str(cohort), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "400 rows in = 400 results + 0 rejects" in res.output
    summary = json.loads((out / "summary.json").read_text())
    assert sum(summary["verdict_counts"].values()) == 400
    html = (out / "report.html").read_text()
    assert html.count("<svg") >= 5 and "not a judgement of care" in html
    assert (out / "summary.csv").read_text().startswith("section,group,verdict,n")
    n, opts = duckdb.connect().execute(
        f"SELECT count(*), count(*) FILTER (WHERE len(options) > 0) FROM read_parquet('{out / 'decisions.parquet'}')"
    ).fetchone() or (0, 0)
    assert n == 400 and opts > 200


def test_out_of_scope_is_its_own_group_outside_the_concordance_share(tmp_path: Path) -> None:
    """5.2024-r4 (and later releases) moves the decision points no encoded table can judge to out_of_scope; an
    audit with --guideline-version 5.2024-r3 keeps that release's verdicts. out_of_scope is in neither the
    numerator nor the denominator of the concordance share, and the report shows it as its own group."""
    cohort = tmp_path / "cohort.ndjson"
    assert runner.invoke(app, ["synth", "--n", "600", "--seed", "7", "--out", str(cohort)]).exit_code == 0
    runs = {}
    for name, extra in (
        ("r4", ["--guideline-version", "5.2024-r4"]),
        ("r3", ["--guideline-version", "5.2024-r3"]),
    ):
        res = runner.invoke(app, ["cohort", "audit", str(cohort), "--out", str(tmp_path / name), *extra])
        assert res.exit_code == 0, res.output
        runs[name] = json.loads((tmp_path / name / "summary.json").read_text())
    r4, r3 = runs["r4"], runs["r3"]
    assert (r4["guideline"]["release"], r3["guideline"]["release"]) == ("5.2024-r4", "5.2024-r3")
    c4, c3 = r4["verdict_counts"], r3["verdict_counts"]
    assert c3["out_of_scope"] == 0 and r3["out_of_scope"] == [] and c4["out_of_scope"] > 0
    for v in ("concordant", "listed_not_eligible"):
        assert c4[v] == c3[v], v
    # from r4 a systemic decision no table lists waits (needs_data) while a scope exclusion is unknown
    r3_file, r4_file = tmp_path / "r3" / "decisions.parquet", tmp_path / "r4" / "decisions.parquet"
    waits = (
        duckdb.connect()
        .execute(
            f"SELECT count(*) FROM read_parquet('{r3_file}') a JOIN read_parquet('{r4_file}') b USING (row_id)"
            " WHERE a.verdict = 'not_listed' AND b.verdict = 'needs_data'"
        )
        .fetchone()
    )
    assert waits is not None and c4["needs_data"] == c3["needs_data"] + waits[0]
    moved = (
        duckdb.connect()
        .execute(
            f"SELECT count(*) FILTER (WHERE a.verdict = 'not_listed'), count(*), count(a.scope_exclusions)"
            f" FROM read_parquet('{tmp_path / 'r3' / 'decisions.parquet'}') a"
            f" JOIN read_parquet('{tmp_path / 'r4' / 'decisions.parquet'}') b USING (row_id)"
            " WHERE b.verdict = 'out_of_scope'"
        )
        .fetchone()
    )
    assert moved is not None and moved[1] == c4["out_of_scope"] and moved[2] == 0
    assert c4["not_listed"] == c3["not_listed"] - moved[0] - waits[0]
    for summary, counts in ((r4, c4), (r3, c3)):
        conc = summary["concordance"]
        assert conc["numerator"] == counts["concordant"]
        assert conc["denominator"] == sum(
            counts[v] for v in ("concordant", "listed_not_eligible", "not_listed")
        )
        assert conc["share"] == summary["concordance_of_settled_systemic_choices"]
        assert conc["share"] == round(conc["numerator"] / conc["denominator"], 4)
        assert conc["not_counted"]["out_of_scope"] == counts["out_of_scope"]
    assert r4["concordance"]["share"] > r3["concordance"]["share"]
    assert sum(r["n"] for r in r4["out_of_scope"]) == c4["out_of_scope"]
    assert all(r["scope_exclusions"] for r in r4["out_of_scope"])
    html = (tmp_path / "r4" / "report.html").read_text()
    assert "Out of scope: not judged" in html and "condition not met (listed_not_eligible)" in html
    assert "<td>out_of_scope</td>" in html and "knowledge release <b>5.2024-r4</b>" in html


def test_synth_is_reproducible_and_the_seed_matters(tmp_path: Path) -> None:
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        runner.invoke(app, ["synth", "--n", "50", "--seed", seed, "--out", str(tmp_path / f"{name}.ndjson")])
    a, b, c = ((tmp_path / f"{x}.ndjson").read_text() for x in "abc")
    assert a == b and a != c


def test_sql_prints_both_dialects() -> None:
    duck = runner.invoke(app, ["cohort", "sql"])
    spark = runner.invoke(app, ["cohort", "sql", "--engine", "spark"])
    assert duck.exit_code == spark.exit_code == 0
    assert "lambda t:" in duck.output and "list_bit_or(" in duck.output
    assert "t -> " in spark.output and "aggregate(" in spark.output and "named_struct(" in spark.output
    assert "-- gi.cabozantinib" not in duck.output  # entries are evaluated inline, per applicable column
    assert "-- row criteria of gi_wd_g12" in duck.output


def test_audit_refuses_an_unknown_format(tmp_path: Path) -> None:
    bad = tmp_path / "cohort.xlsx"
    bad.write_text("x")
    res = runner.invoke(app, ["cohort", "audit", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2


def _one_line_error(res: object) -> str:
    """Exit 2 with one ``error:`` line naming the problem, never a traceback."""
    code, text = getattr(res, "exit_code", None), getattr(res, "output", "")
    assert code == 2, text
    assert "Traceback" not in text and getattr(res, "exception", None).__class__.__name__ == "SystemExit", (
        text
    )
    errors = [ln for ln in text.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, text
    return errors[0]


def test_unreadable_inputs_and_outputs_are_one_line_errors(tmp_path: Path) -> None:
    cohort = tmp_path / "c.ndjson"
    assert runner.invoke(app, ["synth", "--n", "20", "--seed", "1", "--out", str(cohort)]).exit_code == 0
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    assert "not a readable Parquet file" in _one_line_error(
        runner.invoke(app, ["cohort", "audit", str(empty), "--out", str(tmp_path / "a1")])
    )
    truncated = tmp_path / "t.ndjson.gz"
    import gzip

    truncated.write_bytes(gzip.compress(cohort.read_bytes())[:200])
    assert "damaged or not gzip" in _one_line_error(
        runner.invoke(app, ["cohort", "audit", str(truncated), "--out", str(tmp_path / "a2")])
    )
    assert "is the cohort file" in _one_line_error(
        runner.invoke(app, ["cohort", "audit", str(cohort), "--out", str(cohort)])
    )
    assert "No such file" in _one_line_error(
        runner.invoke(app, ["synth", "--n", "5", "--out", str(tmp_path / "no" / "dir" / "s.ndjson")])
    )
    assert "is a directory" in _one_line_error(
        runner.invoke(app, ["synth", "--n", "5", "--out", str(tmp_path)])
    )
    assert "cannot write" in _one_line_error(
        runner.invoke(app, ["synth", "--n", "5", "--out", str(tmp_path / "no" / "s.parquet")])
    )
    assert "no knowledge for nccn-net 9.9" in _one_line_error(
        runner.invoke(app, ["cohort", "sql", "--guideline-version", "9.9"])
    )
    assert "available: 5.2024" in _one_line_error(
        runner.invoke(app, ["evaluate", "examples/patients/five_lines.json", "--guideline-version", "9.9"])
    )
    assert runner.invoke(app, ["cohort", "diff", str(cohort), "--from", "5.2024", "--to", "5.2024",
                               "--limit", "-1"]).exit_code == 2  # fmt: skip


def test_a_gz_name_writes_gzip_that_audits_like_the_plain_file(tmp_path: Path) -> None:
    plain, packed = tmp_path / "c.ndjson", tmp_path / "c.ndjson.gz"
    for f in (plain, packed):
        assert runner.invoke(app, ["synth", "--n", "30", "--seed", "4", "--out", str(f)]).exit_code == 0
    assert packed.read_bytes()[:2] == b"\x1f\x8b"  # gzip magic: the name is honoured
    outs = []
    for f in (plain, packed):
        res = runner.invoke(
            app, ["cohort", "audit", str(f), "--out", str(tmp_path / f.name.replace(".", "_"))]
        )
        assert res.exit_code == 0, res.output
        summary = json.loads((tmp_path / f.name.replace(".", "_") / "summary.json").read_text())
        outs.append({k: v for k, v in summary.items() if not (isinstance(v, str) and f.name in v)})
    assert outs[0] == outs[1] and outs[0]["rows_in"] == 30


def test_summary_csv_holds_the_run_and_the_concordance_share_and_counts_duplicates(tmp_path: Path) -> None:
    """summary.csv carries what summary.json does for a reader of the CSV alone: the run (guideline release,
    rows in = results + rejects), the concordance share with its numerator and denominator; an unknown
    (no decision date) is an empty cell, not 'None'. Decision points repeating a patient id, decision date
    and regimen are each audited and counted, and the summary and the closing lines say how many."""
    from netcds.cohort.synth import synth_records

    records = list(synth_records(40, seed=3))
    records[5] = {**records[5], "decision": {"regimen": records[5]["decision"]["regimen"]}}  # no date
    lines = [json.dumps(r) for r in records]
    lines += [lines[1], lines[1], lines[2], lines[5]]  # 1 twice more, 2 once more; 5 has no date: not counted
    lines.append(json.dumps({**records[3], "decision": {**records[3]["decision"], "regimen": "other"}}))
    lines.append('{"tumor": {"primary_site": "ileum"}, "decision": {"regimen": "aspirin"}}')  # a reject
    cohort = tmp_path / "c.ndjson"
    cohort.write_text("\n".join(lines) + "\n")
    out = tmp_path / "audit"
    res = runner.invoke(app, ["cohort", "audit", str(cohort), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "46 rows in = 45 results + 1 rejects" in res.stdout
    assert "3 duplicate decision points" in res.stdout and "5 rows in 2 groups" in res.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["duplicates"] == {
        "key": ["patient_id", "decision_date", "decision_regimen"],
        "groups": 2,
        "rows": 5,
        "repeats": 3,
    }
    assert sum(summary["verdict_counts"].values()) == 45  # duplicates are counted, not dropped
    with (out / "summary.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    meta = {r["group"]: r["n"] for r in rows if r["section"] == "meta"}
    assert meta["guideline_release"] == summary["guideline"]["release"] == "5.2024-r13"
    assert (meta["rows_in"], meta["results"], meta["rejects"]) == ("46", "45", "1")
    assert (meta["duplicate_groups"], meta["duplicate_rows"], meta["duplicate_repeats"]) == ("2", "5", "3")
    conc = {(r["group"], r["verdict"]): r["n"] for r in rows if r["section"] == "concordance"}
    c = summary["concordance"]
    assert conc[("share", "")] == str(c["share"])
    assert conc[("numerator", "concordant")] == str(c["numerator"])
    assert conc[("denominator", "concordant + listed_not_eligible + not_listed")] == str(c["denominator"])
    assert {v: int(conc[("not_counted", v)]) for v in c["not_counted"]} == c["not_counted"]
    years = [r["group"] for r in rows if r["section"] == "by_year"]
    assert "" in years and "None" not in years
    assert "None" not in (out / "summary.csv").read_text()


def test_report_shows_the_concordance_share_by_setting_year_and_site(tmp_path: Path) -> None:
    """Beside the whole cohort's share, the report gives each setting's, year's and site's (numerator /
    denominator / share, counted like the whole share); the by-year plot of verdict shares is labelled so
    that it is not read as the concordance share, and the tier/category plot has a value axis label."""
    from netcds.cohort.report import CONCORDANCE_DENOMINATOR

    cohort = tmp_path / "c.ndjson"
    assert runner.invoke(app, ["synth", "--n", "300", "--seed", "3", "--out", str(cohort)]).exit_code == 0
    out = tmp_path / "audit"
    assert runner.invoke(app, ["cohort", "audit", str(cohort), "--out", str(out)]).exit_code == 0
    summary = json.loads((out / "summary.json").read_text())
    html = (out / "report.html").read_text()
    for section, key, label in (("by_year", "year", "year"), ("by_site", "primary_site", "primary site")):
        assert f"<th>{label}</th><th>concordant (numerator)</th><th>settled (denominator)</th>" in html
        groups: dict[str, list[int]] = {}
        for r in summary[section]:
            g = groups.setdefault(str(r[key] or "no date"), [0, 0])
            g[0] += r["n"] if r["verdict"] == "concordant" else 0
            g[1] += r["n"] if r["verdict"] in CONCORDANCE_DENOMINATOR else 0
        for group, (num, den) in groups.items():
            share = f"{num / den:.1%}" if den else "-"
            assert f"<td>{group}</td><td>{num}</td><td>{den}</td><td>{share}</td>" in html, group
    assert "<th>setting (table / column)</th><th>concordant (numerator)</th>" in html
    assert "<td>gi_wd_g12</td>" in html
    assert (
        "<!-- Share of each verdict among the year's decision points (not the concordance share) -->" in html
    )
    assert "<!-- share of the year's decision points -->" in html
    chosen = html[html.index("<h2>Tier and category") : html.index("<h2>Top discordance reasons</h2>")]
    assert chosen.count("<!-- decision points -->") == 2
