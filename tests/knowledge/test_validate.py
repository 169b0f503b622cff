"""The validator rejects deliberately broken knowledge, naming file and path; the bundled version is valid."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from netcds.errors import KnowledgeError
from netcds.knowledge.load import default_knowledge_dir, load_folder

BUNDLED = default_knowledge_dir() / "nccn-net" / "5.2024"
CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent.parent / "fixtures" / "knowledge" / "invalid" / "cases.yaml").read_text()
)


def test_bundled_version_is_valid_and_complete():
    kb = load_folder(BUNDLED)
    counts = {t.id: [len(c.entries) for c in t.columns] for t in kb.tables}
    assert counts == {"gi_wd_g12": [7], "lung_thymus": [8], "pancreas_wd_g12": [12], "wd_g3": [14, 6, 12]}
    assert {k for k, f in kb.footnotes.items() if not f.available} == {"j", "k", "l"}
    assert set(kb.footnotes) == set("abcdefghijklmnop")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_broken_fixture_rejected_with_its_path(case, tmp_path):
    folder = tmp_path / "kb"
    # a case names its release when the broken part exists only from that release on
    shutil.copytree(BUNDLED.parent / case.get("release", BUNDLED.name), folder)
    target = folder / case["file"]
    text = target.read_text()
    assert case["old"] in text, f"fixture {case['name']} no longer matches {case['file']}"
    target.write_text(text.replace(case["old"], case["new"], 1))
    with pytest.raises(KnowledgeError) as e:
        load_folder(folder)
    hits = [(p, m) for p, m in e.value.problems if p == case["path"] and case["message"] in m]
    assert hits, f"expected {case['path']!r} ~ {case['message']!r}, got {e.value.problems}"


def test_every_error_is_reported_not_just_the_first(tmp_path):
    folder = tmp_path / "kb"
    shutil.copytree(BUNDLED, folder)
    for rel, old, new in [
        ("tables/gi.yaml", "regimen: everolimus", "regimen: evero"),
        ("tables/lung_thymus.yaml", "regimen: sunitinib", "regimen: x"),
        ("tables/lung_thymus.yaml", "regimen: ssa\n", "regimen: ssaa\n"),
    ]:
        p = folder / rel
        p.write_text(p.read_text().replace(old, new, 1))
    with pytest.raises(KnowledgeError) as e:
        load_folder(folder)
    files = {p.split(":")[0] for p, _ in e.value.problems}
    assert files == {"tables/gi.yaml", "tables/lung_thymus.yaml"} and len(e.value.problems) >= 2


def test_an_invalid_manifest_does_not_hide_the_other_files_errors(tmp_path):
    folder = tmp_path / "kb"
    shutil.copytree(BUNDLED, folder)
    for rel, old, new in [
        ("manifest.yaml", 'default_category: "2A"', 'default_category: "9Z"'),
        ("tables/gi.yaml", "tier: preferred", "tier: best"),
        ("footnotes.yaml", "letter: b\n", "letter: BB\n"),
        ("principles.yaml", "- id: mdt_choice", "- idx: mdt_choice"),
    ]:
        p = folder / rel
        assert old in p.read_text()
        p.write_text(p.read_text().replace(old, new, 1))
    with pytest.raises(KnowledgeError) as e:
        load_folder(folder)
    where = [p for p, _ in e.value.problems]
    assert where[0] == "manifest.yaml: default_category"
    assert {p.split(":")[0] for p in where} == {
        "manifest.yaml",
        "tables/gi.yaml",
        "footnotes.yaml",
        "principles.yaml",
    }
    assert "tables/gi.yaml: columns[0].entries[0].tier" in where and "footnotes.yaml: [1]: letter" in where


def test_missing_folder_is_a_knowledge_error(tmp_path):
    with pytest.raises(KnowledgeError):
        load_folder(tmp_path / "nope")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\xff\xfe footnotes", "not UTF-8 text"), (b"[" * 100_000, "not readable: nested too deeply")],
    ids=["not_utf8", "nested_too_deeply"],
)
def test_a_file_that_is_not_text_or_nests_too_deeply_is_a_problem_not_a_crash(tmp_path, content, message):
    """Bytes that are not UTF-8, or brackets nested past the parser's recursion, are reported as the file's
    problem (a KnowledgeError, so the CLI exits with one line and the web page answers 503), never an
    exception of another kind."""
    folder = tmp_path / "kb"
    shutil.copytree(BUNDLED, folder)
    (folder / "footnotes.yaml").write_bytes(content)
    with pytest.raises(KnowledgeError) as e:
        load_folder(folder)
    assert [m for p, m in e.value.problems if p == "footnotes.yaml" and message in m], e.value.problems
