"""scripts/audit.py: what the fallback audit counts as audited, vulnerable and not audited.

pip-audit cannot reach a vulnerability service from the project machine, so `make test` falls back
to PyPI's project endpoint, whose `vulnerabilities` list covers only the latest release. These
tests pin down that a pin is called audited only when it is that release, that a listed
vulnerability fails the run, and that an unreachable or older pin is never counted as clean.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _audit_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("netcds_audit_script", ROOT / "scripts" / "audit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


audit = _audit_module()

PROJECTS = {
    "clean": {"info": {"version": "2.0", "requires_python": ">=3.9"}, "vulnerabilities": []},
    "flawed": {
        "info": {"version": "1.1", "requires_python": ">=3.9"},
        "vulnerabilities": [{"id": "PYSEC-2099-1", "aliases": ["CVE-2099-0001"], "fixed_in": []}],
    },
    "moved-on": {
        "info": {"version": "3.0", "requires_python": ">=3.12"},
        "vulnerabilities": [],
    },
}


def _pypi(request: httpx.Request) -> httpx.Response:
    parts = request.url.path.strip("/").split("/")
    assert parts[0] == "pypi" and parts[-1] == "json" and len(parts) == 3, request.url
    body = PROJECTS.get(parts[1])
    return httpx.Response(200, json=body) if body is not None else httpx.Response(404)


def run(pins: list[tuple[str, str]], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = audit.audit_from_pypi_latest(pins, transport=httpx.MockTransport(_pypi))
    return rc, capsys.readouterr().out


def test_a_pin_that_is_the_latest_release_without_vulnerabilities_is_audited_clean(capsys):
    rc, out = run([("clean", "2.0")], capsys)
    assert rc == 0
    assert "pypi: 1 audited" in out and "0 not audited, 0 vulnerable" in out


def test_a_vulnerability_listed_for_the_pinned_latest_release_fails_the_run(capsys):
    rc, out = run([("clean", "2.0"), ("flawed", "1.1")], capsys)
    assert rc == 1
    assert "VULNERABLE flawed 1.1: PYSEC-2099-1" in out
    assert "2 audited" in out and "1 vulnerable" in out


def test_an_older_pin_is_named_not_audited_and_never_counted_clean(capsys):
    # the project's list describes 3.0 only: nothing can be said of 2.5 from it
    rc, out = run([("moved-on", "2.5")], capsys)
    assert rc == 0
    assert "not audited: moved-on 2.5: PyPI's latest is 3.0 (requires Python >=3.12)" in out
    assert "pypi: 0 audited" in out and "1 not audited" in out


def test_an_older_pin_of_a_project_whose_latest_is_flawed_is_not_reported_as_vulnerable(capsys):
    rc, out = run([("flawed", "1.0")], capsys)
    assert rc == 0
    assert "VULNERABLE" not in out and "not audited: flawed 1.0" in out


def test_an_unreachable_project_is_named_not_audited(capsys):
    rc, out = run([("gone", "1.0")], capsys)
    assert rc == 0
    assert "not audited: gone 1.0: PyPI unreachable (HTTPStatusError)" in out
    assert "pypi: 0 audited" in out


def test_every_line_of_the_lock_is_read_as_a_pin():
    pins = audit.locked()
    lines = [
        ln
        for ln in audit.LOCK.read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert len(pins) == len(lines) > 50
    assert all(v and "==" not in v for _, v in pins)
