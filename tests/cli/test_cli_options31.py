"""A single-valued option given twice is refused by every netcds command (exit 2, naming the option), in
any spelling; options meant to repeat (``--what-if``) keep working. Click alone keeps the last value."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
import typer.main
from typer.core import TyperCommand, TyperOption
from typer.testing import CliRunner

from netcds.cli import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "patients" / "small_bowel_after_ssa.json")
runner = CliRunner()


def _flat(text: str) -> str:
    """The output as one line: a usage error's box drawn around it and its wrapping removed."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def _refused(res: Any, option: str) -> str:
    text = _flat(res.output)
    assert res.exit_code == 2, text
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    assert f"'{option}'" in text and "given more than once" in text, text
    return text


def _evaluate_json(*args: str) -> Any:
    """``netcds evaluate EXAMPLE -f json`` with ``args`` after it."""
    return runner.invoke(app, ["evaluate", EXAMPLE, "-f", "json", *args])


# --- the reviewer's cases ----------------------------------------------------------------------------------
def test_check_refuses_agent_given_twice() -> None:
    res = runner.invoke(app, ["check", EXAMPLE, "--agent", "cabozantinib", "--agent", "everolimus"])
    _refused(res, "--agent")
    assert "safety screen" not in res.output  # nothing screened, neither agent


def test_evaluate_refuses_guideline_version_given_twice() -> None:
    res = _evaluate_json("--guideline-version", "5.2024", "--guideline-version", "5.2024-r8")
    assert "which of those given is meant is not known" in _refused(res, "--guideline-version")
    assert '"guideline"' not in res.output


@pytest.mark.parametrize(
    "spelling",
    [
        ["--format", "json", "--format", "text"],
        ["--format=json", "--format", "json"],
        ["-f", "json", "--format", "text"],
        ["--format", "text", "-f", "json"],
        ["-fjson", "-f", "text"],
        ["-f", "json", "-f", "json"],  # the same value twice too: one option, one value
    ],
)
def test_every_spelling_of_one_option_counts(spelling: list[str]) -> None:
    _refused(runner.invoke(app, ["evaluate", EXAMPLE, *spelling]), "--format")


def test_a_flag_given_twice_is_refused_too() -> None:
    res = runner.invoke(app, ["evaluate", EXAMPLE, "-v", "--verbose"])
    assert "which of those" not in _refused(res, "--verbose")


def test_repeatable_options_keep_repeating() -> None:
    res = _evaluate_json("--what-if", "tumor.sstr_status=negative", "--what-if", "tumor.ki67_percent=5")
    assert res.exit_code == 0, res.output
    said = {a["path"] for a in json.loads(res.stdout)["assignments"]}
    assert said == {"tumor.sstr_status", "tumor.ki67_percent"}


def test_options_given_once_still_work() -> None:
    res = runner.invoke(app, ["check", EXAMPLE, "--agent", "everolimus", "-f", "json"])
    assert res.exit_code == 0, res.output


# --- every command of the app, however it was registered (kb, evaluations, safety, cohort, serve ...) --------
def _leaves(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    subs = getattr(command, "commands", None)
    if not subs:
        return [(path, command)]
    return [leaf for name, sub in subs.items() for leaf in _leaves(sub, [*path, name])]


def _single_valued() -> list[tuple[list[str], TyperOption]]:
    out = []
    for path, command in _leaves(typer.main.get_command(app), []):
        for param in command.params:
            if isinstance(param, TyperOption) and not param.multiple and not param.count:
                out.append((path, param))
    return out


SINGLE = _single_valued()


def test_the_walk_finds_the_commands_of_every_layer() -> None:
    commands = {" ".join(path) for path, _ in SINGLE}
    assert {"evaluate", "check", "drug", "serve", "synth", "kb show", "evaluations replay"} <= commands
    assert {"cohort audit", "cohort sql", "cohort diff"} <= commands


@pytest.mark.parametrize(("path", "param"), SINGLE, ids=[f"{' '.join(p)} {o.opts[0]}" for p, o in SINGLE])
def test_every_single_valued_option_of_every_command_is_refused_twice(
    path: list[str], param: TyperOption, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused before the command runs: no required argument is needed, nothing is started or written."""
    monkeypatch.chdir(tmp_path)  # anything a command wrongly ran would write lands here
    first = param.opts[0]
    last = param.opts[-1]  # the short form where there is one: -f after --format
    given = [first, first] if param.is_flag else [first, "x", last, "y"]
    # were the rule broken, ``serve`` would stop at this missing config file rather than start a server
    guard = ["--config", str(tmp_path / "absent.toml")] if path == ["serve"] and first != "--config" else []
    res = runner.invoke(app, [*path, *given, *guard])
    _refused(res, first)
    assert list(tmp_path.iterdir()) == []


# --- the rule applies to any Typer app it is given, its groups' own options and custom classes too -----------
class _Shout(TyperCommand):
    """A command class of its own: kept, with the rule added."""

    def invoke(self, ctx: Any) -> Any:
        typer.echo("custom class ran")
        return super().invoke(ctx)


def _toy() -> typer.Typer:
    from netcds.cli_options import refuse_repeated_options

    root = typer.Typer()
    sub = typer.Typer()

    @root.callback()
    def _root(level: Annotated[str, typer.Option("--level")] = "a") -> None:
        """toy root."""

    @sub.command("go", cls=_Shout)
    def _go(name: Annotated[str, typer.Option("--name", "-n")] = "x") -> None:
        typer.echo(f"go {name}")

    root.add_typer(sub, name="sub")
    return refuse_repeated_options(refuse_repeated_options(root))  # twice: harmless


def test_groups_and_custom_command_classes_are_covered() -> None:
    toy = _toy()
    _refused(runner.invoke(toy, ["--level", "a", "--level", "b", "sub", "go"]), "--level")
    _refused(runner.invoke(toy, ["sub", "go", "-n", "a", "--name=b"]), "--name")
    ok = runner.invoke(toy, ["--level", "a", "sub", "go", "-n", "z"])
    assert ok.exit_code == 0, ok.output
    assert "custom class ran" in ok.output and "go z" in ok.output


def test_the_standalone_cohort_command_refuses_it_too(tmp_path: Path) -> None:
    """``cohort/cli.py`` run as a script (spark-submit) builds its own app: the same rule."""
    out = tmp_path / "c.ndjson"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "src" / "netcds" / "cohort" / "cli.py"),
            "synth",
            "--out",
            str(out),
            "--n",
            "1",
            "--n",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "'--n'" in _flat(proc.stderr) and "given more than once" in _flat(proc.stderr)
    assert not out.exists()
