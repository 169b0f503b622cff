"""`netcds kb validate` checks the sequencing data: each deliberately broken copy of the real file (one
thing broken each, built in tmp_path) is refused with a message naming the file and the path; the
bundled file passes; the command prints the sequencing line and exits 1 on a broken file."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from netcds.cli import app
from netcds.errors import KnowledgeError
from netcds.knowledge.load import DEFAULT_GUIDELINE, DEFAULT_VERSION, default_knowledge_dir
from netcds.sequencing import load_sequencing_data, validate_knowledge

FILE = "sequencing/considerations.yaml"
Raw = dict[str, Any]


def real() -> Raw:
    raw: Raw = yaml.safe_load((default_knowledge_dir() / FILE).read_text(encoding="utf-8"))
    return raw


def index(raw: Raw, rule_id: str) -> int:
    return next(i for i, r in enumerate(raw["rules"]) if r["id"] == rule_id)


def rule(raw: Raw, rule_id: str) -> dict[str, Any]:
    found: dict[str, Any] = raw["rules"][index(raw, rule_id)]
    return found


def at(rule_id: str, rest: str) -> str:
    """The path of a rule's part as problems name it: ``rules[i] (id).rest``."""
    return f"rules[{index(real(), rule_id)}] ({rule_id}).{rest}"


def root_with(tmp_path: Path, mutate: Callable[[Raw], None] | None = None) -> Path:
    """A knowledge root holding the default guideline release and the sequencing file, ``mutate``d."""
    root = tmp_path / "knowledge"
    release = Path(DEFAULT_GUIDELINE) / DEFAULT_VERSION
    shutil.copytree(default_knowledge_dir() / release, root / release)
    (root / "sequencing").mkdir()
    raw = real()
    if mutate is not None:
        mutate(raw)
    (root / FILE).write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return root


def problems_of(root: Path) -> dict[str, list[str]]:
    with pytest.raises(KnowledgeError) as err:
        validate_knowledge(root)
    found: dict[str, list[str]] = {}
    for path, msg in err.value.problems:
        found.setdefault(path, []).append(msg)
    return found


BIO = "biology.prrt.fdg_avid_g3"  # lu177_dotatate in the WD G3 table, citing its footnote o
CAPTEM = "preference.response.cytotoxic_pancreas"  # capecitabine_temozolomide in the pancreas table


def set_bio_cite(**kw: Any) -> Callable[[Raw], None]:
    return lambda r: rule(r, BIO)["sources"][0].update(kw)


def first_rule(**kw: Any) -> Callable[[Raw], None]:
    return lambda r: r["rules"][0].update(kw)


FIRST = real()["rules"][0]["id"]
CASES: list[tuple[str, Callable[[Raw], None], str, str]] = [
    # schema (pydantic)
    ("schema", first_rule(factor="mood"), "rules[0].factor", "Input should be"),
    ("no sources", first_rule(sources=[]), "rules[0].sources", "at least 1"),
    # conditions: contract fields and sequencing facts, each with its own path inside the condition
    (
        "unknown contract field",
        first_rule(
            when={
                "all": [{"fact": "tumor.sstr_stat", "eq": "positive"}, {"fact": "opt.received", "is": True}]
            }
        ),
        at(FIRST, "when.all[0].fact"),
        "unknown fact 'tumor.sstr_stat'",
    ),
    (
        "unknown sequencing fact",
        first_rule(
            when={"any": [{"fact": "opt.received", "is": True}, {"fact": "seq.nonsense", "is": True}]}
        ),
        at(FIRST, "when.any[1].fact"),
        "unknown sequencing fact 'seq.nonsense'",
    ),
    (
        "combination mixed with a leaf",
        first_rule(
            when={"all": [{"fact": "opt.received", "is": True}], "fact": "seq.prior_prrt", "is": True}
        ),
        at(FIRST, "when"),
        "'all' cannot be mixed with ['fact', 'is']",
    ),
    (
        "empty says",
        first_rule(when={"fact": "opt.received", "is": True, "says": " "}),
        at(FIRST, "when.says"),
        "must be non-empty text",
    ),
    # ids
    (
        "duplicate rule id",
        lambda r: r["rules"][1].update(id=r["rules"][0]["id"]),
        f"rules[1] ({FIRST}).id",
        "duplicate rule id",
    ),
    (
        "duplicate shared statement id",
        lambda r: r["shared_statements"][1].update(id=r["shared_statements"][0]["id"]),
        "shared_statements[1].id",
        "duplicate shared statement id 'prrt_early'",
    ),
    (
        "unknown regimen",
        first_rule(applies_to=["aspirin"]),
        at(FIRST, "applies_to"),
        "unknown regimen 'aspirin'",
    ),
    (
        "unknown document",
        lambda r: r["rules"][0]["sources"][0].update(doc="nowhere"),
        at(FIRST, "sources"),
        "unknown document 'nowhere'",
    ),
    (
        "applies to and excludes one regimen",
        lambda r: rule(r, CAPTEM).update(excludes=["capecitabine_temozolomide"]),
        at(CAPTEM, "excludes"),
        "'capecitabine_temozolomide' is also in applies_to",
    ),
    # against the default guideline release
    (
        "regimen in no table of the rule's tables",
        lambda r: rule(r, CAPTEM).update(applies_to=["capecitabine_temozolomide", "folfiri"]),
        at(CAPTEM, "applies_to"),
        "'folfiri' is in no table of its tables (pancreas_wd_g12)",
    ),
    (
        "a table without an entry the rule concerns",
        lambda r: rule(r, CAPTEM).update(tables=["pancreas_wd_g12", "gi_wd_g12"]),
        at(CAPTEM, "tables"),
        "the rule concerns no entry of table 'gi_wd_g12'",
    ),
    (
        "regimen carried without an entry",
        lambda r: r["regimens"].pop("folfiri"),
        "regimens",
        "no entry for 'folfiri'",
    ),
    ("unknown footnote", set_bio_cite(footnote="z"), at(BIO, "sources[0].footnote"), "unknown footnote 'z'"),
    (
        "footnote not in the source",
        set_bio_cite(footnote="k"),
        at(BIO, "sources[0].footnote"),
        "footnote 'k' is not in the source",
    ),
    (
        "footnote at no entry the rule concerns",
        set_bio_cite(footnote="g"),
        at(BIO, "sources[0].footnote"),
        "footnote 'g' is at no entry this concerns",
    ),
    ("unknown page", set_bio_cite(page="NE-Z"), at(BIO, "sources[0].page"), "unknown page 'NE-Z'"),
    ("page not in the source", set_bio_cite(page="NE-J"), at(BIO, "sources[0].page"), "is not in the source"),
    ("guideline cite without page", set_bio_cite(page=None), at(BIO, "sources[0].page"), "names its page"),
    ("unknown table", set_bio_cite(table="Adrenal tumors"), at(BIO, "sources[0].table"), "unknown table"),
    (
        "table the rule does not concern",
        set_bio_cite(table="Pancreatic NETs"),
        at(BIO, "sources[0].table"),
        "'Pancreatic NETs' (pancreas_wd_g12) carries no entry this concerns",
    ),
    (
        "regimen source citing another table",
        lambda r: r["regimens"]["cytotoxic_chemotherapy"]["sources"][0].update(table="WD G3 NETs"),
        "regimens.cytotoxic_chemotherapy.sources[0].table",
        "carries no entry this concerns",
    ),
    (
        "variant listing citing a footnote of another table",
        lambda r: r["variants"][1]["tables"]["wd_g3"]["source"].update(footnote="i"),
        "variants[1].tables.wd_g3.source.footnote",
        "footnote 'i' is at no entry this concerns",
    ),
    (
        "guideline version",
        lambda r: r["documents"]["nccn"].update(version="4.2024"),
        "documents.nccn.version",
        "encodes version '5.2024'",
    ),
    # citations
    (
        "citation without a place",
        lambda r: r["rules"][0].update(sources=[{"doc": "lieu"}]),
        at(FIRST, "sources[0]"),
        "say where in 'lieu'",
    ),
    (
        "myelosuppressive class without a source",
        lambda r: r["classes"]["alkylating_agent"].update(sources=[]),
        "classes.alkylating_agent.sources",
        "cites its source",
    ),
]


def test_the_bundled_sequencing_knowledge_passes() -> None:
    summary = validate_knowledge()
    assert summary.startswith("sequencing: ") and " considerations, " in summary, summary
    assert f"checked against {DEFAULT_GUIDELINE}/{DEFAULT_VERSION}" in summary and "digest " in summary


def test_a_copy_of_the_bundled_knowledge_passes(tmp_path: Path) -> None:
    assert validate_knowledge(root_with(tmp_path)).startswith("sequencing: ")


@pytest.mark.parametrize(("mutate", "path", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_broken_copy_is_refused_naming_file_and_path(
    tmp_path: Path, mutate: Callable[[Raw], None], path: str, says: str
) -> None:
    found = problems_of(root_with(tmp_path, mutate))
    where = f"{FILE}: {path}"
    assert where in found, "\n".join(found)
    assert any(says in msg for msg in found[where]), found[where]


def test_every_problem_is_listed_not_only_the_first(tmp_path: Path) -> None:
    """A cross-reference problem, a release problem and a citation problem in one file: all listed."""

    def many(r: Raw) -> None:
        set_bio_cite(footnote="z", page="NE-Z")(r)
        r["regimens"].pop("folfiri")
        rule(r, CAPTEM)["sources"] = [{"doc": "lieu"}]
        r["rules"][1].update(id=r["rules"][0]["id"])

    found = problems_of(root_with(tmp_path, many))
    wanted = [
        f"rules[1] ({FIRST}).id",
        at(BIO, "sources[0].footnote"),
        at(BIO, "sources[0].page"),
        "regimens",
        at(CAPTEM, "sources[0]"),
    ]
    for where in wanted:
        assert f"{FILE}: {where}" in found, "\n".join(found)


def test_condition_problems_are_listed_each_with_its_own_path(tmp_path: Path) -> None:
    when = {
        "all": [{"fact": "tumor.nope", "eq": 1}, {"fact": "seq.nope", "is": True}, {"received": ["aspirin"]}]
    }
    found = problems_of(root_with(tmp_path, first_rule(when=when)))
    for part in ("when.all[0].fact", "when.all[1].fact", "when.all[2].received[0]"):
        assert f"{FILE}: {at(FIRST, part)}" in found, "\n".join(found)


def test_a_stray_yaml_file_in_the_sequencing_folder_is_named(tmp_path: Path) -> None:
    root = root_with(tmp_path)
    (root / "sequencing" / "more_rules.yaml").write_text("rules: []\n", encoding="utf-8")
    assert "sequencing/more_rules.yaml" in problems_of(root)


def test_a_release_that_does_not_load_leaves_the_references_unchecked_and_says_so(tmp_path: Path) -> None:
    root = root_with(tmp_path)
    shutil.rmtree(root / DEFAULT_GUIDELINE)
    assert any("guideline references not checked" in m for m in problems_of(root)[FILE])


def test_the_loader_lists_each_cross_reference_problem_with_its_path(tmp_path: Path) -> None:
    """Before, every cross-reference problem was one message at the file's root, joined by '; '."""

    def two(r: Raw) -> None:
        r["rules"][0]["applies_to"] = ["aspirin"]
        r["rules"][1]["sources"][0]["doc"] = "nowhere"

    root = root_with(tmp_path, two)
    with pytest.raises(KnowledgeError) as err:
        load_sequencing_data(root / FILE)
    problems = dict(err.value.problems)
    assert problems[f"{FILE}: {at(FIRST, 'applies_to')}"] == "unknown regimen 'aspirin'"
    second = real()["rules"][1]["id"]
    assert problems[f"{FILE}: rules[1] ({second}).sources"] == "unknown document 'nowhere'"


# ---- the command ---------------------------------------------------------------------------------


def whole_copy(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    shutil.copytree(default_knowledge_dir(), root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_kb_validate_prints_the_sequencing_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETCDS_KNOWLEDGE_DIR", str(whole_copy(tmp_path)))
    res = CliRunner().invoke(app, ["kb", "validate"])
    text = " ".join(res.stdout.split())
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "ok sequencing: " in text and "drug safety: " in text, text


def test_kb_validate_exits_1_on_a_broken_sequencing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = whole_copy(tmp_path)
    raw = real()
    rule(raw, BIO)["sources"][0]["footnote"] = "z"
    (root / FILE).write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("NETCDS_KNOWLEDGE_DIR", str(root))
    res = CliRunner().invoke(app, ["kb", "validate"])
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    lines = [ln.strip() for ln in res.stderr.splitlines() if ln.startswith("  ")]
    release = f"{DEFAULT_GUIDELINE}/{DEFAULT_VERSION}"
    assert f"{FILE}: {at(BIO, 'sources[0].footnote')}: unknown footnote 'z' in {release}" in lines, lines
    assert "ok sequencing" not in " ".join(res.stdout.split())


def test_the_rule_parser_itself_refuses_a_combination_mixed_with_a_leaf() -> None:
    # loading (not only kb validate) refuses it: the leaf would otherwise be silently ignored
    from netcds.logic.ast import ConditionSyntaxError
    from netcds.sequencing.rulefacts import parse_rule_condition

    with pytest.raises(ConditionSyntaxError) as err:
        parse_rule_condition(
            {"all": [{"fact": "opt.received", "is": True}], "fact": "seq.prior_prrt", "is": True}
        )
    assert ("when", "'all' cannot be mixed with ['fact', 'is']") in err.value.problems
