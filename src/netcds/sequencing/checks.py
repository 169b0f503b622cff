"""``netcds kb validate`` for the sequencing data: everything a knowledge author needs caught.

:func:`validate_knowledge` reads ``<knowledge root>/sequencing/considerations.yaml`` uncached and
collects EVERY problem as ``(file: path, message)`` before raising one KnowledgeError:

- the schema and the file's own cross-references (``SequencingData``; each problem with its own path,
  each problem inside a rule condition with its path in the condition);
- condition forms the sequencing parser refuses (``all``/``any``/``not`` mixed with other keys, an
  empty ``says``: ``rulefacts.parse_rule_condition``, so loading refuses them too);
- citations that do not say where in their document they point, a class marked myelosuppressive
  without a source, duplicate shared-statement ids, a regimen both in a rule's ``applies_to`` and its
  ``excludes``;
- against the DEFAULT guideline release (``DEFAULT_VERSION``; every installed release encodes the same
  guideline version, and the default is the one evaluations use unless told otherwise): every regimen
  a table carries has a ``regimens`` entry, every rule concerns at least one option (a regimen listed in
  ``applies_to`` that no table, within the rule's ``tables``, carries is named), and every citation of
  the guideline names a page, table and footnote letter that exist there, a footnote whose text the
  source holds, and one printed at an entry the citing rule, regimen or variant concerns;
- YAML files in ``sequencing/`` other than ``considerations.yaml`` (nothing reads them).

Nothing clinical is decided here: only whether the references resolve.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from netcds.errors import KnowledgeError
from netcds.knowledge.load import (
    DEFAULT_GUIDELINE,
    DEFAULT_VERSION,
    content_digest,
    default_knowledge_dir,
    load_folder,
    read_yaml,
    validation_problems,
)
from netcds.logic.ast import ConditionSyntaxError
from netcds.sequencing.data import DEFER_CROSS_CHECK, Cite, SequencingData
from netcds.sequencing.rulefacts import parse_rule_condition

FILE = "considerations.yaml"
REL = f"sequencing/{FILE}"

Pair = tuple[str, str]  # (table id, regimen id) as a release places an entry


@dataclass
class Release:
    """What the sequencing data may cite or name in one guideline release."""

    name: str  # nccn-net/5.2024-r9
    version: str
    documents: set[str]  # the document names its sources give (NCCN NET V.5.2024)
    pages: set[str]  # pages whose content the release encodes
    unavailable: dict[str, str]  # pages it names whose content is not in the source -> what they are
    tables: dict[str, str]  # table id -> the table's name in its source
    footnotes: dict[str, bool]  # letter -> whether its text is in the source
    carried: dict[Pair, set[str]] = field(default_factory=dict)  # entry -> the footnote letters at it

    def table_named(self, name: str) -> str | None:
        """The id of the table a citation names (its source name, with or without its bracketed grade)."""
        for tid, full in self.tables.items():
            if name in (full, full.split(" (")[0]):
                return tid
        return None


def release_of(root: Path, version: str = DEFAULT_VERSION) -> Release:
    """The default release's names (loaded uncached; KnowledgeError when it does not load)."""
    kb = load_folder(root / DEFAULT_GUIDELINE / version)
    sources = [t.source for t in kb.tables] + [kb.manifest.default_category_source]
    sources += [p.source for p in kb.principles.values()] + [e.source for e in kb.exclusions]
    sources += [f.source for f in kb.footnotes.values() if f.available]
    pages = {s.page for s in sources if s.page}
    unavailable = {r.id: r.title for r in kb.manifest.references if not r.available}
    for f in kb.footnotes.values():
        if not f.available and f.source.page and f.source.page not in pages:
            unavailable.setdefault(f.source.page, f"the page of footnote {f.letter}")
    rel = Release(
        name=f"{DEFAULT_GUIDELINE}/{version}",
        version=kb.manifest.version,
        documents={s.document for s in sources},
        pages=pages,
        unavailable=unavailable,
        tables={t.id: t.source.table or t.title for t in kb.tables},
        footnotes={f.letter: f.available for f in kb.footnotes.values()},
    )
    for t in kb.tables:
        table_level = set(t.title_footnotes) | ({t.ssa_plan_footnote} if t.ssa_plan_footnote else set())
        for c in t.columns:
            for e in c.entries:
                at = rel.carried.setdefault((t.id, e.regimen), set(table_level))
                at.update(e.footnotes, (q.footnote for q in e.qualifiers if q.footnote))
    return rel


# ---- the raw file --------------------------------------------------------------------------------


def _rule_where(raw: Any, i: int) -> str:
    rid = raw.get("id") if isinstance(raw, dict) else None
    return f"rules[{i}] ({rid})" if isinstance(rid, str) else f"rules[{i}]"


def _expand_conditions(raw: Any, problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A rule condition's problems come from the schema as one message; list each with its own path."""
    rules = raw.get("rules") if isinstance(raw, dict) else None
    out: list[tuple[str, str]] = []
    for path, msg in problems:
        rule = _condition_rule(path, rules)
        if rule is None:
            out.append((path, msg))
            continue
        i, r = rule
        try:
            parse_rule_condition(r["when"], "when")
        except ConditionSyntaxError as exc:
            out += [(f"{REL}: {_rule_where(r, i)}.{p}", m) for p, m in exc.problems]
            continue
        out.append((path, msg))
    return out


def _condition_rule(path: str, rules: Any) -> tuple[int, dict[str, Any]] | None:
    head = f"{REL}: rules["
    if not (path.startswith(head) and path.endswith("].when")) or not isinstance(rules, list):
        return None
    index = path[len(head) : -len("].when")]
    if not index.isdigit() or int(index) >= len(rules) or not isinstance(rules[int(index)], dict):
        return None
    return int(index), rules[int(index)]


# ---- the validated data --------------------------------------------------------------------------


def data_problems(data: SequencingData) -> list[tuple[str, str]]:
    """Checks of the validated data that need no guideline release."""
    problems: list[tuple[str, str]] = []
    for where, cite in _cites(data):
        if not (cite.section or cite.page or cite.table or cite.footnote):
            problems.append(
                (where, f"say where in '{cite.doc}' this points (section, page, table or footnote)")
            )
    for cid, cls in data.classes.items():
        if cls.myelosuppressive and not cls.sources:
            problems.append((f"classes.{cid}.sources", "a class marked myelosuppressive cites its source"))
    seen: set[str] = set()
    for i, st in enumerate(data.shared_statements):
        if st.id in seen:
            problems.append((f"shared_statements[{i}].id", f"duplicate shared statement id '{st.id}'"))
        seen.add(st.id)
    for i, rule in enumerate(data.rules):
        if rule.applies_to != "all":
            for reg in sorted(set(rule.applies_to) & set(rule.excludes)):
                problems.append(
                    (
                        f"rules[{i}] ({rule.id}).excludes",
                        f"'{reg}' is also in applies_to: it is never concerned",
                    )
                )
    return [(f"{REL}: {where}", msg) for where, msg in problems]


def _cites(data: SequencingData) -> list[tuple[str, Cite]]:
    out = [
        (f"classes.{cid}.sources[{j}]", c)
        for cid, cls in data.classes.items()
        for j, c in enumerate(cls.sources)
    ]
    out += [
        (f"regimens.{rid}.sources[{j}]", c)
        for rid, r in data.regimens.items()
        for j, c in enumerate(r.sources)
    ]
    for i, v in enumerate(data.variants):
        out += [(f"variants[{i}].tables.{t}.source", listing.source) for t, listing in v.tables.items()]
    for i, rule in enumerate(data.rules):
        out += [(f"rules[{i}] ({rule.id}).sources[{j}]", c) for j, c in enumerate(rule.sources)]
    return out


# ---- against the default guideline release -------------------------------------------------------


def release_problems(data: SequencingData, rel: Release) -> list[tuple[str, str]]:
    """The data's regimens, rules and guideline citations against one release."""
    problems: list[tuple[str, str]] = []
    in_tables: dict[str, list[str]] = {}
    for table, reg in sorted(rel.carried):
        in_tables.setdefault(reg, []).append(table)
    for reg, tables in sorted(in_tables.items()):
        if reg not in data.regimens:
            why = "give its route and lab_monitoring, or a note saying why they stay unknown"
            problems.append(
                ("regimens", f"no entry for '{reg}', which {rel.name} carries ({', '.join(tables)}): {why}")
            )
    guideline = {key for key, d in data.documents.items() if d.document in rel.documents}
    for key in sorted(guideline):
        doc = data.documents[key]
        if doc.version is not None and doc.version != rel.version:
            problems.append(
                (
                    f"documents.{key}.version",
                    f"'{doc.version}' but {rel.name} encodes version '{rel.version}'",
                )
            )
    for i, rule in enumerate(data.rules):
        where = f"rules[{i}] ({rule.id})"
        scope = {p for p in rel.carried if rule.applies(p[1], p[0])}
        within = f" of its tables ({', '.join(rule.tables)})" if rule.tables is not None else ""
        if rule.applies_to != "all":
            for reg in rule.applies_to:
                if not any(r == reg for _, r in scope) and reg not in rule.excludes:
                    problems.append(
                        (
                            f"{where}.applies_to",
                            f"'{reg}' is in no table{within} of {rel.name}: never concerned",
                        )
                    )
        for t in rule.tables or []:
            if t in rel.tables and not any(tid == t for tid, _ in scope):
                problems.append(
                    (f"{where}.tables", f"the rule concerns no entry of table '{t}' in {rel.name}")
                )
        if not scope and rule.applies_to == "all":
            problems.append(
                (where, f"concerns no option of {rel.name} (no table carries what it applies to)")
            )
        for j, cite in enumerate(rule.sources):
            if cite.doc in guideline:
                problems += _guideline_cite(f"{where}.sources[{j}]", cite, scope, rel)
    for rid, info in data.regimens.items():
        scope = {p for p in rel.carried if p[1] == rid}
        for j, cite in enumerate(info.sources):
            if cite.doc in guideline:
                problems += _guideline_cite(f"regimens.{rid}.sources[{j}]", cite, scope, rel)
    for i, v in enumerate(data.variants):
        for t, listing in v.tables.items():
            scope = {(t, reg) for reg in v.regimens if (t, reg) in rel.carried}
            if listing.source.doc in guideline:
                problems += _guideline_cite(f"variants[{i}].tables.{t}.source", listing.source, scope, rel)
    for cid, cls in data.classes.items():
        for j, cite in enumerate(cls.sources):
            if cite.doc in guideline:
                problems += _guideline_cite(f"classes.{cid}.sources[{j}]", cite, None, rel)
    return [(f"{REL}: {where}", msg) for where, msg in problems]


def _guideline_cite(where: str, cite: Cite, scope: set[Pair] | None, rel: Release) -> list[tuple[str, str]]:
    """A citation of the guideline: its page, table and footnote exist in the release, the footnote's
    text is in the source, and the table and footnote belong to an entry the citing item concerns
    (``scope``; None: not tied to entries)."""
    problems: list[tuple[str, str]] = []
    if cite.page is None:
        problems.append((f"{where}.page", "a citation of the guideline names its page"))
    elif cite.page in rel.unavailable and cite.page not in rel.pages:
        what = rel.unavailable[cite.page]
        problems.append((f"{where}.page", f"'{cite.page}' ({what}) is not in the source: it cannot be cited"))
    elif cite.page not in rel.pages:
        problems.append(
            (f"{where}.page", f"unknown page '{cite.page}' (in {rel.name}: {', '.join(sorted(rel.pages))})")
        )
    if cite.table is not None:
        tid = rel.table_named(cite.table)
        if tid is None:
            names = ", ".join(sorted(set(rel.tables.values())))
            problems.append((f"{where}.table", f"unknown table '{cite.table}' (in {rel.name}: {names})"))
        elif scope is not None and not any(t == tid for t, _ in scope):
            problems.append((f"{where}.table", f"'{cite.table}' ({tid}) carries no entry this concerns"))
    if cite.footnote is not None:
        letter = cite.footnote
        if letter not in rel.footnotes:
            problems.append((f"{where}.footnote", f"unknown footnote '{letter}' in {rel.name}"))
        elif not rel.footnotes[letter]:
            problems.append(
                (f"{where}.footnote", f"footnote '{letter}' is not in the source: it cannot be cited")
            )
        elif scope is not None and not any(letter in rel.carried[p] for p in scope):
            at = sorted(f"{t}/{r}" for (t, r), notes in rel.carried.items() if letter in notes)
            problems.append(
                (
                    f"{where}.footnote",
                    f"footnote '{letter}' is at no entry this concerns (it is at {', '.join(at)})",
                )
            )
    return problems


# ---- the command ---------------------------------------------------------------------------------


def validate_knowledge(root: Path | None = None) -> str:
    """Validate the sequencing data (uncached); KnowledgeError lists every problem with file and path."""
    root = (root or default_knowledge_dir()).resolve()
    folder = root / "sequencing"
    problems: list[tuple[str, str]] = []
    for other in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
        if other.name != FILE:
            problems.append((f"sequencing/{other.name}", f"not read: the sequencing layer reads only {FILE}"))
    path = folder / FILE
    raw = read_yaml(path, REL, problems)
    if problems:
        raise KnowledgeError(problems)
    try:  # the schema first: nothing else can be read from a file that does not fit it
        data = SequencingData.model_validate(raw, context={DEFER_CROSS_CHECK: True})
    except ValidationError as exc:
        raise KnowledgeError(problems + _expand_conditions(raw, validation_problems(exc, REL))) from None
    problems += [(f"{REL}: {where}", msg) for where, msg in data.cross_problems()]
    problems += data_problems(data)
    name = f"{DEFAULT_GUIDELINE}/{DEFAULT_VERSION}"
    try:
        problems += release_problems(data, release_of(root))
    except KnowledgeError:  # its own errors are listed under its folder; unchecked is not "fine"
        problems.append((REL, f"guideline references not checked: {name} does not load"))
    if problems:
        raise KnowledgeError(problems)
    factors = {r.factor for r in data.rules}
    return (
        f"sequencing: {len(data.rules)} considerations, {len(factors)} factors, {len(data.regimens)} "
        f"regimens, {len(data.classes)} agent classes, guideline references checked against {name}, "
        f"digest {content_digest({REL: path.read_bytes()})}"
    )
