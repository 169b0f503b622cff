"""The monographs and interaction lists as data: complete, sourced, and validated with paths."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from netcds.errors import KnowledgeError
from netcds.knowledge.load import default_knowledge_dir
from netcds.patient import AGENT_IDS
from netcds.safety import AgentKnowledge, validate_knowledge
from netcds.safety.load import load_folder, resolve

FIXTURES = Path(__file__).parent / "fixtures"


def test_every_contract_agent_has_a_monograph(akb: AgentKnowledge) -> None:
    drugs = set(AGENT_IDS) - {"radiotherapy"}
    assert set(akb.agents) == drugs


def test_bundled_knowledge_validates() -> None:
    summary = validate_knowledge()
    assert "21 agent monographs" in summary and "2 interaction lists" in summary


def test_every_citation_resolves_to_a_public_or_seed_source(akb: AgentKnowledge) -> None:
    for mono in akb.agents.values():
        for where, cite in mono.cites():
            src = resolve(mono.sources, cite)
            assert src.url or src.seed, (mono.id, where)
            for also in src.also:
                assert also.url or also.seed, (mono.id, where)
    for lst in akb.interactions:
        for d in lst.drugs:
            assert d.source.ref in lst.sources
            assert d.brand_source is not None or not (d.brands or d.synonyms)


def test_guideline_doses_match_the_seed(akb: AgentKnowledge) -> None:
    assert akb.agents["everolimus"].dose.amount == 10
    assert akb.agents["sunitinib"].dose.amount == 37.5
    assert akb.agents["cabozantinib"].dose.amount == 60
    assert akb.agents["lanreotide"].dose.amount == 120
    assert "20-30 mg" in akb.agents["octreotide_lar"].dose.standard
    assert akb.agents["octreotide_lar"].dose.variants["ssa_above_label"].amount == 60
    assert "every 14 days" in akb.agents["lanreotide"].dose.variants["ssa_above_label"].standard
    assert akb.agents["lu177_dotatate"].dose.amount == 7.4


def _root_with(tmp_path: Path, agent_file: Path) -> Path:
    shutil.copytree(default_knowledge_dir() / "interactions", tmp_path / "interactions")
    (tmp_path / "agents").mkdir()
    shutil.copy(agent_file, tmp_path / "agents" / "cabozantinib.yaml")
    return tmp_path


def test_broken_monograph_rejected_with_paths(tmp_path: Path) -> None:
    root = _root_with(tmp_path, FIXTURES / "broken_cabozantinib.yaml")
    with pytest.raises(KnowledgeError) as exc:
        load_folder(root)
    problems = dict(exc.value.problems)
    text = "\n".join(f"{p}: {m}" for p, m in exc.value.problems)
    assert "agents/cabozantinib.yaml: warnings[0].source" in problems, text
    assert "required" in problems["agents/cabozantinib.yaml: warnings[0].source"].lower()
    assert "agents/cabozantinib.yaml: warnings[1].severity" in problems, text
    assert "agents/cabozantinib.yaml: warnings[2].when" in problems, text
    assert "no_such_fact" in problems["agents/cabozantinib.yaml: warnings[2].when"]
    assert "agents/cabozantinib.yaml: warnings[5].when" in problems, text
    assert "not a date fact" in problems["agents/cabozantinib.yaml: warnings[5].when"]


def test_cross_file_errors_reported(tmp_path: Path) -> None:
    fixed = (FIXTURES / "broken_cabozantinib.yaml").read_text()
    start = fixed.index("  - id: missing_source")
    end = fixed.index("  - id: unknown_source_ref")
    only_refs = fixed[:start] + fixed[end:]
    only_refs = only_refs[: only_refs.index("  - id: bad_date")]
    f = tmp_path / "x.yaml"
    f.write_text(only_refs)
    root = _root_with(tmp_path / "root", f)
    with pytest.raises(KnowledgeError) as exc:
        load_folder(root)
    msgs = [f"{p}: {m}" for p, m in exc.value.problems]
    assert any("warnings[0].source.ref: unknown source 'nowhere'" in m for m in msgs), msgs
    assert any("warnings[1].when: unknown interaction class 'weak_cyp3a4_inhibitor'" in m for m in msgs), msgs


def test_brand_clash_is_an_error(tmp_path: Path) -> None:
    shutil.copytree(
        default_knowledge_dir(), tmp_path / "k", ignore=shutil.ignore_patterns("nccn-net", "sequencing")
    )
    extra = tmp_path / "k" / "interactions" / "zz_clash.yaml"
    extra.write_text(
        "id: zz_clash\ntitle: clash test list\nsources:\n  src: {document: doc text, url: https://example.org}\n"
        "drugs:\n  - {name: notclarithro, brands: [Biaxin], source: {ref: src, section: sec}, "
        "brand_source: {ref: src, section: sec}}\n"
    )
    with pytest.raises(KnowledgeError) as exc:
        load_folder(tmp_path / "k")
    assert any("'Biaxin' already names 'clarithromycin'" in m for _, m in exc.value.problems)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("    population: true\n", ""),  # a per-kg dose decides the population: unknown weight leaves it open
        ("        - {fact: weight_kg, gt: 0}\n", ""),  # the amount comes from the weight the rule reads
    ],
    ids=["not_population", "weight_not_read"],
)
def test_a_per_kg_dose_rule_must_be_a_population_rule_reading_the_weight(tmp_path: Path, old: str,
                                                                         new: str) -> None:  # fmt: skip
    shutil.copytree(
        default_knowledge_dir(), tmp_path / "k", ignore=shutil.ignore_patterns("nccn-net", "sequencing")
    )
    path = tmp_path / "k" / "agents" / "pembrolizumab.yaml"
    text = path.read_text()
    assert text.count(old) == 1
    path.write_text(text.replace(old, new))
    with pytest.raises(KnowledgeError) as exc:
        load_folder(tmp_path / "k")
    assert exc.value.problems == [
        (
            "agents/pembrolizumab.yaml: adjustments[0].effect",
            "per_kg needs a population rule whose condition reads weight_kg",
        )
    ]
