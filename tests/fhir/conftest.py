"""Fixtures for the FHIR mapping tests: our NET bundles and the official mCODE 4.0.0 examples."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FHIR_DIR = ROOT / "tests" / "fixtures" / "fhir"
MCODE_DIR = ROOT / "tests" / "fixtures" / "mcode"
FETCH = ROOT / "scripts" / "fetch_mcode.py"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FHIR_DIR / name).read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def mcode_dir() -> Path:
    """The official mCODE 4.0.0 example resources (fetched once with npm by scripts/fetch_mcode.py)."""
    if not (MCODE_DIR / ".complete").exists():
        if shutil.which("npm") is None:
            pytest.skip(
                "npm is not installed: cannot fetch hl7.fhir.us.mcode@4.0.0 "
                "(run scripts/fetch_mcode.py where npm is available)"
            )
        proc = subprocess.run(
            [sys.executable, str(FETCH)], capture_output=True, text=True, timeout=600, check=False
        )
        assert proc.returncode == 0, f"fetch_mcode.py failed: {proc.stderr}"
    return MCODE_DIR


@pytest.fixture(scope="session")
def mcode_examples(mcode_dir: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for f in sorted(mcode_dir.glob("*.json")):
        if f.name != "package.json":
            out[f.name] = json.loads(f.read_text(encoding="utf-8"))
    assert len(out) > 150, f"expected ~179 mCODE examples in {mcode_dir}, found {len(out)}"
    return out


def wrap(*resources: dict[str, Any]) -> dict[str, Any]:
    """A collection Bundle around resources."""
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
