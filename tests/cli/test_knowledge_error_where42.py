"""A broken installed release named by folder, without a schema error after a file that did not parse
(session 42): `netcds evaluate` and `netcds serve` printed "manifest.yaml: not valid YAML" and then a pydantic
"Input should be a valid dictionary" for the same file, naming neither the release nor the knowledge root."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcds.cli import app
from netcds.knowledge.load import DEFAULT_VERSION, default_knowledge_dir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "patients" / "small_bowel_after_ssa.json"


def test_evaluate_names_the_broken_release_folder_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "kb"
    shutil.copytree(default_knowledge_dir(), root)
    manifest = root / "nccn-net" / DEFAULT_VERSION / "manifest.yaml"
    manifest.write_text("release: [unclosed\n")
    monkeypatch.setenv("NETCDS_KNOWLEDGE_DIR", str(root))
    res = CliRunner().invoke(app, ["evaluate", str(EXAMPLE)])
    assert res.exit_code == 1 and "Traceback" not in res.output
    folder = root / "nccn-net" / DEFAULT_VERSION
    assert res.stderr.startswith(f"knowledge error in {folder} (1):"), res.stderr
    assert "manifest.yaml: not valid YAML" in res.stderr
    assert "Input should be" not in res.stderr
