"""Load and validate the agent monographs and interaction lists, whole, then freeze them.

Layout under the knowledge root: ``agents/<agent_id>.yaml`` and
``interactions/*.yaml``. Every problem in every file is collected and reported
as ``file: path: message`` before anything is used; a partial set is never
returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from netcds.errors import KnowledgeError
from netcds.knowledge.load import content_digest, default_knowledge_dir, read_yaml, validate_model
from netcds.memo import BoundedMemo
from netcds.patient import AGENT_IDS, REGIMEN_AGENTS
from netcds.safety.conditions import Leaf, MedLeaf, SafetyCondition, walk
from netcds.safety.medications import Registry
from netcds.safety.models import DoseResult, SafetyItem, SourceOut
from netcds.safety.schema import Cite, CiteRef, InteractionList, Monograph, SourceDoc

M = TypeVar("M", bound=BaseModel)


SCREEN_MEMO_ENTRIES = 8192  # agent screens kept per knowledge set (a few KB each)
JUDGEMENT_MEMO_ENTRIES = 4096  # monograph rule results kept per knowledge set (a few KB each)


@dataclass(frozen=True)
class DrugInfo:
    """A generic as the merged lists know it: classes and where each membership comes from."""

    name: str
    classes: frozenset[str]
    sources: tuple[SourceOut, ...]
    unverified: dict[str, str] = field(default_factory=dict)  # class -> why that membership is unconfirmed


@dataclass(frozen=True)
class AgentKnowledge:
    """Validated, frozen drug-safety knowledge."""

    root: Path
    agents: dict[str, Monograph]
    raw: dict[str, Any]  # the monographs as authored (validated), for JSON display
    interactions: tuple[InteractionList, ...]
    registry: Registry
    drugs: dict[str, DrugInfo]
    class_labels: dict[str, str]
    class_sources: dict[str, SourceOut]
    digest: str
    files: tuple[str, ...] = field(default=())
    unverified_meds: dict[str, dict[str, str]] = field(default_factory=dict)  # generic -> class -> note
    # agent screens by rule signature (netcds.safety.screen); not part of the knowledge's identity
    screens: BoundedMemo[tuple[tuple[SafetyItem, ...], DoseResult]] = field(
        default_factory=lambda: BoundedMemo(SCREEN_MEMO_ENTRIES), compare=False, repr=False
    )
    # monograph rule results by what they depend on (netcds.safety.rule_inputs), shared by patients
    judgements: BoundedMemo[Any] = field(
        default_factory=lambda: BoundedMemo(JUDGEMENT_MEMO_ENTRIES), compare=False, repr=False
    )

    def monograph(self, agent_id: str) -> Monograph:
        if agent_id not in self.agents:
            known = ", ".join(sorted(self.agents))
            raise KeyError(f"no monograph for agent '{agent_id}' (known: {known})")
        return self.agents[agent_id]


_RESOLVED: dict[tuple[int, int], tuple[object, object, SourceOut]] = {}


def resolve(sources: dict[str, SourceDoc], cite: Cite | CiteRef) -> SourceOut:
    """The citation as an output source (memoized per loaded monograph: the data is frozen)."""
    key = (id(sources), id(cite))
    hit = _RESOLVED.get(key)
    if hit is not None and hit[0] is sources and hit[1] is cite:
        return hit[2]
    out = _resolve(sources, cite)
    _RESOLVED[key] = (sources, cite, out)
    return out


def _resolve(sources: dict[str, SourceDoc], cite: Cite | CiteRef) -> SourceOut:
    doc = sources[cite.ref]
    also = [resolve(sources, c) for c in cite.also] if isinstance(cite, Cite) else []
    return SourceOut(
        document=doc.document, section=cite.section, url=doc.url, seed=doc.seed, date=doc.date, also=also
    )


def _resolvable(sources: dict[str, SourceDoc], cite: Cite) -> bool:
    return cite.ref in sources and all(c.ref in sources for c in cite.also)


def _model(cls: type[M], data: Any, rel: str, problems: list[tuple[str, str]]) -> M | None:
    if not isinstance(data, dict):
        problems.append((rel, f"must be a mapping, got {type(data).__name__}"))
        return None
    return validate_model(cls, data, rel, problems)


def _check_cites(rel: str, sources: dict[str, SourceDoc], cites: list[tuple[str, Cite]],
                 problems: list[tuple[str, str]]) -> None:  # fmt: skip
    for where, cite in cites:
        refs = [(f"{where}.ref", cite.ref)] + [
            (f"{where}.also[{i}].ref", c.ref) for i, c in enumerate(cite.also)
        ]
        for at, ref in refs:
            if ref not in sources:
                problems.append((f"{rel}: {at}", f"unknown source '{ref}' (defined: {sorted(sources)})"))


def _interactions(
    folder: Path, problems: list[tuple[str, str]], files: dict[str, bytes]
) -> list[InteractionList]:
    lists: list[InteractionList] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        rel = f"interactions/{path.name}"
        files[rel] = path.read_bytes()
        lst = _model(InteractionList, read_yaml(path, rel, problems), rel, problems)
        if lst is None:
            continue
        if lst.id != path.stem:
            problems.append((f"{rel}: id", f"'{lst.id}' must match the file name '{path.stem}'"))
        cites = [(f"classes.{k}.source", c.source) for k, c in lst.classes.items()]
        cites += [(f"drugs[{i}].source", d.source) for i, d in enumerate(lst.drugs)]
        cites += [
            (f"drugs[{i}].brand_source", d.brand_source) for i, d in enumerate(lst.drugs) if d.brand_source
        ]
        _check_cites(rel, lst.sources, cites, problems)
        lists.append(lst)
    return lists


def _merge(lists: list[InteractionList], problems: list[tuple[str, str]]) -> tuple[
        Registry, dict[str, DrugInfo], dict[str, str], dict[str, SourceOut]]:  # fmt: skip
    labels: dict[str, str] = {}
    class_sources: dict[str, SourceOut] = {}
    for lst in lists:
        for k, c in lst.classes.items():
            if k in labels:
                problems.append(
                    (f"interactions/{lst.id}.yaml: classes.{k}", "class defined in more than one file")
                )
            labels[k] = c.label
            if _resolvable(lst.sources, c.source):
                class_sources[k] = resolve(lst.sources, c.source)
    reg = Registry()
    classes: dict[str, set[str]] = {}
    srcs: dict[str, list[SourceOut]] = {}
    doubts: dict[str, dict[str, str]] = {}
    for lst in lists:
        rel = f"interactions/{lst.id}.yaml"
        for i, d in enumerate(lst.drugs):
            for j, k in enumerate(d.classes):
                if k not in labels:
                    problems.append((f"{rel}: drugs[{i}].classes[{j}]", f"unknown class '{k}'"))
            generic = d.name.strip().lower()
            classes.setdefault(generic, set()).update(d.classes)
            if not d.verified and d.verification:
                doubts.setdefault(generic, {}).update(dict.fromkeys(d.classes, d.verification))
            if _resolvable(lst.sources, d.source):
                srcs.setdefault(generic, []).append(resolve(lst.sources, d.source))
            for spelling in [d.name, *d.brands, *d.synonyms]:
                clash = reg.add(spelling, generic)
                if clash is not None:
                    problems.append((f"{rel}: drugs[{i}]", f"'{spelling}' already names '{clash}'"))
    reg.classes = {g: frozenset(c) for g, c in classes.items()}
    drugs = {
        g: DrugInfo(g, frozenset(c), tuple(srcs.get(g, [])), doubts.get(g, {})) for g, c in classes.items()
    }
    return reg, drugs, labels, class_sources


def _check_monograph(rel: str, stem: str, mono: Monograph, drugs: dict[str, DrugInfo], labels: dict[str, str],
                     problems: list[tuple[str, str]]) -> None:  # fmt: skip
    if mono.id != stem:
        problems.append((f"{rel}: id", f"'{mono.id}' must match the file name '{stem}'"))
    if mono.id not in AGENT_IDS:
        problems.append((f"{rel}: id", f"'{mono.id}' is not an agent id of the contract"))
    _check_cites(rel, mono.sources, mono.cites(), problems)
    seen: set[str] = set()
    items = [("adjustments", a.id) for a in mono.adjustments] + [("warnings", w.id) for w in mono.warnings]
    items += [("monitoring", m.id) for m in mono.monitoring] + [("unrecorded", u.id) for u in mono.unrecorded]
    for i, (where, ident) in enumerate(items):
        if ident in seen:
            problems.append((f"{rel}: {where}", f"duplicate item id '{ident}' (item {i})"))
        seen.add(ident)
    for where, cond in mono.conditions():
        for node in walk(cond):
            if not isinstance(node, MedLeaf):
                continue
            for k in node.classes:
                if k not in labels:
                    problems.append((f"{rel}: {where}", f"unknown interaction class '{k}'"))
            for n in node.names:
                if n not in drugs:
                    problems.append((f"{rel}: {where}", f"medication '{n}' is not in the interaction lists"))
    for key in mono.dose.variants:
        if mono.id not in REGIMEN_AGENTS.get(key, ()):
            problems.append((f"{rel}: dose.variants.{key}", f"'{key}' is not a regimen containing {mono.id}"))
    for i, a in enumerate(mono.adjustments):
        effects = [("effect", a.effect)] + [(f"variant_effects.{k}", e) for k, e in a.variant_effects.items()]
        for where, e in effects:
            if (e.change is not None or e.base is not None) and mono.dose.amount is None:
                at = f"{rel}: adjustments[{i}].{where}"
                problems.append((at, "base/change need a flat dose (dose.amount)"))
            if e.per_kg is not None and not (a.population and _reads(a.when, "weight_kg")):
                at = f"{rel}: adjustments[{i}].{where}"
                problems.append((at, "per_kg needs a population rule whose condition reads weight_kg"))
        for key in a.variant_effects:
            if key not in mono.dose.variants:
                at = f"{rel}: adjustments[{i}].variant_effects.{key}"
                problems.append((at, f"'{key}' is not a dose variant of {mono.id}"))


def _reads(cond: SafetyCondition, fact: str) -> bool:
    """Whether a condition compares ``fact`` somewhere."""
    return any(isinstance(n, Leaf) and getattr(n.cond, "fact", None) == fact for n in walk(cond))


def load_folder(root: Path) -> AgentKnowledge:
    """Load and validate ``root/agents`` and ``root/interactions``."""
    problems: list[tuple[str, str]] = []
    files: dict[str, bytes] = {}
    lists = _interactions(root / "interactions", problems, files)
    registry, drugs, labels, class_sources = _merge(lists, problems)
    agents: dict[str, Monograph] = {}
    raw: dict[str, Any] = {}
    folder = root / "agents"
    if not folder.is_dir():
        problems.append(("agents", f"no agent folder at {folder}"))
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        rel = f"agents/{path.name}"
        files[rel] = path.read_bytes()
        data = read_yaml(path, rel, problems)
        mono = _model(Monograph, data, rel, problems)
        if mono is None:
            continue
        _check_monograph(rel, path.stem, mono, drugs, labels, problems)
        agents[mono.id] = mono
        raw[mono.id] = data
    if problems:
        raise KnowledgeError(problems)
    return AgentKnowledge(
        root=root,
        agents=agents,
        raw=raw,
        interactions=tuple(lists),
        registry=registry,
        drugs=drugs,
        class_labels=labels,
        class_sources=class_sources,
        digest=content_digest(files),
        files=tuple(sorted(files)),
        unverified_meds={g: dict(i.unverified) for g, i in drugs.items() if i.unverified},
    )


@cache
def _load_cached(path: str) -> AgentKnowledge:
    return load_folder(Path(path))


_DEFAULT: list[AgentKnowledge] = []


def load_agents(root: Path | None = None) -> AgentKnowledge:
    """Load (once per process and root) the drug-safety knowledge; default root as the guideline's."""
    if root is None and _DEFAULT:
        return _DEFAULT[0]  # the default root is resolved once (this runs on every evaluation)
    kb = _load_cached(str((root or default_knowledge_dir()).resolve()))
    if root is None:
        _DEFAULT.append(kb)
    return kb
