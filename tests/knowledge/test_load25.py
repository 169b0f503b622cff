"""Review 25: knowledge YAML with a key given twice or a footnote letter given twice is refused (YAML keeps
the last one silently), and text that is not a release id is a wrong input, never looked up as a path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from netcds.errors import KnowledgeError, UnknownVersionError
from netcds.knowledge.load import (
    DEFAULT_VERSION,
    DuplicateKeyError,
    ReleaseIdError,
    available_versions,
    default_knowledge_dir,
    load_folder,
    load_knowledge,
    parse_yaml,
)

ROOT = default_knowledge_dir()
NOT_IDS = ["", "5.2024/", "5.2024-r7/../5.2024", "..", "/etc", "5.2024\x1b[2J"]
runner = CliRunner()


def _copy(tmp_path: Path, version: str = DEFAULT_VERSION) -> Path:
    folder = tmp_path / version
    shutil.copytree(ROOT / "nccn-net" / version, folder)
    return folder


# duplicate keys ------------------------------------------------------------------------------------------
def test_parse_yaml_refuses_a_key_given_twice_and_names_it() -> None:
    with pytest.raises(
        DuplicateKeyError, match=r"duplicate key 'id' at line 3, column 1 \(first given at line 1\)"
    ):
        parse_yaml("id: a\nname: b\nid: c\n")
    with pytest.raises(DuplicateKeyError, match="duplicate key 'a'"):
        parse_yaml("x: {a: 1, a: 2}\n")  # on one line, nested
    with pytest.raises(DuplicateKeyError, match="duplicate key 'letter'"):
        parse_yaml("- letter: a\n  text: t\n  letter: b\n")


def test_parse_yaml_keeps_what_safe_load_reads() -> None:
    text = "a: &x {k: 1}\nb: *x\nc:\n  <<: *x\n  k: 2\nd: [1, 2]\n"
    assert parse_yaml(text) == {"a": {"k": 1}, "b": {"k": 1}, "c": {"k": 2}, "d": [1, 2]}
    assert parse_yaml("") is None


def test_a_second_id_in_the_manifest_is_a_knowledge_error(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    manifest = folder / "manifest.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "id: other-guideline\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as e:
        load_folder(folder)
    hits = [m for p, m in e.value.problems if p == "manifest.yaml" and "duplicate key 'id'" in m]
    assert hits, e.value.problems


def test_a_footnote_letter_given_twice_is_a_knowledge_error(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    notes = folder / "footnotes.yaml"
    again = "- letter: a\n  available: true\n  text: Another text.\n  source: {document: NCCN NET V.5.2024, page: NE-H}\n"
    notes.write_text(notes.read_text(encoding="utf-8") + again, encoding="utf-8")
    n = len(parse_yaml(notes.read_text(encoding="utf-8"))) - 1
    with pytest.raises(KnowledgeError) as e:
        load_folder(folder)
    assert (f"footnotes.yaml: [{n}].letter", "duplicate letter 'a' (also at [0])") in e.value.problems


def test_a_principle_id_given_twice_is_a_knowledge_error(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    rel = "principles.yaml"
    items = parse_yaml((folder / rel).read_text(encoding="utf-8"))
    text = (folder / rel).read_text(encoding="utf-8")
    first = items[0]["id"]
    second = items[1]["id"]
    (folder / rel).write_text(text.replace(f"id: {second}\n", f"id: {first}\n", 1), encoding="utf-8")
    with pytest.raises(KnowledgeError) as e:
        load_folder(folder)
    assert any(p == f"{rel}: [1].id" and f"duplicate id '{first}'" in m for p, m in e.value.problems)


def test_kb_validate_exit_1_naming_file_and_key(tmp_path: Path) -> None:
    from netcds.cli import app

    folder = _copy(tmp_path)
    manifest = folder / "manifest.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "id: other-guideline\n", encoding="utf-8")
    res = runner.invoke(app, ["kb", "validate", str(folder)])
    assert res.exit_code == 1, res.output
    assert f"{folder}/manifest.yaml: duplicate key 'id'" in res.stderr


def test_a_monograph_key_given_twice_is_a_knowledge_error(tmp_path: Path) -> None:
    from netcds.safety.load import load_folder as load_safety

    for sub in ("agents", "interactions"):
        shutil.copytree(ROOT / sub, tmp_path / sub)
    mono = tmp_path / "agents" / "everolimus.yaml"
    mono.write_text(mono.read_text(encoding="utf-8") + "route: intravenous\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as e:
        load_safety(tmp_path)
    assert any(p == "agents/everolimus.yaml" and "duplicate key 'route'" in m for p, m in e.value.problems)


def test_a_sequencing_key_given_twice_is_a_knowledge_error(tmp_path: Path) -> None:
    from netcds.sequencing.data import default_path, load_sequencing_data

    path = tmp_path / "considerations.yaml"
    text = default_path().read_text(encoding="utf-8")
    first_key = next(ln.split(":")[0] for ln in text.splitlines() if ln and ln[0].isalpha())
    path.write_text(text + f"{first_key}: again\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as e:
        load_sequencing_data(path)
    assert any(f"duplicate key '{first_key}'" in m for _, m in e.value.problems), e.value.problems


def test_all_bundled_knowledge_still_loads() -> None:
    from netcds.safety import validate_knowledge
    from netcds.sequencing.data import _load, default_path

    versions = available_versions()
    assert DEFAULT_VERSION in versions
    for v in versions:
        assert load_folder(ROOT / "nccn-net" / v).release == v
    assert validate_knowledge().startswith("drug safety:")
    assert _load.__wrapped__(str(default_path().resolve())).rules


# release ids -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", NOT_IDS)
def test_text_that_is_not_a_release_id_is_refused_before_any_lookup(version: str, tmp_path: Path) -> None:
    for root in (None, ROOT):
        with pytest.raises(ReleaseIdError) as e:
            load_knowledge(version, root=root)
        assert isinstance(
            e.value, UnknownVersionError
        )  # every caller's "wrong input", never broken knowledge
        assert e.value.field == "version" and e.value.value == version
        assert "is not a release id (available: 5.2024, " in e.value.message
        assert "\x1b" not in e.value.message


def test_a_guideline_that_is_not_an_id_is_refused() -> None:
    with pytest.raises(ReleaseIdError) as e:
        load_knowledge(DEFAULT_VERSION, "../nccn-net")
    assert e.value.field == "guideline" and "is not a guideline id (available: " in e.value.message


@pytest.mark.parametrize("version", ["", "5.2024/", "5.2024-r7/../5.2024", "..", "5.2024\x1b[2J"])
def test_the_api_answers_4xx_for_text_that_is_not_a_release_id(version: str, tmp_path: Path) -> None:
    from netcds.api.app import create_app
    from netcds.settings import Settings
    from tests.api.conftest import patient_record

    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'a.db'}", rate_limit_per_minute=0))
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/api/v1/evaluate", params={"guideline_version": version}, json=patient_record())
        assert 400 <= r.status_code < 500, (r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        # in a path, encoded so the client does not resolve it: not found, never a 5xx
        for encoded in ("%2E%2E", "5.2024-r7%2F..%2F5.2024", "%20", "5.2024%1B"):
            g = c.get(f"/api/v1/guidelines/nccn-net/{encoded}")
            assert 400 <= g.status_code < 500, (encoded, g.status_code, g.text)
