"""What a FHIR -> Patient mapping did: every resource is either mapped or reported as unmapped.

``mapped`` lists each Patient field that got a value and where it came from
(resource reference and code). ``unmapped`` lists what was present in the
input but could not (or may not) be used, with the reason. Nothing is dropped
silently; anything absent simply stays unknown (``None``) in the Patient.
``treatments_ended_without_end_date`` names, for programs, the treatment rows
the contract reads as ongoing only because their records ended without an end
date (each also has its sentence in ``unmapped``). ``medications_not_identified`` names the current
medication records whose drug could not be identified (an order check cannot screen them), and
``other_guideline`` why the primary is managed under another guideline than the NET one.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from netcds.errors import InputError

# how a medications_not_identified entry ends when the drug is kept in ``medications`` as an "unidentified
# drug (<its codes>)": a tabled agent's safety screen already reports it as not screened
UNKNOWN_CODE = "a code netcds does not know, no drug name"


class MappedItem(BaseModel):
    """One Patient field set from FHIR: ``field`` (dotted path), ``value`` and ``from`` (source)."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    field: str
    value: Any
    from_: str = Field(alias="from", description="resource reference and the code that carried the value")
    note: str | None = None


class UnmappedItem(BaseModel):
    """Something present in the input that netcds did not use, and why."""

    model_config = ConfigDict(frozen=True)

    resource: str
    reason: str
    code: str | None = None


class MappingReport(BaseModel):
    """The account of one mapping; serialise with ``model_dump(by_alias=True)``."""

    model_config = ConfigDict(populate_by_name=True)

    mapped: list[MappedItem] = Field(default_factory=list)
    unmapped: list[UnmappedItem] = Field(default_factory=list)
    treatments_ended_without_end_date: list[int] = Field(
        default_factory=list,
        description=(
            "indices into the Patient's treatments[], ascending, of the lines whose records have ended (a "
            "completed or stopped record, e.g. a request or statement) but state no end date: the contract "
            "reads such a line as ongoing, so a reader asking what the patient is on now should not count it"
        ),
    )

    neuroendocrine_evidence: list[str] = Field(
        default_factory=list,
        description=(
            "what in the record says the primary cancer is neuroendocrine: a NET code, a neuroendocrine "
            "morphology or histology, neuroendocrine words in its name, a hormone syndrome; empty when the "
            "primary is only a site-coded cancer (the CDS Hooks services then answer no cards)"
        ),
    )

    medications_not_identified: list[str] = Field(
        default_factory=list,
        description=(
            "the current medication records (active, on hold or in progress) whose drug netcds could not "
            "identify, each as '<resource>: <what could not be read>' (a medicationReference with no "
            "display naming no Medication the record holds, a code netcds does not know with no drug name, "
            "words naming no drug): nothing screens them against another drug, so an order check says so"
        ),
    )

    other_guideline: str | None = Field(
        default=None,
        description=(
            "why the primary cancer is managed under another guideline than the neuroendocrine tumor "
            "guideline netcds encodes (small cell or large cell neuroendocrine carcinoma of the lung); "
            "the record is still mapped and evaluated, the CDS Hooks services answer no cards for it"
        ),
    )

    def add(self, field: str, value: Any, source: str, note: str | None = None) -> None:
        self.mapped.append(MappedItem(field=field, value=value, from_=source, note=note))

    def skip(self, resource: str, reason: str, code: str | None = None) -> None:
        self.unmapped.append(UnmappedItem(resource=resource, reason=reason, code=code))

    def fields(self) -> dict[str, Any]:
        """The last value mapped for each field (convenience for tests and displays)."""
        return {m.field: m.value for m in self.mapped}


class FhirMappingError(InputError):
    """The FHIR input cannot give a valid Patient; ``report`` holds what was mapped so far."""

    def __init__(self, field: str, message: str, report: MappingReport | None = None) -> None:
        super().__init__(field, message)
        self.report = report
