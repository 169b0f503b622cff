"""Security checks run by `make test`: pip-audit on the locked dependencies, bandit on src/.

pip-audit fails the run on any known vulnerability. Where its vulnerability services cannot be
reached (a sandbox whose package proxy serves no per-version data and no OSV), every package comes
back skipped; the script then reads PyPI's project endpoint instead, whose `vulnerabilities` list
covers the project's most recent release (https://docs.pypi.org/api/json/). A pin that *is* that
release is audited from it; any other pin is named as not audited, with why. A skipped package is
never counted as clean. The installed versions must be the locked ones (make installs with the lock
as constraints), so what is audited is what runs.
bandit fails the run on any medium- or high-severity finding. B608 ("SQL built from strings") is
skipped: netcds generates SQL from its validated knowledge base (cohort audits), every value goes
through `netcds.logic.sql.lit` (quote-doubling) and every file path through the same quoting; no
request data reaches SQL text (the store uses SQLAlchemy with bound parameters).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LOCK = ROOT / "requirements.lock"
PYPI_PROJECT = "https://pypi.org/pypi/{name}/json"  # vulnerabilities of the latest release only
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#\\]+)")


def locked() -> list[tuple[str, str]]:
    """(name, version) of every pin in requirements.lock."""
    pins = []
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        m = PIN.match(line.strip())
        if m:
            pins.append((m.group(1), m.group(2)))
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def drift() -> int:
    """Fail when an installed distribution is not the locked version (the audit would miss it)."""
    installed = {_norm(d.metadata["Name"]): d.version for d in metadata.distributions()}
    off = [(n, v, installed.get(_norm(n))) for n, v in locked() if installed.get(_norm(n)) != v]
    for name, want, have in off:
        print(f"lock: {name} is locked at {want} but {have or 'not installed'} is installed")
    print(f"lock: {len(off)} installed versions differ from requirements.lock")
    return 1 if off else 0


def _project(client: httpx.Client, name: str) -> dict[str, Any] | str:
    try:
        resp = client.get(PYPI_PROJECT.format(name=name))
        resp.raise_for_status()
        data: dict[str, Any] = resp.json()
        return data
    except (httpx.HTTPError, ValueError) as exc:
        return f"PyPI unreachable ({type(exc).__name__})"


def audit_from_pypi_latest(pins: list[tuple[str, str]], transport: httpx.BaseTransport | None = None) -> int:
    """Audit each pin that is its project's latest release from PyPI's project endpoint."""
    client = httpx.Client(timeout=30, follow_redirects=True, transport=transport)
    with client, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda pin: _project(client, pin[0]), pins))
    audited, vulnerable, missed = 0, 0, []
    for (name, version), data in zip(pins, answers, strict=True):
        if isinstance(data, str):
            missed.append(f"{name} {version}: {data}")
            continue
        info = data.get("info") or {}
        latest = str(info.get("version", ""))
        if latest != version:
            missed.append(
                f"{name} {version}: PyPI's latest is {latest} (requires Python {info.get('requires_python')})"
            )
            continue
        audited += 1
        vulns = data.get("vulnerabilities") or []
        if vulns:
            vulnerable += 1
            ids = ", ".join(str(v.get("id")) for v in vulns)
            print(f"pypi: VULNERABLE {name} {version}: {ids}")
    for line in missed:
        print(f"pypi: not audited: {line}")
    print(
        f"pypi: {audited} audited (the locked version is the project's latest release), "
        f"{len(missed)} not audited, {vulnerable} vulnerable"
    )
    return 1 if vulnerable else 0


def pip_audit() -> int:
    cmd = [
        str(BIN / "pip-audit"),
        "-r",
        str(LOCK),
        "--no-deps",
        "--disable-pip",
        "--progress-spinner",
        "off",
        "--format",
        "json",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    try:
        report = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        print(f"pip-audit: could not run ({proc.stderr.strip()[:300]})")
        return 1
    deps = report.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = len(deps) - len(skipped)
    for d in vulnerable:
        ids = ", ".join(v["id"] for v in d["vulns"])
        print(f"pip-audit: VULNERABLE {d['name']} {d.get('version')}: {ids}")
    note = " (vulnerability service unreachable from this machine: not a clean bill)" if audited == 0 else ""
    print(f"pip-audit: {audited} audited, {len(skipped)} skipped{note}, {len(vulnerable)} vulnerable")
    status = 1 if vulnerable else 0
    if skipped:
        names = {_norm(str(d["name"])) for d in skipped}
        status = max(status, audit_from_pypi_latest([p for p in locked() if _norm(p[0]) in names]))
    return status


def bandit() -> int:
    cmd = [str(BIN / "bandit"), "-q", "-r", str(ROOT / "src" / "netcds"), "-ll", "-s", "B608", "-f", "json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    results = json.loads(proc.stdout or "{}").get("results", [])
    for r in results:
        print(
            f"bandit: {r['issue_severity']} {r['test_id']} {r['filename']}:{r['line_number']} {r['issue_text']}"
        )
    print(f"bandit: {len(results)} medium/high findings")
    return 1 if results else 0


if __name__ == "__main__":
    sys.exit(max(drift(), pip_audit(), bandit()))
