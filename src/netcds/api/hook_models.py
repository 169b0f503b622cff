"""CDS Hooks 2.0 request, response and feedback shapes, and this service's discovery entries.

Spec: https://cds-hooks.hl7.org/2.0/ (Discovery, Calling a CDS Service, CDS Service
Response, Feedback). Unknown request members are tolerated (extensions); the
members the spec requires are checked. A feedback body is stored, so its members are
exactly the spec's: an unknown one is refused (422 naming it), only the reserved
``extension`` object (on every CDS Hooks object) is accepted, and not stored.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from netcds.api.prefetch import url_origin

PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "medicationAdministrations": "MedicationAdministration?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
}
# Keys a client may leave out (CDS Hooks 2.0 lets it satisfy some of the templates only): the record is read
# without them, as it was before they were asked for, instead of a 412 (netcds.api.prefetch.resolve). Clinic-
# given courses recorded only as MedicationAdministrations (depot SSA injections, Lu-177 dotatate cycles)
# are read as current only when they come (netcds.fhir.administrations); PRRT and radiotherapy recorded
# only as Procedures are in the treatment history only when they come (QA session 41).
OPTIONAL_PREFETCH: frozenset[str] = frozenset({"medicationAdministrations", "procedures"})


class ServiceDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hook: str
    title: str
    description: str
    id: str
    prefetch: dict[str, str]


SERVICES: dict[str, ServiceDefinition] = {
    s.id: s
    for s in (
        ServiceDefinition(
            hook="patient-view",
            id="netcds-patient-view",
            title="netcds: NET systemic therapy options",
            description="For a patient with a neuroendocrine tumor: the applicable NCCN NET (V.5.2024) "
            "systemic therapy table, the eligible options by tier, the data that would change them, and "
            "critical safety findings for the eligible agents. Decision support, not a directive.",
            prefetch=PREFETCH,
        ),
        ServiceDefinition(
            hook="order-sign",
            id="netcds-order-sign",
            title="netcds: NET agent safety and dose check at signing",
            description="When a tabled NET agent (e.g. cabozantinib, everolimus, sunitinib) is about to be "
            "signed: label-based safety findings for this patient and the label dose adjustment, with a "
            "suggestion to update the draft order where one applies.",
            prefetch=PREFETCH,
        ),
        ServiceDefinition(
            hook="order-select",
            id="netcds-order-select",
            title="netcds: NET agent safety and dose check at selection",
            description="The order-sign check, run when a tabled NET agent is selected in the order entry.",
            prefetch=PREFETCH,
        ),
    )
}


class FhirAuthorization(BaseModel):
    """CDS Hooks 2.0, "Passing the Access Token to the CDS Service"
    (https://cds-hooks.hl7.org/2.0/#passing-the-access-token-to-the-cds-service): every member is required;
    ``token_type`` has the fixed value ``Bearer`` (read case-insensitively: RFC 6749 section 5.1 says a token
    type's value is case insensitive) and ``expires_in`` is an *integer*, the token's lifetime in seconds: a
    JSON number, never the string ``"300"`` (RFC 6749 erratum 5379) and never negative."""

    model_config = ConfigDict(extra="allow")

    access_token: str = Field(min_length=1)
    token_type: str
    expires_in: StrictInt = Field(ge=0)
    scope: str
    subject: str

    @field_validator("token_type")
    @classmethod
    def _bearer(cls, value: str) -> str:
        if value.lower() != "bearer":
            raise ValueError("must be Bearer (the only token type CDS Hooks 2.0 defines)")
        return value


UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _uuid_text(value: str) -> str:
    """A UUID in its standard text form (RFC 9562: 8-4-4-4-12 hex digits, either case), as CDS Hooks 2.0
    requires for ``hookInstance``."""
    if not UUID_TEXT.fullmatch(value):
        raise ValueError("must be a UUID identifying this hook call (8-4-4-4-12 hex digits)")
    return value


_NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")


def _base_url(value: str) -> str:
    """``fhirServer``: "the base URL of the CDS Client's FHIR server" (CDS Hooks 2.0, Calling a CDS Service;
    type *URL*): an absolute http or https URL with a host, no query or fragment. Anything else is a malformed
    request (422 naming the field), not a prefetch the service could not obtain (412 stays for that: a well
    formed http URL that is not localhost, which this service does not fetch from)."""
    origin = url_origin(value)
    parts = urlsplit(value) if origin is not None else None  # readable once it has an origin
    if (
        parts is None
        or origin is None
        or origin[2] == 0
        or parts.query
        or parts.fragment
        or _NOT_IN_URL.search(value)
    ):
        raise ValueError(
            "must be the absolute http(s) base URL of the FHIR server, e.g. https://ehr.example.org/fhir"
        )
    return value


class HookRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    hook: str = Field(min_length=1)
    hookInstance: str = Field(min_length=1, max_length=100)  # noqa: N815 (a UUID, checked below)
    fhirServer: str | None = None  # noqa: N815
    fhirAuthorization: FhirAuthorization | None = None  # noqa: N815
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None

    @field_validator("hookInstance")
    @classmethod
    def _instance_uuid(cls, value: str) -> str:
        return _uuid_text(value)

    @field_validator("fhirServer")
    @classmethod
    def _server_url(cls, value: str | None) -> str | None:
        return None if value is None else _base_url(value)

    @model_validator(mode="after")
    def _server_with_auth(self) -> HookRequest:
        if self.fhirAuthorization is not None and not self.fhirServer:
            raise ValueError("fhirServer: is required when fhirAuthorization is given")
        return self


ISO_INSTANT = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$"
_PAST_MICROSECONDS = re.compile(r"(\.\d{6})\d+")


def _instant(value: str) -> str:
    """An ISO 8601 date-time with its offset (the pattern) that names a real moment: a calendar date, a time
    of day (hours 00-23, minutes and seconds 00-59) and an offset within ±23:59; "2025-13-45T99:99:00Z"
    has the form but is no time at all."""
    stamp = value[:-1] + "+00:00" if value.endswith("Z") else value
    stamp = _PAST_MICROSECONDS.sub(r"\1", stamp)  # datetime reads 6 digits of a second; more do not matter
    try:
        datetime.fromisoformat(stamp)
    except ValueError:
        raise ValueError(
            "must be a real date and time with a time zone, e.g. 2025-03-02T10:15:00Z (an ISO 8601 date-time)"
        ) from None
    return value


class _FeedbackPart(BaseModel):
    """A member of a feedback body: the spec's members and its reserved ``extension`` object, nothing else
    (a misspelt ``overideReason`` would otherwise be dropped unnoticed)."""

    model_config = ConfigDict(extra="forbid")

    extension: dict[str, Any] | None = None


class Coding(_FeedbackPart):
    """CDS Hooks 2.0 Coding (https://cds-hooks.hl7.org/2.0/#coding): ``code`` and ``system`` are REQUIRED (a
    code is understood only with its code system), ``display`` optional; an empty one names no reason."""

    system: str = Field(min_length=1)
    code: str = Field(min_length=1)
    display: str | None = None


class OverrideReason(_FeedbackPart):
    """``reason`` (a Coding) and/or ``userComment``; CDS Hooks 2.0 allows no empty object (``{}``), and an
    override reason with neither says nothing to store."""

    reason: Coding | None = None
    userComment: str | None = Field(default=None, min_length=1, max_length=4000)  # noqa: N815

    @model_validator(mode="after")
    def _says_something(self) -> OverrideReason:
        if self.reason is None and self.userComment is None:
            raise ValueError("must give a reason (a Coding with code and system) or a userComment")
        return self


def _uuid_of_ours(value: str, what: str) -> str:
    """Every card and suggestion netcds returns has a UUID (CDS Hooks 2.0): anything else cannot refer
    to one of them, and storing it would pollute the feedback record."""
    try:
        found = uuid.UUID(value)
    except ValueError:
        raise ValueError(f"must be the uuid of a {what} this service returned") from None
    # kept in the form netcds issues it (lower case, hyphenated): "urn:uuid:...", "{...}" or upper case name
    # the same card, so they are checked, stored and looked up as the same record
    return str(found)


class AcceptedSuggestion(_FeedbackPart):
    id: str = Field(min_length=1, max_length=100)

    @field_validator("id")
    @classmethod
    def _suggestion_uuid(cls, value: str) -> str:
        return _uuid_of_ours(value, "suggestion")


class FeedbackItem(_FeedbackPart):
    card: str = Field(min_length=1, max_length=100)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None  # noqa: N815
    overrideReason: OverrideReason | None = None  # noqa: N815
    outcomeTimestamp: str = Field(pattern=ISO_INSTANT)  # noqa: N815

    @field_validator("card")
    @classmethod
    def _card_uuid(cls, value: str) -> str:
        return _uuid_of_ours(value, "card")

    @field_validator("outcomeTimestamp")
    @classmethod
    def _real_instant(cls, value: str) -> str:
        return _instant(value)

    @model_validator(mode="after")
    def _members_fit_the_outcome(self) -> FeedbackItem:
        """CDS Hooks 2.0, Feedback (https://cds-hooks.hl7.org/2.0/#feedback): ``acceptedSuggestions`` is
        required for an ``accepted`` outcome; an ``overrideReason`` comes with an ``overridden`` one
        ("Explicit reject with override reasons"); suggestions are accepted, while a whole card is ignored or
        overridden. An entry carrying the other outcome's member contradicts itself (which would be stored?),
        so it is refused. The CDS Hooks 3.0 ballot's Feedback model adds constraints (cds-fb-1/2) on them."""
        if self.outcome == "accepted":
            if not self.acceptedSuggestions:
                raise ValueError("acceptedSuggestions: is required when the outcome is accepted")
            if self.overrideReason is not None:
                raise ValueError(
                    "overrideReason: only an overridden outcome carries an override reason "
                    "(outcome is accepted)"
                )
        elif self.acceptedSuggestions is not None:
            raise ValueError(
                "acceptedSuggestions: only an accepted outcome carries accepted suggestions (outcome is "
                f"{self.outcome})"
            )
        return self


class FeedbackRequest(_FeedbackPart):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100)


class Discovery(BaseModel):
    services: list[ServiceDefinition]


class CardsResponse(BaseModel):
    """``cards`` (possibly empty) and optional ``systemActions`` (never sent by netcds)."""

    model_config = ConfigDict(extra="allow")

    cards: list[dict[str, Any]]


class FeedbackStored(BaseModel):
    stored: int
