"""Wrong inputs to the cohort commands: one ``error:`` line naming the file, option or knowledge root, exit 2,
nothing read as something it is not, no option silently ignored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcds.cli import app
from netcds.cohort.synth import synth_records, write_cohort
from netcds.knowledge.load import available_versions, default_knowledge_dir

runner = CliRunner()


def one_error_line(res: object) -> str:
    """Exit 2 with one ``error:`` line on stderr, never a traceback."""
    text = getattr(res, "output", "")
    assert getattr(res, "exit_code", None) == 2, text
    assert isinstance(getattr(res, "exception", None), SystemExit) and "Traceback" not in text, text
    errors = [ln for ln in getattr(res, "stderr", "").splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, text
    return errors[0]


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    path = tmp_path / "c.ndjson"
    write_cohort(synth_records(12, seed=5), path)
    return path


# --- 4. the knowledge root: named, with what it holds; broken knowledge is a wrong input too -----------------
def test_a_knowledge_root_without_the_version_is_named_with_what_it_holds(
    tmp_path: Path, cohort: Path
) -> None:
    audit = ["cohort", "audit", str(cohort), "--out", str(tmp_path / "o")]
    line = one_error_line(runner.invoke(app, [*audit, "--knowledge-root", str(tmp_path / "nonexist")]))
    assert line.endswith(f"the knowledge root {tmp_path / 'nonexist'} does not exist"), line
    assert "available" not in line and ", ".join(available_versions()) not in line  # not the bundled ones
    line = one_error_line(runner.invoke(app, [*audit, "--knowledge-root", str(cohort)]))
    assert line.endswith(f"the knowledge root {cohort} is not a directory"), line
    root = tmp_path / "kb"
    (root / "nccn-net").mkdir(parents=True)
    line = one_error_line(runner.invoke(app, [*audit, "--knowledge-root", str(root)]))
    assert line.endswith(f"the knowledge root {root} holds no nccn-net version"), line
    shutil.copytree(default_knowledge_dir() / "nccn-net" / "5.2024-r2", root / "nccn-net" / "5.2024-r2")
    for args in (
        audit,
        ["cohort", "sql"],
        ["cohort", "diff", str(cohort), "--from", "5.2024-r2", "--to", "5.2024"],
    ):
        line = one_error_line(runner.invoke(app, [*args, "--knowledge-root", str(root)]))
        assert f"in {root} (available: 5.2024-r2)" in line, line
    assert not (tmp_path / "o").exists()


def test_broken_knowledge_under_a_root_is_one_line_exit_2(tmp_path: Path, cohort: Path) -> None:
    folder = tmp_path / "kb" / "nccn-net" / "5.2024"
    shutil.copytree(default_knowledge_dir() / "nccn-net" / "5.2024", folder)
    gi = folder / "tables" / "gi.yaml"
    gi.write_text(gi.read_text().replace("regimen: everolimus", "regimen: evero", 1))
    root = ["--knowledge-root", str(tmp_path / "kb"), "--guideline-version", "5.2024"]
    for args in (["cohort", "audit", str(cohort), "--out", str(tmp_path / "o")], ["cohort", "sql"]):
        line = one_error_line(runner.invoke(app, [*args, *root]))
        assert line.startswith(f"error: knowledge {folder}: tables/gi.yaml: columns[0].entries[1]"), line
        assert "unknown regimen id 'evero'" in line and f"netcds kb validate {folder}" in line


# --- 6. synth writes what the name says, or refuses -----------------------------------------------------------
@pytest.mark.parametrize("name", ["g.parquet.gz", "g.pq.gz", "g.txt", "g.ndjson.zip"])
def test_synth_refuses_a_name_whose_format_it_cannot_write(tmp_path: Path, name: str) -> None:
    line = one_error_line(runner.invoke(app, ["synth", "--n", "5", "--out", str(tmp_path / name)]))
    assert "cannot write this format" in line and ".ndjson" in line and ".parquet" in line and ".gz" in line
    assert not (tmp_path / name).exists()


def test_synth_gzips_csv_and_ndjson_as_named(tmp_path: Path) -> None:
    for name in ("g.csv.gz", "g.jsonl.gz"):
        assert runner.invoke(app, ["synth", "--n", "5", "--out", str(tmp_path / name)]).exit_code == 0
        assert (tmp_path / name).read_bytes()[:2] == b"\x1f\x8b"


# --- 7. a directory of part files is one format, or is read as told, every row counted ----------------------
def _mixed(tmp_path: Path) -> tuple[Path, Path]:
    """mixed/: a.ndjson + b.csv; csvdir/: x.csv + y.txt holding NDJSON lines (3 records each file)."""
    mixed, csvdir = tmp_path / "mixed", tmp_path / "csvdir"
    mixed.mkdir()
    csvdir.mkdir()
    write_cohort(synth_records(3, seed=1), mixed / "a.ndjson")
    write_cohort(synth_records(3, seed=2), mixed / "b.csv")
    write_cohort(synth_records(3, seed=1), csvdir / "x.csv")
    write_cohort(synth_records(3, seed=2), csvdir / "y.ndjson")
    (csvdir / "y.ndjson").rename(csvdir / "y.txt")
    return mixed, csvdir


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_a_directory_of_mixed_or_unknown_part_files_is_refused(tmp_path: Path, engine: str) -> None:
    if engine == "spark":
        pytest.importorskip("pyspark")  # refused before Spark starts: both backends read the same check
    mixed, csvdir = _mixed(tmp_path)
    audit = ["cohort", "audit", "--engine", engine, "--out", str(tmp_path / "o")]
    line = one_error_line(runner.invoke(app, [*audit, str(mixed)]))
    assert "part files of more than one format (csv: b.csv; ndjson: a.ndjson)" in line
    line = one_error_line(runner.invoke(app, [*audit, str(csvdir)]))
    assert "cannot tell the format of the part file(s) y.txt" in line and "--input-format" in line
    # told to read y.txt as CSV, its first record would be a header and vanish from the count
    line = one_error_line(runner.invoke(app, [*audit, str(csvdir), "--input-format", "csv"]))
    assert "the CSV header of y.txt differs from that of x.csv (column 1 is '{" in line
    line = one_error_line(runner.invoke(app, [*audit, str(mixed), "--input-format", "parquet"]))
    assert "a.ndjson: not a readable Parquet file" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_a_csv_header_naming_a_column_twice_is_refused(tmp_path: Path, engine: str) -> None:
    """Which of two cells under one column name holds the value is unknown (like a JSON key given twice):
    the file, or a directory of such part files, is refused naming the column, never read last-one-wins."""
    if engine == "spark":
        pytest.importorskip("pyspark")  # refused before Spark starts, like DuckDB
    text = "id,tumor.primary_site,tumor.grade,decision.regimen,tumor.grade\np1,ileum,G1,everolimus,G3\n"
    single = tmp_path / "dup.csv"
    single.write_text(text, encoding="utf-8")
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "a.csv").write_text(text, encoding="utf-8")
    (parts / "b.csv").write_text(text, encoding="utf-8")
    for cohort, name in ((single, "dup.csv"), (parts, "a.csv")):
        out = tmp_path / f"o-{cohort.name}"
        res = runner.invoke(app, ["cohort", "audit", str(cohort), "--engine", engine, "--out", str(out)])
        line = one_error_line(res)
        assert name in line and "names the column 'tumor.grade' twice (columns 3 and 5)" in line
        assert not out.exists()


def test_told_how_to_read_a_mixed_directory_every_line_is_a_row(tmp_path: Path) -> None:
    mixed, csvdir = _mixed(tmp_path)
    for cohort, bad in ((csvdir, "x.csv"), (mixed, "b.csv")):
        out = tmp_path / f"o-{cohort.name}"
        res = runner.invoke(
            app, ["cohort", "audit", str(cohort), "--out", str(out), "--input-format", "ndjson"]
        )
        assert res.exit_code == 0, res.output
        assert "7 rows in = 3 results + 4 rejects" in res.stdout  # the CSV header and 3 lines are rejects
        rejects = [json.loads(x) for x in (out / "rejects.ndjson").read_text().splitlines()]
        assert [(r["file"], r["line"]) for r in rejects] == [(bad, n) for n in (1, 2, 3, 4)]


def test_spark_reads_a_mixed_directory_told_how_like_duckdb(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    from netcds.cohort.audit import run_audit
    from netcds.knowledge.load import load_knowledge

    kb = load_knowledge()
    _, csvdir = _mixed(tmp_path)
    runs = {e: run_audit(str(csvdir), tmp_path / e, kb, e, "local[1]", "ndjson") for e in ("duckdb", "spark")}
    assert [(r.rows_in, r.results, r.rejects) for r in runs.values()] == [(7, 3, 4)] * 2
    assert (tmp_path / "duckdb" / "rejects.ndjson").read_text() == (
        tmp_path / "spark" / "rejects.ndjson"
    ).read_text()


# --- 8. --results-uri is Spark's ------------------------------------------------------------------------------
def test_results_uri_with_duckdb_is_refused_not_ignored(tmp_path: Path, cohort: Path) -> None:
    args = [
        "cohort",
        "audit",
        str(cohort),
        "--out",
        str(tmp_path / "o"),
        "--results-uri",
        str(tmp_path / "r"),
    ]
    assert one_error_line(runner.invoke(app, args)).startswith(
        "error: --results-uri applies to --engine spark"
    )
    assert not (tmp_path / "o").exists() and not (tmp_path / "r").exists()


# --- 10. cohort sql --source ----------------------------------------------------------------------------------
@pytest.mark.parametrize("source", ["", "  "])
def test_sql_needs_a_source_relation(source: str) -> None:
    res = runner.invoke(app, ["cohort", "sql", "--source", source])
    assert one_error_line(res).startswith("error: --source must name") and res.stdout == ""


def test_unknown_input_format_and_unwritable_diff_output_are_named_before_any_work(
    tmp_path: Path, cohort: Path
) -> None:
    line = one_error_line(
        runner.invoke(
            app, ["cohort", "audit", str(cohort), "--out", str(tmp_path / "o"), "--input-format", "xml"]
        )
    )
    assert line == "error: --input-format: unknown cohort format 'xml' (one of ndjson, parquet, csv)"
    diff = ["cohort", "diff", str(cohort), "--from", "5.2024", "--to", "5.2024-r2", "--out"]
    assert "is a directory" in one_error_line(runner.invoke(app, [*diff, str(tmp_path)]))
    assert "does not exist" in one_error_line(runner.invoke(app, [*diff, str(tmp_path / "no" / "d.ndjson")]))
