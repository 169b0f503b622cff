"""Settings: defaults < TOML file < NETCDS_* environment < command-line options; typos are errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netcds.settings import SettingsError, load_settings


def test_defaults_are_local() -> None:
    s = load_settings(environ={})
    assert s.host == "127.0.0.1"
    assert s.hooks_open is False
    assert s.public_base_url == "http://127.0.0.1:8000"
    assert s.db_url.startswith("sqlite:///")


def test_precedence(tmp_path: Path) -> None:
    cfg = tmp_path / "netcds.toml"
    cfg.write_text(
        '[server]\nport = 9001\nbase_url = "https://cds.example.org/"\n'
        '[store]\nurl = "sqlite:///from-file.db"\n[hooks]\nopen = false\n'
    )
    s = load_settings(cfg, environ={"NETCDS_PORT": "9002", "NETCDS_HOOKS_OPEN": "1"})
    assert s.port == 9002
    assert s.hooks_open is True
    assert s.db_url == "sqlite:///from-file.db"
    assert s.public_base_url == "https://cds.example.org"
    s = load_settings(cfg, overrides={"port": 9003, "db_url": None}, environ={"NETCDS_PORT": "9002"})
    assert s.port == 9003
    assert s.db_url == "sqlite:///from-file.db"


def test_config_path_from_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[knowledge]\nversion = "5.2024"\n[hooks]\nfhir_fetch = true\n')
    assert load_settings(environ={"NETCDS_CONFIG": str(cfg)}).fhir_fetch is True


def test_issuers_from_toml_and_env(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[[hooks.issuers]]\niss = "https://ehr.example"\njwks_file = "/etc/netcds/ehr.json"\n'
        '[[hooks.issuers]]\niss = "https://other.example"\n'
        'jwks_url = "https://other.example/jwks.json"\n'
    )
    s = load_settings(cfg, environ={})
    assert [i.iss for i in s.hooks_issuers] == ["https://ehr.example", "https://other.example"]
    env = {"NETCDS_HOOKS_ISSUERS": json.dumps([{"iss": "https://e", "jwks": {"keys": []}}])}
    assert load_settings(environ=env).hooks_issuers[0].jwks == {"keys": []}


@pytest.mark.parametrize(
    ("toml", "env", "key"),
    [
        ("[server]\nprot = 1\n", {}, "server.prot"),
        ("[hooks]\nopen = 1\n", {"NETCDS_PORT": "eighty"}, "NETCDS_PORT"),
        ("", {"NETCDS_HOOKS_OPEN": "maybe"}, "NETCDS_HOOKS_OPEN"),
        ("", {"NETCDS_PORT": "70000"}, "NETCDS_PORT"),
        ('[[hooks.issuers]]\niss = "x"\n', {}, "hooks.issuers"),
        ('[[hooks.issuers]]\niss = "x"\njwks_url = "http://plain"\n', {}, "hooks.issuers"),
        ('[server]\nbase_url = "cds.example"\n', {}, "base_url"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, toml: str, env: dict[str, str], key: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml)
    with pytest.raises(SettingsError) as err:
        load_settings(cfg, environ=env)
    assert key in str(err.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "absent.toml", environ={})
