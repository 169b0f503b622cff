"""Models of the drug-safety data files: agent monographs and interaction lists.

Every model forbids unknown keys. Every clinical item (dose, adjustment,
warning, monitoring step, interaction membership) carries a ``source`` that
names one of the file's ``sources`` plus the section it comes from; the loader
checks that each reference resolves. Conditions are parsed while the file is
validated, so a bad fact, operator or medication form is an error with its path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from netcds.safety.conditions import SafetyCondition, SafetyConditionError, parse_safety_condition

Severity = Literal["critical", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}
Slug = Annotated[str, Field(pattern=r"^[a-z0-9_]+$", min_length=2, max_length=80)]
Text = Annotated[str, Field(min_length=3, max_length=1200)]
Unit = Literal["mg", "mcg", "GBq", "mg/m2", "mg/kg", "AUC"]
Route = Literal["oral", "intravenous", "intramuscular", "subcutaneous"]


def _condition(value: Any) -> Any:
    if value is None or isinstance(value, SafetyCondition):
        return value
    try:
        return parse_safety_condition(value)
    except SafetyConditionError as exc:
        raise ValueError(str(exc)) from None


Cond = Annotated[Any, BeforeValidator(_condition)]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Checked(_Data):
    """An item whose fact was (or could not be) confirmed against a stored copy of the label.

    ``verified: false`` marks a fact that could not be confirmed from any stored public source;
    ``verification`` then says what is unconfirmed. The screen reports such items as UNVERIFIED.
    """

    verified: bool = True
    verification: Text | None = None

    @model_validator(mode="after")
    def _explained(self) -> Checked:
        if not self.verified and not self.verification:
            raise ValueError("verification: say what could not be confirmed when verified is false")
        return self


class SourceDoc(_Data):
    """A public document: a US label (DailyMed/FDA), an FDA table, or a seed of this project."""

    document: Text
    url: Annotated[str, Field(pattern=r"^https://")] | None = None
    seed: Annotated[str, Field(pattern=r"^[0-9]{3}$")] | None = None
    date: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _locatable(self) -> SourceDoc:
        if not self.url and not self.seed:
            raise ValueError("url: a source needs a public URL (or the seed number it comes from)")
        return self


class CiteRef(_Data):
    ref: Slug
    section: Text


class Cite(_Data):
    """A reference to one of the file's sources plus the section the fact is taken from;
    ``also`` names further sources saying the same (e.g. the seed and the label)."""

    ref: Slug
    section: Text
    also: list[CiteRef] = Field(default_factory=list)


class Effect(_Data):
    """What an adjustment does to the dose; exactly one kind."""

    base: float | None = Field(default=None, gt=0)  # population starting dose (replaces the standard)
    # population dose by body weight (dose unit per kg, e.g. 2 mg/kg), at most ``up_to``; its rule must read
    # weight_kg (the amount is computed from the recorded weight)
    per_kg: float | None = Field(default=None, gt=0)
    up_to: float | None = Field(default=None, gt=0)
    set: float | None = Field(default=None, gt=0)  # a fixed adjusted dose
    change: float | None = None  # add/subtract, in the dose unit
    percent: float | None = Field(default=None, gt=0, le=100)  # of the protocol dose
    avoid: bool = False  # no labelled dose: avoid the combination/situation
    # no labelled dose, without the label saying to avoid (e.g. a population the label has not studied)
    undetermined: bool = False
    withhold_first: bool = False  # withhold until recovery, then the adjusted dose
    text: Text  # how the adjusted dose reads, e.g. "40 mg orally once daily"

    @model_validator(mode="after")
    def _one_kind(self) -> Effect:
        kinds = [k for k in ("base", "per_kg", "set", "change", "percent") if getattr(self, k) is not None]
        kinds += ["avoid"] if self.avoid else []
        kinds += ["undetermined"] if self.undetermined else []
        if len(kinds) != 1:
            raise ValueError(
                "effect: needs exactly one of base, per_kg, set, change, percent, avoid, undetermined "
                f"(got {kinds or 'none'})"
            )
        if self.up_to is not None and self.per_kg is None:
            raise ValueError("effect: up_to caps a per_kg dose; it needs per_kg")
        return self


class DoseVariant(Checked):
    """The dose of an agent inside one regimen id (e.g. above-label SSA)."""

    standard: Text
    amount: float | None = Field(default=None, gt=0)
    source: Cite


class Dose(Checked):
    standard: Text  # the NET dose and schedule, in words
    amount: float | None = Field(default=None, gt=0)  # fixed amount in `unit` when the dose is flat
    unit: Unit
    schedule: Text  # e.g. "orally once daily"
    net_label: bool  # True when a US label gives this dose for a NET indication
    reduction_steps: list[Text] = Field(default_factory=list)
    minimum: float | None = Field(default=None, gt=0)  # lowest labelled daily amount
    maximum: float | None = Field(default=None, gt=0)  # highest labelled amount
    source: Cite
    variants: dict[Slug, DoseVariant] = Field(default_factory=dict)


class Adjustment(Checked):
    """A patient fact that changes the dose (organ function, interacting drugs, body weight).

    ``population: true`` marks a rule that decides which labelled population the patient belongs to (an
    age band, e.g. "no labelled dose under 12 years"): like a population ``base`` rule, while its facts are
    unknown the dose stays "not determined until recorded" (an unknown age is never read as an adult).

    ``variant_effects`` gives the rule another effect inside one dose variant (a regimen id of
    ``dose.variants``), e.g. a labelled starting dose that cannot apply to an above-label escalation."""

    id: Slug
    when: Cond
    severity: Severity = "warning"
    finding: Text
    action: Text
    effect: Effect
    source: Cite
    population: bool = False
    variant_effects: dict[Slug, Effect] = Field(default_factory=dict)

    def for_variant(self, variant: str | None) -> Adjustment:
        """The rule as it acts on the dose of ``variant`` (itself unless a variant effect is given)."""
        effect = self.variant_effects.get(variant) if variant else None
        return self if effect is None else self.model_copy(update={"effect": effect})

    @model_validator(mode="after")
    def _has_when(self) -> Adjustment:
        if self.when is None:
            raise ValueError("when: an adjustment needs a condition")
        return self


class WarningRule(Checked):
    """A label warning mapped to patient facts; fires when ``when`` is true.

    ``no_dose`` (critical warnings only): the label says not to give or start the agent in this situation
    (recent hemorrhage, within 2 weeks of major surgery, ...), so when the warning applies the dose reads
    "avoid: <no_dose>" with no amount, the rule named in ``rules_applied``, like an ``avoid`` adjustment."""

    id: Slug
    severity: Severity
    when: Cond
    finding: Text
    action: Text
    source: Cite
    no_dose: Text | None = None

    @model_validator(mode="after")
    def _has_when(self) -> WarningRule:
        if self.when is None:
            raise ValueError("when: a warning needs a condition (use monitoring for unconditional items)")
        if self.no_dose is not None and self.severity != "critical":
            raise ValueError("no_dose: only a critical warning (do not give as things stand) leaves no dose")
        return self


class Unrecorded(Checked):
    """A label check whose fact the patient record has no field for (e.g. a boxed-warning DPYD test before
    the first dose). Always reported as "not assessed: <fact> (not a field of the record)" at ``severity``:
    it says the check was not made and why, never that it passed."""

    id: Slug
    fact: Annotated[str, Field(min_length=3, max_length=200)]  # the missing fact, in words
    severity: Severity
    finding: Text  # the label fact the check needs
    action: Text
    source: Cite


class Monitoring(Checked):
    """A monitoring requirement; always reported (info), or only when ``when`` holds."""

    id: Slug
    what: Text
    when: Cond = None
    source: Cite


class Monograph(_Data):
    id: Slug
    name: Text
    brands: list[str] = Field(default_factory=list)
    drug_class: Text
    route: Route
    summary: Text | None = None
    sources: dict[Slug, SourceDoc] = Field(min_length=1)
    dose: Dose
    adjustments: list[Adjustment] = Field(default_factory=list)
    warnings: list[WarningRule] = Field(default_factory=list)
    monitoring: list[Monitoring] = Field(default_factory=list)
    unrecorded: list[Unrecorded] = Field(default_factory=list)

    def cites(self) -> list[tuple[str, Cite]]:
        """Every citation in the file with its path, for the loader's cross-check."""
        out: list[tuple[str, Cite]] = [("dose.source", self.dose.source)]
        out += [(f"dose.variants.{k}.source", v.source) for k, v in self.dose.variants.items()]
        out += [(f"adjustments[{i}].source", a.source) for i, a in enumerate(self.adjustments)]
        out += [(f"warnings[{i}].source", w.source) for i, w in enumerate(self.warnings)]
        out += [(f"monitoring[{i}].source", m.source) for i, m in enumerate(self.monitoring)]
        out += [(f"unrecorded[{i}].source", u.source) for i, u in enumerate(self.unrecorded)]
        return out

    def conditions(self) -> list[tuple[str, SafetyCondition]]:
        out: list[tuple[str, SafetyCondition]] = []
        out += [(f"adjustments[{i}].when", a.when) for i, a in enumerate(self.adjustments)]
        out += [(f"warnings[{i}].when", w.when) for i, w in enumerate(self.warnings)]
        out += [
            (f"monitoring[{i}].when", m.when) for i, m in enumerate(self.monitoring) if m.when is not None
        ]
        return out


class DrugClass(_Data):
    label: Text
    source: Cite


class Drug(Checked):
    """One medication: its generic name, brand names and synonyms, and the classes it belongs to
    (``verified: false``: the class membership could not be confirmed in a stored public source)."""

    name: Annotated[str, Field(min_length=2, max_length=80)]
    brands: list[Annotated[str, Field(min_length=2)]] = Field(default_factory=list)
    synonyms: list[Annotated[str, Field(min_length=2)]] = Field(default_factory=list)
    classes: list[Slug] = Field(default_factory=list)
    source: Cite
    brand_source: Cite | None = None

    @model_validator(mode="after")
    def _brands_cited(self) -> Drug:
        if (self.brands or self.synonyms) and self.brand_source is None:
            raise ValueError("brand_source: brand names and synonyms need their own source")
        return self


class InteractionList(_Data):
    id: Slug
    title: Text
    note: Text | None = None
    sources: dict[Slug, SourceDoc] = Field(min_length=1)
    classes: dict[Slug, DrugClass] = Field(default_factory=dict)
    drugs: list[Drug] = Field(min_length=1)
