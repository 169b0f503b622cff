"""The cohort commands under interruption and careless input: an audit's outputs appear all together or not
at all (Ctrl-C, SIGTERM, a run that fails half way), synth never leaves a truncated file, bounded numbers,
options that do not apply are refused, ``cohort sql --source`` is a name and never SQL text, and the hints
name what the command has."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcds.cli import app
from netcds.cohort.synth import synth_records, write_cohort

runner = CliRunner()
OLD = ("decisions.parquet", "rejects.ndjson", "summary.json", "summary.csv", "report.html")
DIFF = ["--from", "5.2024", "--to", "5.2024-r4"]


def error_line(res: object, code: int = 2) -> str:
    """Exit ``code`` with exactly one ``error:`` line as the whole of stderr, never a traceback."""
    text, stderr = getattr(res, "output", ""), getattr(res, "stderr", "")
    assert getattr(res, "exit_code", None) == code, text
    assert "Traceback" not in text, text
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), repr(stderr)
    return lines[0]


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    path = tmp_path / "c.ndjson"
    write_cohort(synth_records(12, seed=5), path)
    return path


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cohort an audit takes a few seconds over: interrupted mid-run."""
    path = tmp_path_factory.mktemp("big") / "big.ndjson"
    write_cohort(synth_records(20_000, seed=1), path)
    return path


def earlier_outputs(out: Path) -> dict[str, str]:
    """``out`` as an earlier complete audit left it (stand-in contents), with a file of the user's."""
    out.mkdir(parents=True)
    for name in OLD:
        (out / name).write_text(f"earlier {name}\n")
    (out / "notes.txt").write_text("mine\n")
    return snapshot(out)


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(errors="replace") for p in sorted(folder.iterdir()) if p.is_file()} | {
        p.name + "/": "" for p in folder.iterdir() if p.is_dir()
    }


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".partial-" in p.name)


def interrupt_when(args: list[str], ready: Callable[[], bool], sig: int, tmp_path: Path) -> tuple[int, str]:
    """Start ``netcds ARGS``, send ``sig`` once ``ready()`` (the run is under way), return the exit code and
    stderr. Skips (never flakes) when the run ended before the signal could be sent."""
    err = tmp_path / "stderr.txt"
    with err.open("w") as fh:
        p = subprocess.Popen(
            [sys.executable, "-m", "netcds.cli", *args],
            stdout=subprocess.DEVNULL,
            stderr=fh,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        deadline = time.monotonic() + 30
        while not ready() and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if p.poll() is not None:
            pytest.skip("the run ended before it could be interrupted")
        if time.monotonic() >= deadline:
            p.kill()
            p.wait()
            pytest.skip("the run did not get under way in 30 s (a slow machine)")
        time.sleep(0.2)
        p.send_signal(sig)
        rc = p.wait(timeout=60)
    return rc, err.read_text()


# --- 1. an audit's outputs: all together or not at all ---------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_audit_leaves_the_earlier_outputs_untouched(
    big: Path, tmp_path: Path, sig: int
) -> None:
    out = tmp_path / "audit"
    before = earlier_outputs(out)

    def under_way() -> bool:  # this run's temporary folder (or, before the fix, --out/_work) is there
        return bool(leftovers(tmp_path)) or (out / "_work").exists()

    rc, stderr = interrupt_when(["cohort", "audit", str(big), "--out", str(out)], under_way, sig, tmp_path)
    if rc == 0:
        pytest.skip("the run completed before the signal")
    assert rc == 128 + sig, stderr
    assert stderr.splitlines()[-1].startswith("interrupted: nothing written"), stderr
    assert "Traceback" not in stderr, stderr
    assert snapshot(out) == before  # no new rejects.ndjson beside old results, no _work
    assert leftovers(tmp_path) == []


def test_an_audit_that_fails_half_way_leaves_the_earlier_outputs_untouched(
    cohort: Path, tmp_path: Path
) -> None:
    damaged = tmp_path / "d.ndjson.gz"  # the format checks pass; reading stops half way
    damaged.write_bytes(gzip.compress(cohort.read_bytes() * 50)[:3000])
    out = tmp_path / "audit"
    before = earlier_outputs(out)
    line = error_line(runner.invoke(app, ["cohort", "audit", str(damaged), "--out", str(out)]))
    assert "damaged or not gzip" in line
    assert snapshot(out) == before and leftovers(tmp_path) == []


def test_a_complete_audit_replaces_the_earlier_set_and_keeps_other_files(
    cohort: Path, tmp_path: Path
) -> None:
    out = tmp_path / "audit"
    earlier_outputs(out)
    (out / "_work").mkdir()  # left by a run killed before this version
    (out / "_work" / "canonical.ndjson").write_text("{}\n")
    res = runner.invoke(app, ["cohort", "audit", str(cohort), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == sorted([*OLD, "notes.txt"])
    assert (out / "notes.txt").read_text() == "mine\n"
    assert json.loads((out / "summary.json").read_text())["rows_in"] == 12
    assert (out / "decisions.parquet").read_bytes()[:4] == b"PAR1"
    assert leftovers(tmp_path) == []
    new = tmp_path / "new" / "audit"  # a new --out (and its parent) is created whole
    assert runner.invoke(app, ["cohort", "audit", str(cohort), "--out", str(new)]).exit_code == 0
    assert sorted(p.name for p in new.iterdir()) == sorted(OLD) and leftovers(new.parent) == []


# --- 2. synth: no truncated file -------------------------------------------------------------------------------
def test_an_interrupted_synth_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "s.ndjson"
    target.write_text("earlier\n")

    def under_way() -> bool:  # the temporary file (or, before the fix, the target itself) is being written
        return bool(leftovers(tmp_path)) or target.stat().st_size != len("earlier\n")

    args = ["synth", "--n", "2000000", "--out", str(target)]
    rc, stderr = interrupt_when(args, under_way, signal.SIGINT, tmp_path)
    if rc == 0:
        pytest.skip("synth completed before the signal")
    assert rc == 130, stderr
    assert stderr.splitlines()[-1].startswith("interrupted: nothing written"), stderr
    assert target.read_text() == "earlier\n" and leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["s.ndjson", "s.csv.gz", "s.parquet"])
def test_synth_writes_through_a_temporary_name(tmp_path: Path, name: str) -> None:
    res = runner.invoke(app, ["synth", "--n", "7", "--out", str(tmp_path / name)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_synth_csv_is_the_same_as_before(tmp_path: Path) -> None:
    """CSV rows wait in a temporary file, not in memory: the header (every column, in the order first seen)
    and the cells are as they were."""
    import csv

    from netcds.cohort.synth import flatten_record

    path = tmp_path / "s.csv"
    write_cohort(synth_records(300, seed=4), path)
    rows = [flatten_record(r) for r in synth_records(300, seed=4)]
    header = list(dict.fromkeys(k for r in rows for k in r))
    with path.open(newline="") as fh:
        got = list(csv.reader(fh))
    assert got[0] == header and len(got) == 301
    cell = {True: "true", False: "false", None: ""}
    first = [cell.get(rows[0].get(k), str(rows[0].get(k))) if k in rows[0] else "" for k in header]
    assert got[1] == first


# --- 3. bounded numbers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", ["100000000000000000000000", "1000000001", "-1"])
def test_synth_n_is_bounded(tmp_path: Path, n: str) -> None:
    out = tmp_path / "no" / "s.ndjson"  # before the fix: refused only for the folder (or written for ever)
    line = error_line(runner.invoke(app, ["synth", "--n", n, "--out", str(out)]))
    assert line == f"error: --n must be a whole number from 0 to 1_000_000_000 (got {n})"


def test_diff_limit_is_bounded(cohort: Path) -> None:
    res = runner.invoke(app, ["cohort", "diff", str(cohort), *DIFF, "--limit", "99999999999999999999999"])
    assert error_line(res).startswith("error: --limit must be a whole number from 0 to 1_000_000")
    assert "islice" not in res.output


@pytest.mark.parametrize("option", ["--off-guideline", "--missing"])
@pytest.mark.parametrize("value", ["nan", "inf", "1.5", "-0.1"])
def test_synth_shares_are_numbers_from_0_to_1(tmp_path: Path, option: str, value: str) -> None:
    res = runner.invoke(app, ["synth", "--n", "3", option, value, "--out", str(tmp_path / "s.ndjson")])
    assert error_line(res).startswith(f"error: {option} must be a number from 0 to 1 (got ")
    assert not (tmp_path / "s.ndjson").exists()


# --- 4. options that do not apply -----------------------------------------------------------------------------
def test_master_with_duckdb_is_refused(cohort: Path, tmp_path: Path) -> None:
    args = ["cohort", "audit", str(cohort), "--out", str(tmp_path / "o"), "--master", "local"]
    assert error_line(runner.invoke(app, args)).startswith("error: --master applies to --engine spark")
    assert not (tmp_path / "o").exists()


# --- 6. a full disk is the environment: exit 1, the file named ------------------------------------------------
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_diff_out_on_a_full_disk_names_the_file_and_exits_1(cohort: Path) -> None:
    res = runner.invoke(app, ["cohort", "diff", str(cohort), *DIFF, "--out", "/dev/full"])
    assert error_line(res, 1) == "error: /dev/full: cannot write: No space left on device"


# --- 7. cohort sql --source: a name, never SQL text -----------------------------------------------------------
@pytest.mark.parametrize(
    "source", ["decisions; DROP TABLE x; --", "x)--", "a b", "'unclosed", "(SELECT 1)", 'a."b', "1abc"]
)
def test_sql_source_that_is_not_a_name_is_refused(source: str) -> None:
    res = runner.invoke(app, ["cohort", "sql", "--source", source])
    assert error_line(res).startswith("error: --source must name the relation")
    assert res.stdout == ""


@pytest.mark.parametrize(
    "source", ["decisions", "main.decisions", '"my rows"', '"a""b".c', "'/data/c.parquet'", "parquet.`/d/x`"]
)
def test_sql_source_names_and_quoted_paths_are_used_as_given(source: str) -> None:
    res = runner.invoke(app, ["cohort", "sql", "--source", source])
    assert res.exit_code == 0, res.output
    assert f"FROM {source}\n" in res.stdout


# --- 8. hints that name what the command has ------------------------------------------------------------------
@pytest.mark.parametrize("command", [["audit", "-", "--out", "x"], ["diff", "-", *DIFF]])
def test_stdin_is_named_as_not_supported(command: list[str], tmp_path: Path) -> None:
    res = runner.invoke(app, ["cohort", *command])
    assert "standard input is not supported for cohorts" in error_line(res)
    assert not Path("x").exists()


def test_diff_has_the_input_format_its_hint_names(cohort: Path, tmp_path: Path) -> None:
    txt = tmp_path / "c.txt"
    txt.write_bytes(cohort.read_bytes())
    assert "give --input-format" in error_line(runner.invoke(app, ["cohort", "diff", str(txt), *DIFF]))
    res = runner.invoke(app, ["cohort", "diff", str(txt), *DIFF, "--input-format", "ndjson"])
    assert res.exit_code == 0, res.output
    assert "(12 rows in = 12 compared + 0 rejects)" in " ".join(res.stdout.split())


def test_audit_errors_are_one_line_without_a_blank_line_before(tmp_path: Path) -> None:
    for cohort in (tmp_path / "missing.ndjson", tmp_path / "c.txt"):
        if cohort.suffix == ".txt":
            cohort.write_text("{}\n")
        res = runner.invoke(app, ["cohort", "audit", str(cohort), "--out", str(tmp_path / "o")])
        assert res.stderr.startswith("error: "), repr(res.stderr)
        error_line(res)


def test_an_empty_cohort_warns(tmp_path: Path) -> None:
    empty = tmp_path / "empty.ndjson"
    empty.write_bytes(b"")
    res = runner.invoke(app, ["cohort", "audit", str(empty), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert f"warning: {empty} holds no rows: nothing was audited" in res.stderr


def test_a_cohort_whose_every_row_is_rejected_warns_with_the_count(cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    res = runner.invoke(app, ["cohort", "audit", str(cohort), "--out", str(out), "--input-format", "csv"])
    assert res.exit_code == 0, res.output  # README defines no exit code for rejects: outputs kept, a warning
    warning = [ln for ln in res.stderr.splitlines() if ln.startswith("warning: ")]
    assert len(warning) == 1 and f"every row of {cohort} (11) was rejected" in warning[0], res.stderr
    assert str(out / "rejects.ndjson") in warning[0] and (out / "rejects.ndjson").exists()
    res = runner.invoke(app, ["cohort", "diff", str(cohort), *DIFF, "--input-format", "csv"])
    assert res.exit_code == 0 and "none compared" in res.stderr, res.output


def test_a_cohort_beside_the_outputs_stays_as_it_was(cohort: Path, tmp_path: Path) -> None:
    """A cohort file beside the outputs (--out is its folder) is audited, and stays as it was."""
    data = cohort.read_bytes()
    res = runner.invoke(app, ["cohort", "audit", str(cohort), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert cohort.read_bytes() == data and (tmp_path / "summary.json").exists()
    assert leftovers(tmp_path) == [] and leftovers(tmp_path.parent) == []
