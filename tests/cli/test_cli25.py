"""Review 25: a --what-if field given twice, text that is not a release id, open hooks beyond loopback and
user text echoed raw are wrong input (exit 2, one escaped, capped line), never a silent choice or a knowledge
error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcds.cli import app
from netcds.knowledge.load import available_versions

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "patients" / "small_bowel_after_ssa.json")
NOT_IDS = ["", "5.2024/", "5.2024-r7/../5.2024", "..", "5.2024\x1b[2J"]
HOSTILE = "x\x1b[31mred\u202eevil\n" + "y" * 10_000
runner = CliRunner()


def _one_clean_line(stderr: str, limit: int = 1200) -> None:
    assert stderr.count("\n") == 1 and stderr.startswith("error: "), stderr[:300]
    assert "\x1b" not in stderr and "\u202e" not in stderr and len(stderr) <= limit, stderr[:300]


# 1. --what-if -------------------------------------------------------------------------------------------
def test_a_what_if_field_given_twice_is_refused_not_the_last_taken() -> None:
    res = runner.invoke(
        app, ["evaluate", EXAMPLE, "--what-if", "tumor.grade=G3", "--what-if", "tumor.grade=G1"]
    )
    assert res.exit_code == 2, res.output
    assert res.stderr == "error: --what-if: tumor.grade given twice\n" and res.stdout == ""
    spaced = runner.invoke(
        app, ["evaluate", EXAMPLE, "--what-if", "tumor.grade=G3", "--what-if", " tumor.grade =G3"]
    )
    assert spaced.exit_code == 2 and "tumor.grade given twice" in spaced.stderr


def test_what_if_with_different_fields_still_works() -> None:
    res = runner.invoke(
        app,
        [
            "evaluate",
            EXAMPLE,
            "-f",
            "json",
            "--what-if",
            "tumor.grade=G3",
            "--what-if",
            "tumor.necrosis=true",
        ],
    )
    assert res.exit_code == 0, res.output
    assert [a["path"] for a in json.loads(res.stdout)["assignments"]] == ["tumor.grade", "tumor.necrosis"]


# 3. --guideline-version ---------------------------------------------------------------------------------
@pytest.mark.parametrize("version", NOT_IDS)
@pytest.mark.parametrize(
    "command",
    [["evaluate", EXAMPLE], ["kb", "show"], ["kb", "show", "wd_g3"], ["cohort", "sql"]],
    ids=["evaluate", "kb-show", "kb-show-table", "cohort-sql"],
)
def test_a_guideline_version_that_is_not_a_release_id_exit_2(command: list[str], version: str) -> None:
    res = runner.invoke(app, [*command, "--guideline-version", version])
    assert res.exit_code == 2, res.output
    _one_clean_line(res.stderr)
    shown = version.replace("\x1b", "\\x1b")
    held = ", ".join(available_versions())
    assert res.stderr == f"error: --guideline-version: '{shown}' is not a release id (available: {held})\n"


def test_cohort_diff_names_the_option_that_gave_it(tmp_path: Path) -> None:
    cohort = tmp_path / "c.ndjson"
    cohort.write_text("", encoding="utf-8")
    res = runner.invoke(
        app, ["cohort", "diff", str(cohort), "--from", "5.2024", "--to", "5.2024-r7/../5.2024"]
    )
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("error: --to: '5.2024-r7/../5.2024' is not a release id (available: 5.2024")


def test_serve_names_the_setting_for_a_version_that_is_not_an_id() -> None:
    from netcds.api.cli import startup_problem
    from netcds.settings import Settings

    problem = startup_problem(Settings(db_url="sqlite://", guideline_version="5.2024/"))
    assert problem is not None
    assert problem.startswith("knowledge.version / NETCDS_GUIDELINE_VERSION: '5.2024/' is not a release id")


# 4. open hooks beyond loopback --------------------------------------------------------------------------
# the database is in a folder that does not exist: were the refusal missing, serve would stop there (exit 2,
# another message) instead of serving on the network from the test


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "example.org"])
def test_serve_refuses_open_hooks_beyond_loopback(host: str, tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        ["serve", "--open-hooks", "--host", host, "--db", f"sqlite:///{tmp_path / 'no' / 'n.db'}"],
        env={"NETCDS_CONFIG": None},
    )
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("error: --open-hooks needs a loopback --host (127.0.0.1, ::1 or localhost)")


def test_serve_refuses_open_hooks_from_the_environment_beyond_loopback(tmp_path: Path) -> None:
    env = {"NETCDS_HOOKS_OPEN": "1", "NETCDS_HOST": "0.0.0.0", "NETCDS_CONFIG": None}
    res = runner.invoke(app, ["serve", "--db", f"sqlite:///{tmp_path / 'no' / 'n.db'}"], env=env)
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(
        "error: hooks.open / NETCDS_HOOKS_OPEN needs a loopback server.host / NETCDS_HOST (127.0.0.1, ::1 or"
    )
    cfg = tmp_path / "netcds.toml"
    cfg.write_text(
        f'[server]\nhost = "0.0.0.0"\n\n[store]\nurl = "sqlite:///{tmp_path}/no/n.db"\n', encoding="utf-8"
    )
    res = runner.invoke(app, ["serve", "--config", str(cfg), "--open-hooks"], env={"NETCDS_CONFIG": None})
    assert res.exit_code == 2 and "--open-hooks needs a loopback server.host / NETCDS_HOST" in res.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_open_hooks_on_loopback_is_allowed(host: str) -> None:
    from netcds.api.cli import open_hooks_problem
    from netcds.settings import Settings

    assert open_hooks_problem(Settings(db_url="sqlite://", hooks_open=True, host=host), True, host) is None
    assert open_hooks_problem(Settings(db_url="sqlite://", hooks_open=False, host="0.0.0.0")) is None


# 5. user text echoed ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["drug", HOSTILE],
        ["drug", HOSTILE, "-f", "json"],
        ["check", EXAMPLE, "--agent", HOSTILE],
        ["check", EXAMPLE, "--regimen", HOSTILE],
        ["kb", "show", HOSTILE],
    ],
    ids=["drug", "drug-json", "check-agent", "check-regimen", "kb-show"],
)
def test_user_text_is_escaped_and_capped(args: list[str]) -> None:
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    _one_clean_line(res.stderr)
    assert "x\\x1b[31mred\\u202eevil\\ny" in res.stderr  # shown escaped, so what was typed is visible


def test_the_known_agent_list_is_still_given_in_full() -> None:
    res = runner.invoke(app, ["drug", "nope"])
    assert res.exit_code == 2
    assert "unknown agent 'nope'; one of " in res.stderr and res.stderr.rstrip().endswith("temozolomide")
