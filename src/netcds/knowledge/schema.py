"""Models of the knowledge data files (one guideline version).

Conditions are parsed into the AST while the files are validated, so a bad
fact name or operator is an error with its path, never a run-time surprise.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from netcds.logic.ast import Condition, ConditionSyntaxError, parse_condition
from netcds.patient import REGIMEN_AGENTS

Tier = Literal["preferred", "other_recommended", "useful_in_certain_circumstances", "listed"]
Category = Literal["1", "2A", "2B", "3"]
TIER_ORDER: tuple[str, ...] = ("preferred", "other_recommended", "useful_in_certain_circumstances", "listed")


def _condition(value: Any) -> Any:
    if value is None or isinstance(value, Condition):
        return value
    try:
        return parse_condition(value)
    except ConditionSyntaxError as exc:
        raise ValueError(str(exc)) from None


Cond = Annotated[Any, BeforeValidator(_condition)]
Text = Annotated[str, Field(min_length=3)]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Source(_Data):
    """Where a fact comes from: the guideline page/table/footnote, or a public URL."""

    document: Text
    page: str | None = None
    table: str | None = None
    footnote: str | None = None
    section: str | None = None
    url: str | None = None
    date: str | None = None


class CategoryRule(_Data):
    category: Category
    says: Text
    when: Cond


class Qualifier(_Data):
    """A guideline qualifier reported for the patient but not gating eligibility."""

    says: Text
    when: Cond
    footnote: str | None = None


class Entry(_Data):
    id: Annotated[str, Field(pattern=r"^[a-z0-9_.]+$")]
    regimen: str
    label: Text
    tier: Tier
    category: Category | None = None  # None: the manifest's default
    category_rules: list[CategoryRule] = Field(default_factory=list)
    when: Cond = None
    when_says: str | None = None
    qualifiers: list[Qualifier] = Field(default_factory=list)
    footnotes: list[str] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    see: list[str] = Field(default_factory=list)
    intent: Literal["neoadjuvant"] | None = None
    group: str | None = None
    guideline_dose: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _regimen_known(self) -> Entry:
        if self.regimen not in REGIMEN_AGENTS:
            raise ValueError(f"regimen: unknown regimen id '{self.regimen}'")
        return self


class Column(_Data):
    id: str | None = None
    label: Text
    when: Cond
    empty_tiers: list[Tier] = Field(default_factory=list)  # tiers the guideline marks "None"
    entries: list[Entry] = Field(min_length=1)


class InferredFootnotes(_Data):
    """Footnote letters a table cites whose text is not on its own (missing) footnote page: shown with
    the text the same letters carry elsewhere, and every citation of them says so (5.2024-r10)."""

    letters: list[Annotated[str, Field(pattern=r"^[a-z]$")]] = Field(min_length=1)
    section: Text  # how the text was inferred, shown in each citation


class Table(_Data):
    id: Literal["gi_wd_g12", "lung_thymus", "pancreas_wd_g12", "wd_g3"]
    title: Text
    source: Source
    applies_when: Cond
    title_footnotes: list[str] = Field(default_factory=list)
    ssa_plan_footnote: str | None = None
    # the SSA course the plan's footnote speaks of (5.2024-r5: progression on it); None (the releases
    # before r5): any recorded octreotide LAR / lanreotide course
    ssa_plan_course: Cond = None
    principles: list[str] = Field(default_factory=list)
    # pages the table refers to beyond its entries' own ``see`` (None: the engine's list for 5.2024)
    see: list[str] | None = None
    inferred_footnotes: InferredFootnotes | None = None
    columns: list[Column] = Field(min_length=1)

    def footnote_section(self, letter: str) -> str | None:
        """The citation's note for a footnote letter whose text is inferred on this table, else None."""
        inferred = self.inferred_footnotes
        return inferred.section if inferred is not None and letter in inferred.letters else None


class Footnote(_Data):
    letter: Annotated[str, Field(pattern=r"^[a-z]$")]
    available: bool
    text: str | None = None
    unavailable_reason: str | None = None
    source: Source

    @model_validator(mode="after")
    def _text_or_reason(self) -> Footnote:
        if self.available and not self.text:
            raise ValueError("text: required when the footnote is available")
        if not self.available and not self.unavailable_reason:
            raise ValueError("unavailable_reason: required when the footnote is not in the source")
        return self


class Principle(_Data):
    id: str
    text: Text
    when: Cond = None
    source: Source


ExclusionScope = Literal["pages_not_in_source"]


class Exclusion(_Data):
    """A named reason why no table applies (shown instead of a bare 'not applicable').

    ``scope: pages_not_in_source`` marks a situation the guideline handles on pages the source does not
    contain: the encoded tables cannot judge a decision for it (the cohort audit's ``out_of_scope``
    verdict). Unmarked (``None``, and every exclusion of the releases before 5.2024-r4): the exclusion
    restates a table's own row criteria."""

    id: str
    when: Cond
    text: Text
    source: Source
    scope: ExclusionScope | None = None


class Reference(_Data):
    id: str
    title: Text
    available: bool
    note: Text


class Manifest(_Data):
    id: str
    version: str
    # the knowledge release (its folder's name) when it differs from the guideline version: a second
    # encoding of the same guideline version; ``replaces`` names the release it supersedes
    release: str | None = None
    release_date: date | None = None
    replaces: str | None = None
    changes: list[Text] = Field(default_factory=list)
    title: Text
    version_date: date
    publisher: Text
    section: Text
    seed: Text
    default_category: Category
    default_category_source: Source
    tables: list[str] = Field(min_length=1)
    footnotes: str
    principles: str
    exclusions: str
    references: list[Reference] = Field(default_factory=list)


class Knowledge(_Data):
    manifest: Manifest
    tables: list[Table]
    footnotes: dict[str, Footnote]
    principles: dict[str, Principle]
    exclusions: list[Exclusion]
    digest: str

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def version(self) -> str:
        """The guideline version the data encodes (cited in every source), e.g. 5.2024."""
        return self.manifest.version

    @property
    def release(self) -> str:
        """The knowledge release: the folder that selects exactly this data (e.g. 5.2024-r9)."""
        return self.manifest.release or self.manifest.version

    def table(self, table_id: str) -> Table:
        for t in self.tables:
            if t.id == table_id:
                return t
        raise KeyError(table_id)
