"""The sequencing data file: valid, sourced, paraphrased; a broken file is rejected with its path."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from netcds.errors import KnowledgeError
from netcds.sequencing import load_sequencing_data
from netcds.sequencing.data import default_path

# the factors the Lieu 2026 discussion names that rules give a direction; the pace of progression is
# named there without one and is covered by the order explanation instead (annotation.UNDIRECTED)
FACTORS = {
    "tumor_burden",
    "progression_significance",
    "prior_durability",
    "comorbidity",
    "preference",
    "cumulative_toxicity",
    "logistics",
    "monitoring",
    "access",
}


def test_every_rule_is_sourced_and_every_seed_factor_is_covered():
    from netcds.sequencing.annotation import UNDIRECTED

    data = load_sequencing_data()
    assert {r.factor for r in data.rules} >= FACTORS
    assert "seq.pace" in dict(UNDIRECTED) and not [r.id for r in data.rules if r.factor == "progression_pace"]
    for rule in data.rules:
        docs = [data.documents[s.doc].document for s in rule.sources]
        assert docs, rule.id
        seed_or_guideline = any(d.startswith("Lieu") or d.startswith("NCCN") for d in docs)
        assert seed_or_guideline, rule.id
    for reg, info in data.regimens.items():
        assert info.sources, reg


def test_label_facts_carry_a_public_url():
    data = load_sequencing_data()
    for key, doc in data.documents.items():
        if "prescribing information" in doc.document:
            assert doc.url and doc.url.startswith("https://"), key


def broken(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(default_path().read_text(encoding="utf-8"))
    mutate(raw)
    out = tmp_path / "considerations.yaml"
    out.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return out


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda r: r["rules"][0].update(factor="mood"), "rules[0].factor"),
        (lambda r: r["rules"][0].update(when={"fact": "seq.nonsense", "is": True}), "rules[0].when"),
        (lambda r: r["rules"][0].update(when={"fact": "tumor.sstr_stat", "eq": "positive"}), "rules[0].when"),
        (lambda r: r["rules"][0].update(applies_to=["aspirin"]), "unknown regimen 'aspirin'"),
        (lambda r: r["rules"][0]["sources"][0].update(doc="nowhere"), "unknown document 'nowhere'"),
        (lambda r: r["rules"][1].update(id=r["rules"][0]["id"]), "duplicate rule id"),
        (lambda r: r["classes"]["prrt"]["agents"].append("everolimus"), "already in class"),
        (lambda r: r["rules"][0].update(excludes=["aspirin"]), "excludes: unknown regimen 'aspirin'"),
        (lambda r: r["rules"][0].update(text="Named here: {opt.nonsense}."), "unknown sequencing fact"),
        (
            lambda r: r["variants"][0]["regimens"].append("aspirin"),
            "variants[0].regimens: unknown regimen 'aspirin'",
        ),
        (lambda r: r["variants"][1]["regimens"].append("carboplatin_etoposide"), "already in another group"),
        (
            lambda r: r["variants"][0].update(regimens=["folfiri"]),
            "variants[0].regimens: List should have at least 2",
        ),
        (
            lambda r: r["rules"][0].update(excludes_in={"ssa": ["nowhere"]}),
            "excludes_in.ssa: unknown table 'nowhere'",
        ),
        (
            lambda r: r["variants"][0]["tables"].update(nowhere=r["variants"][0]["tables"]["wd_g3"]),
            "variants[0].tables: unknown table 'nowhere'",
        ),
        (lambda r: r["shared_statements"][0]["rules"].append("no.such.rule"), "unknown rule 'no.such.rule'"),
        (
            lambda r: r["shared_statements"][1]["rules"].append(r["shared_statements"][0]["rules"][0]),
            "already in 'prrt_early'",
        ),
    ],
)
def test_broken_file_rejected_with_its_path(tmp_path, mutate, where):
    with pytest.raises(KnowledgeError) as err:
        load_sequencing_data(broken(tmp_path, mutate))
    assert where in str(err.value)


def test_no_copied_source_text(tmp_path):
    """seed-overlap reads git-tracked files: check this area's files in a scratch repository."""
    tool = Path("/work/shared/tools/seed-overlap")
    if not tool.exists() or shutil.which("git") is None:
        pytest.skip("seed-overlap tool or git not available here")
    root = Path(__file__).resolve().parents[2]
    for rel in (
        "knowledge/sequencing",
        "src/netcds/sequencing",
        "docs/sequencing.md",
        "examples/patients/five_lines.json",
        "tests/sequencing/golden",
    ):
        src = root / rel
        dst = tmp_path / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy(src, dst)
    git = shutil.which("git")
    subprocess.run([git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([git, "add", "-A"], cwd=tmp_path, check=True)
    proc = subprocess.run(
        [str(tool), str(tmp_path)], capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0 and "no verbatim runs" in proc.stdout, proc.stdout + proc.stderr
