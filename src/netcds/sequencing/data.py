"""Schema and loader of ``knowledge/sequencing/considerations.yaml``.

The file holds the sequencing layer's data: its documents, its conventions
(thresholds that are netcds's, not the guideline's), mechanism classes of the
agents, regimen recognition, practical regimen attributes and the
consideration rules. It is validated whole; every problem names its path.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from netcds.errors import KnowledgeError
from netcds.evaluation import SourceRef
from netcds.knowledge.load import default_knowledge_dir, parse_yaml, validation_problems
from netcds.logic.ast import Condition, ConditionSyntaxError, facts_of
from netcds.memo import PerObject
from netcds.patient import AGENT_IDS, REGIMEN_AGENTS
from netcds.sequencing.models import Direction, Factor
from netcds.sequencing.rulefacts import SEQ_FACTS, parse_rule_condition

OptionStatus = Literal["eligible", "needs_data", "not_eligible"]
DEFAULT_STATUSES: tuple[OptionStatus, ...] = ("eligible", "needs_data")
TABLE_IDS = ("gi_wd_g12", "lung_thymus", "pancreas_wd_g12", "wd_g3")
# a rule text may name a seq.*/opt.* fact in braces; the option's own words for it are put there
PLACEHOLDER = re.compile(r"\{((?:seq|opt)\.[a-z_]+)\}")
# validation context key: leave the cross-references to parse_data, which lists each with its own path
DEFER_CROSS_CHECK = "defer_cross_check"


def _condition(value: Any) -> Any:
    if value is None or isinstance(value, Condition):
        return value
    try:
        return parse_rule_condition(value)
    except ConditionSyntaxError as exc:
        raise ValueError(str(exc)) from None


RuleCond = Annotated[Any, BeforeValidator(_condition)]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Document(_Data):
    document: Annotated[str, Field(min_length=3)]
    version: str | None = None
    url: str | None = None
    date: str | None = None


class Cite(_Data):
    """A citation of one of the file's documents, with where in it."""

    doc: str
    section: str | None = None
    page: str | None = None
    table: str | None = None
    footnote: str | None = None


class Conventions(_Data):
    concurrent_start_window_days: Annotated[int, Field(ge=0, le=90)]
    short_durability_months: Annotated[float, Field(gt=0)]
    durable_control_months: Annotated[float, Field(gt=0)]
    pace_slow_below_pct_per_month: Annotated[float, Field(gt=0)]
    pace_rapid_from_pct_per_month: Annotated[float, Field(gt=0)]
    note: str

    @model_validator(mode="after")
    def _ordered(self) -> Conventions:
        if self.pace_slow_below_pct_per_month >= self.pace_rapid_from_pct_per_month:
            raise ValueError("pace_slow_below_pct_per_month: must be below pace_rapid_from_pct_per_month")
        if self.short_durability_months >= self.durable_control_months:
            raise ValueError("short_durability_months: must be below durable_control_months")
        return self


class AgentClass(_Data):
    label: str
    agents: list[str] = Field(min_length=1)
    compare_durability: bool
    myelosuppressive: bool = False
    tki: bool = False
    sources: list[Cite] = Field(default_factory=list)


class Recognition(_Data):
    regimen: str
    requires: list[str]
    optional: list[str] = Field(default_factory=list)


class VariantListing(_Data):
    """How one table lists a group of variant regimens, in words, with its citation."""

    says: Annotated[str, Field(min_length=5)]
    source: Cite


class Variants(_Data):
    """Regimens the guideline offers as one choice (one bullet naming them as alternatives), so
    progression on one is stated at the others. ``says`` is what relates them (table-neutral);
    ``tables`` says, per table, how that table lists them, with the citation. A table not named
    there does not group them, and nothing is stated."""

    regimens: list[str] = Field(min_length=2)
    says: Annotated[str, Field(min_length=5)]
    tables: dict[str, VariantListing] = Field(min_length=1)


class SharedStatement(_Data):
    """Rules that restate one statement of a source from different angles (factors). Each fires and
    is shown on its own; in the discussion order the statement moves an option at most once in each
    direction, like a factor (ordering.py)."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    says: Annotated[str, Field(min_length=10)]
    rules: list[str] = Field(min_length=2)


class RegimenInfo(_Data):
    """Practical attributes of a regimen. An attribute left out (or null) is *unknown*, never "no":
    the rules that read it are not assessed and name it (``regimens.<id>.<attribute>``); ``note``
    says why it is not encoded (e.g. the entry is a choice of agents that differ)."""

    route: Literal["oral", "infusion", "injection"] | None = None
    lab_monitoring: bool | None = None
    note: str | None = None
    sources: list[Cite] = Field(min_length=1)

    @model_validator(mode="after")
    def _unknown_explained(self) -> RegimenInfo:
        if (self.route is None or self.lab_monitoring is None) and not self.note:
            raise ValueError(
                "note: say why an attribute left unknown (route or lab_monitoring) is not encoded"
            )
        return self


class Rule(_Data):
    id: Annotated[str, Field(pattern=r"^[a-z0-9_.]+$")]
    factor: Factor
    direction: Direction
    applies_to: list[str] | Literal["all"]
    # regimens the rule never concerns even when `applies_to` is "all"
    excludes: list[str] = Field(default_factory=list)
    # regimens the rule does not concern in the named tables only (regimen -> table ids), e.g. where
    # a footnote those tables carry speaks for the regimen instead
    excludes_in: dict[str, list[str]] = Field(default_factory=dict)
    tables: list[str] | None = None
    # an option this rule fires for is placed after the options without such a concern
    holds_back: bool = False
    statuses: list[OptionStatus] = Field(default_factory=lambda: list(DEFAULT_STATUSES))
    when: RuleCond
    text: Annotated[str, Field(min_length=10)]
    sources: list[Cite] = Field(min_length=1)

    @property
    def condition(self) -> Condition:
        cond: Condition = self.when
        return cond

    def applies(self, regimen: str, table: str | None) -> bool:
        if self.tables is not None and table not in self.tables:
            return False
        if regimen in self.excludes or table in self.excludes_in.get(regimen, ()):
            return False
        return self.applies_to == "all" or regimen in self.applies_to

    @property
    def placeholders(self) -> list[str]:
        """The seq.*/opt.* facts named in braces in the text (filled with the option's words)."""
        return PLACEHOLDER.findall(self.text)


class SequencingData(_Data):
    version: int
    documents: dict[str, Document]
    conventions: Conventions
    classes: dict[str, AgentClass]
    recognition: list[Recognition]
    regimens: dict[str, RegimenInfo]
    variants: list[Variants] = Field(default_factory=list)
    shared_statements: list[SharedStatement] = Field(default_factory=list)
    rules: list[Rule]

    @model_validator(mode="after")
    def _cross_check(self, info: ValidationInfo) -> SequencingData:
        # parse_data() asks to collect these itself, so that each is reported with its own path
        if info.context and info.context.get(DEFER_CROSS_CHECK):
            return self
        problems = self.cross_problems()
        if problems:
            raise ValueError("; ".join(f"{where}: {msg}" for where, msg in problems))
        return self

    def cross_problems(self) -> list[tuple[str, str]]:
        """References between the parts of the file and to the contract's agent, regimen and table ids,
        each as ``(path, message)``."""
        problems: list[tuple[str, str]] = []
        agents = set(AGENT_IDS)
        seen_agents: dict[str, str] = {}
        for cid, cls in self.classes.items():
            for a in cls.agents:
                if a not in agents:
                    problems.append((f"classes.{cid}.agents", f"unknown agent '{a}'"))
                if a in seen_agents:
                    problems.append((f"classes.{cid}.agents", f"'{a}' already in class '{seen_agents[a]}'"))
                seen_agents[a] = cid
        for i, r in enumerate(self.recognition):
            if r.regimen not in REGIMEN_AGENTS:
                problems.append((f"recognition[{i}].regimen", f"unknown regimen '{r.regimen}'"))
            for a in [*r.requires, *r.optional]:
                if a not in agents:
                    problems.append((f"recognition[{i}]", f"unknown agent '{a}'"))
        grouped: set[str] = set()
        for i, v in enumerate(self.variants):
            for reg in v.regimens:
                if reg not in REGIMEN_AGENTS:
                    problems.append((f"variants[{i}].regimens", f"unknown regimen '{reg}'"))
                if reg in grouped:
                    problems.append((f"variants[{i}].regimens", f"'{reg}' already in another group"))
                grouped.add(reg)
            for t, listing in v.tables.items():
                if t not in TABLE_IDS:
                    problems.append((f"variants[{i}].tables", f"unknown table '{t}'"))
                problems += self._check_cites(f"variants[{i}].tables.{t}.source", [listing.source])
        for rid, info in self.regimens.items():
            if rid not in REGIMEN_AGENTS:
                problems.append((f"regimens.{rid}", "unknown regimen id"))
            problems += self._check_cites(f"regimens.{rid}.sources", info.sources)
        ids: set[str] = set()
        for i, rule in enumerate(self.rules):
            where = f"rules[{i}] ({rule.id})"
            if rule.id in ids:
                problems.append((f"{where}.id", "duplicate rule id"))
            ids.add(rule.id)
            if rule.applies_to != "all":
                for reg in rule.applies_to:
                    if reg not in REGIMEN_AGENTS:
                        problems.append((f"{where}.applies_to", f"unknown regimen '{reg}'"))
            for reg in rule.excludes:
                if reg not in REGIMEN_AGENTS:
                    problems.append((f"{where}.excludes", f"unknown regimen '{reg}'"))
            for reg, tables in rule.excludes_in.items():
                if reg not in REGIMEN_AGENTS:
                    problems.append((f"{where}.excludes_in", f"unknown regimen '{reg}'"))
                problems += [
                    (f"{where}.excludes_in.{reg}", f"unknown table '{t}'")
                    for t in tables
                    if t not in TABLE_IDS
                ]
            for name in rule.placeholders:
                if name not in SEQ_FACTS:
                    problems.append((f"{where}.text", f"unknown sequencing fact '{{{name}}}'"))
            for t in rule.tables or []:
                if t not in TABLE_IDS:
                    problems.append((f"{where}.tables", f"unknown table '{t}'"))
            problems += self._check_cites(f"{where}.sources", rule.sources)
        for cid, cls in self.classes.items():
            problems += self._check_cites(f"classes.{cid}.sources", cls.sources)
        stated: dict[str, str] = {}
        for i, st in enumerate(self.shared_statements):
            for rid in st.rules:
                if rid not in ids:
                    problems.append((f"shared_statements[{i}] ({st.id}).rules", f"unknown rule '{rid}'"))
                if rid in stated:
                    problems.append(
                        (f"shared_statements[{i}] ({st.id}).rules", f"'{rid}' already in '{stated[rid]}'")
                    )
                stated[rid] = st.id
        return problems

    def _check_cites(self, where: str, cites: list[Cite]) -> list[tuple[str, str]]:
        return [(where, f"unknown document '{c.doc}'") for c in cites if c.doc not in self.documents]

    def source(self, cite: Cite) -> SourceRef:
        """The citation as an output source (one object per citation of this data: never changed)."""
        return lookups(self).source(cite)

    def variants_of(self, regimen: str, table: str | None) -> tuple[list[str], str, Cite | None]:
        """The other regimens offered as one choice with this one in this table, what relates them and
        how this table lists them (in words), and the citation; nothing when the table does not
        group them."""
        others, says, cite = lookups(self).variants_of(regimen, table)
        return list(others), says, cite

    def statement_of(self) -> dict[str, str]:
        """Rule id -> the shared statement it restates (rules in no shared statement are absent)."""
        return dict(lookups(self).statements)

    def class_of(self, agent: str) -> str | None:
        return lookups(self).agent_class.get(agent)

    def route_of(self, regimen: str) -> str | None:
        info = self.regimens.get(regimen)
        return info.route if info else None

    def lab_monitoring_of(self, regimen: str) -> bool | None:
        """Whether the regimen's labels ask for regular checks during treatment; None when not encoded."""
        info = self.regimens.get(regimen)
        return info.lab_monitoring if info else None


class Lookups:
    """What the sequencing layer looks up in one loaded SequencingData for every option of every
    patient, found once per loaded object (the data is frozen): each agent's class, the rules that may
    concern a regimen in a table (in data order), the facts each rule reads, the rules that hold an
    option back, the shared statements, each table's variants of a regimen and each citation's
    output source. The per-regimen parts fill in on first use; they only ever gain entries."""

    def __init__(self, data: SequencingData) -> None:
        self.data = data
        self.source: PerObject[Cite, SourceRef] = PerObject(self._source)
        self.agent_class: dict[str, str] = {}
        for cid, cls in data.classes.items():
            for a in cls.agents:
                self.agent_class.setdefault(a, cid)
        self.holding = frozenset(r.id for r in data.rules if r.holds_back)
        self.statements = {rid: st.id for st in data.shared_statements for rid in st.rules}
        self.reads: dict[str, frozenset[str]] = {}
        for r in data.rules:
            self.reads[r.id] = self.reads.get(r.id, frozenset()) | facts_of(r.condition)
        self._rules: dict[tuple[str, str | None], tuple[Rule, ...]] = {}
        self._variants: dict[tuple[str, str | None], tuple[tuple[str, ...], str, Cite | None]] = {}

    def rules_for(self, regimen: str, table: str | None) -> tuple[Rule, ...]:
        """The rules that apply to this regimen in this table (``Rule.applies``), in data order."""
        found = self._rules.get((regimen, table))
        if found is None:
            found = tuple(r for r in self.data.rules if r.applies(regimen, table))
            self._rules[(regimen, table)] = found
        return found

    def variants_of(self, regimen: str, table: str | None) -> tuple[tuple[str, ...], str, Cite | None]:
        found = self._variants.get((regimen, table))
        if found is None:
            found = ((), "", None)
            for v in self.data.variants:
                if regimen in v.regimens and table in v.tables:
                    listing = v.tables[table]
                    others = tuple(r for r in v.regimens if r != regimen)
                    found = (others, f"{v.says}; {listing.says}", listing.source)
                    break
            self._variants[(regimen, table)] = found
        return found

    def _source(self, cite: Cite) -> SourceRef:
        d = self.data.documents[cite.doc]
        return SourceRef(
            document=d.document,
            version=d.version,
            page=cite.page,
            table=cite.table,
            footnote=cite.footnote,
            section=cite.section,
            url=d.url,
            date=d.date,
        )


# the Lookups of a loaded data (built on first use)
lookups: PerObject[SequencingData, Lookups] = PerObject(Lookups)


def default_path() -> Path:
    return default_knowledge_dir() / "sequencing" / "considerations.yaml"


_DEFAULT: list[SequencingData] = []


def load_sequencing_data(path: Path | None = None) -> SequencingData:
    """Load and validate the sequencing data file (cached per path; the default resolved once)."""
    if path is None and _DEFAULT:
        return _DEFAULT[0]
    data = _load(str((path or default_path()).resolve()))
    if path is None:
        _DEFAULT.append(data)
    return data


@cache
def _load(path: str) -> SequencingData:
    rel = "sequencing/considerations.yaml"
    try:
        raw = parse_yaml(Path(path).read_text(encoding="utf-8"))  # a key given twice is refused
    except FileNotFoundError:
        raise KnowledgeError([(path, "file not found")]) from None
    except yaml.YAMLError as exc:
        raise KnowledgeError([(rel, f"not valid YAML: {exc}".replace("\n", " "))]) from None
    except UnicodeDecodeError as exc:
        raise KnowledgeError([(rel, f"not UTF-8 text (byte {exc.start})")]) from None
    except RecursionError:
        raise KnowledgeError([(rel, "not readable: nested too deeply")]) from None
    return parse_data(raw, rel)


def parse_data(raw: Any, rel: str) -> SequencingData:
    """Validate the file's parsed YAML; KnowledgeError lists every problem as ``(f"{rel}: path", message)``,
    each cross-reference problem on its own (the schema's first, as they hide the rest)."""
    try:
        data = SequencingData.model_validate(raw, context={DEFER_CROSS_CHECK: True})
    except ValidationError as exc:
        raise KnowledgeError(validation_problems(exc, rel)) from None
    problems = data.cross_problems()
    if problems:
        raise KnowledgeError([(f"{rel}: {where}", msg) for where, msg in problems])
    return data
