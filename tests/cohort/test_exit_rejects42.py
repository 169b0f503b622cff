"""Exit codes and rejects (docs/cohort.md, exit codes): a run with rejected rows exits 0 by default and
says how many and where; ``--fail-on-rejects`` makes it exit 3 (neither 2, a wrong invocation or input, nor
1) after every output is written, with one ``error:`` line; a run without rejects exits 0 with or without
it. The same for ``cohort audit`` and ``cohort diff``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcds.cli import app
from netcds.cohort.audit import OUTPUTS
from netcds.cohort.synth import synth_records, write_cohort

runner = CliRunner()
FIXTURES = Path(__file__).parent.parent / "fixtures" / "knowledge"
EXIT_REJECTS = 3  # documented (docs/cohort.md, exit codes)
DIFF = ["--from", "5.2024", "--to", "0.0-diff", "--to-root", str(FIXTURES)]


@pytest.fixture
def with_rejects(tmp_path: Path) -> Path:
    path = tmp_path / "c.ndjson"
    write_cohort(synth_records(10, seed=3), path)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("{bad\n")
        fh.write('{"tumor": {"primary_site": "ileum"}}\n')
    return path


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    path = tmp_path / "ok.ndjson"
    write_cohort(synth_records(10, seed=3), path)
    return path


def _text(s: str) -> str:
    return " ".join(s.split())


def test_exit_3_is_the_constant_the_command_uses() -> None:
    from netcds.cohort import cli

    assert getattr(cli, "EXIT_REJECTS", None) == EXIT_REJECTS


def test_audit_with_rejects_exits_0_by_default_and_says_how_many_and_where(
    with_rejects: Path, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    res = runner.invoke(app, ["cohort", "audit", str(with_rejects), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (
        f"rejects: 2 rows not audited, each with its row, file, line and reason in {out}/rejects.ndjson"
        in (_text(res.stdout))
    ), res.stdout
    assert "error:" not in res.stderr


def test_audit_fail_on_rejects_exits_3_after_writing_every_output(with_rejects: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    res = runner.invoke(app, ["cohort", "audit", str(with_rejects), "--out", str(out), "--fail-on-rejects"])
    assert res.exit_code == EXIT_REJECTS, res.output
    assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error: ")]
    assert errors == [f"error: 2 of 12 rows rejected (--fail-on-rejects); see {out}/rejects.ndjson"], (
        res.stderr
    )
    assert all((out / name).exists() for name in OUTPUTS if name != "_work")
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["rows_in"], summary["results"], summary["rejects"]) == (12, 10, 2)
    assert len((out / "rejects.ndjson").read_text().splitlines()) == 2
    assert "rejects: 2 rows not audited" in _text(res.stdout)


def test_audit_without_rejects_exits_0_with_the_option(clean: Path, tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["cohort", "audit", str(clean), "--out", str(tmp_path / "o"), "--fail-on-rejects"]
    )
    assert res.exit_code == 0, res.output
    assert "rejects: none" in res.stdout


def test_diff_fail_on_rejects_exits_3_after_writing_both_files(with_rejects: Path, tmp_path: Path) -> None:
    changes, rejects = tmp_path / "changes.ndjson", tmp_path / "rejects.ndjson"
    args = ["cohort", "diff", str(with_rejects), *DIFF, "--out", str(changes), "--rejects", str(rejects)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, [*args, "--fail-on-rejects"])
    assert res.exit_code == EXIT_REJECTS, res.output
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error: ")]
    assert errors == [f"error: 2 of 12 rows rejected (--fail-on-rejects); see {rejects}"], res.stderr
    assert changes.exists() and len(rejects.read_text().splitlines()) == 2
    res = runner.invoke(app, ["cohort", "diff", str(with_rejects), *DIFF, "--fail-on-rejects"])
    assert res.exit_code == EXIT_REJECTS, res.output
    assert "see above" in res.stderr and "2 rows rejected, not compared" in _text(res.stdout)


def test_diff_without_rejects_says_so_and_exits_0(clean: Path) -> None:
    res = runner.invoke(app, ["cohort", "diff", str(clean), *DIFF, "--fail-on-rejects"])
    assert res.exit_code == 0, res.output
    assert "rejects: none" in res.stdout
