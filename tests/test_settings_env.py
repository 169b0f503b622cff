"""An unknown ``NETCDS_*`` environment variable stops the settings load with its name and the closest known
one (a misspelt NETCDS_REQUIRE_TOKEN must not leave the REST API open); every variable the project itself
sets (Makefile, .ci, tests, bench, scripts, src) is known, and docs/configuration.md lists each known one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcds.cli import app
from netcds.settings import KNOWN_ENV, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
_NAME = re.compile(r"NETCDS_[A-Z0-9_]*[A-Z0-9]")


@pytest.mark.parametrize(
    ("name", "closest"),
    [
        ("NETCDS_REQUIRE_TOKEN", "NETCDS_API_REQUIRE_TOKEN"),
        ("NETCDS_HOOK_OPEN", "NETCDS_HOOKS_OPEN"),
        ("NETCDS_CONFIG_FILE", "NETCDS_CONFIG"),
        ("netcds_port", "NETCDS_PORT"),
    ],
)
def test_an_unknown_variable_is_refused_naming_it_and_the_closest_known_name(name: str, closest: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={name: "1"})
    assert err.value.key == name
    assert f"did you mean {closest}?" in err.value.message


def test_an_unknown_variable_with_no_close_name_points_to_the_docs() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"NETCDS_XYZZY": "1", "NETCDS_PORT": "9000"})
    assert err.value.key == "NETCDS_XYZZY" and "docs/configuration.md" in err.value.message


def test_an_unknown_variable_is_named_before_the_config_file_is_read(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:  # the config file does not exist: the typo is named first
        load_settings(environ={"NETCDS_CONFIG": str(tmp_path / "absent.toml"), "NETCDS_HOST_NAME": "x"})
    assert err.value.key == "NETCDS_HOST_NAME" and "NETCDS_HOST" in err.value.message


def test_other_prefixes_and_known_variables_pass() -> None:
    env = {"NETCDS": "x", "XNETCDS_PORT": "1", "NETCDSPORT": "1", "NETCDS_UPDATE_GOLDEN": "1"}
    env |= {"NETCDS_KNOWLEDGE_DIR": "/nowhere", "NETCDS_SCREENSHOT_DIR": "/tmp", "NETCDS_PORT": "9001"}
    assert load_settings(environ=env).port == 9001


def test_serve_with_an_unknown_variable_exits_2_with_one_line(tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    res = runner.invoke(
        app, ["serve", "--port", "0", "--db", f"sqlite:///{db}"], env={"NETCDS_REQUIRE_TOKEN": "1"}
    )
    assert res.exit_code == 2, res.stderr + res.stdout
    assert "Traceback" not in res.stderr + res.stdout
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error: ")]
    assert errors == [
        "error: NETCDS_REQUIRE_TOKEN: unknown environment variable; did you mean NETCDS_API_REQUIRE_TOKEN?"
    ]
    assert not db.exists()


def test_evaluations_replay_with_an_unknown_variable_exits_2() -> None:
    res = runner.invoke(app, ["evaluations", "replay", "e1", "--db", "sqlite://"], env={"NETCDS_DBURL": "x"})
    assert res.exit_code == 2 and "NETCDS_DBURL: unknown environment variable" in res.stderr


def _used_names() -> set[str]:
    found: set[str] = set()
    places = [ROOT / "Makefile", ROOT / ".ci"] + [ROOT / d for d in ("tests", "bench", "scripts", "src")]
    for place in places:
        files = [place] if place.is_file() else [p for p in place.rglob("*") if p.is_file()]
        for f in files:
            if f.suffix in (".pyc", ".db") or "fixtures" in f.parts or f == Path(__file__):
                continue
            try:
                text = f.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            found |= set(_NAME.findall(text))
    return found


def test_every_variable_the_project_sets_or_reads_is_known() -> None:
    used = _used_names()
    assert {"NETCDS_DB_URL", "NETCDS_UPDATE_GOLDEN", "NETCDS_SCREENSHOT_DIR"} <= used  # the scan works
    assert used - KNOWN_ENV == set()


def test_the_configuration_page_lists_every_known_variable() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert sorted(KNOWN_ENV - set(_NAME.findall(page))) == []
