"""The ``[smart]`` settings: netcds as a SMART on FHIR app an EHR launches (SMART App Launch 2.x, EHR
launch, public client with PKCE S256; see docs/smart.md). Off by default.

The fields live in one model, :class:`SmartSettings` (``Settings.smart``); the config-file keys
(``smart.enabled``) and environment variables (``NETCDS_SMART_ENABLED``) map to flat names
(``smart_enabled``) that :func:`nest_smart` gathers into it, so an error names the key as it was written.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

# launch: the EHR's launch context (an EHR launch needs it); then patient-level read access to each resource
# type the FHIR mapping reads (SMART v1 syntax, which SMART 2.x servers still accept; the v2 equivalent of
# ``patient/Condition.read`` is ``patient/Condition.rs``, see docs/smart.md)
DEFAULT_SCOPE = " ".join(
    ["launch"]
    + [
        f"patient/{rtype}.read"
        for rtype in (
            "Patient",
            "Condition",
            "Observation",
            "MedicationRequest",
            "MedicationStatement",
            "MedicationAdministration",
            "Procedure",
            "Medication",  # the drugs medication resources name by reference (not in the patient compartment)
        )
    ]
)
LAUNCH_PATH = "/ui/smart/launch"  # what an EHR opens (and a patient-view card's smart link names)
CALLBACK_PATH = "/ui/smart/callback"
# RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
_CLIENT_ID = re.compile(r"^[\x20-\x7e]{1,200}$")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")  # as netcds.api.prefetch._fetch_allowed: http only to these


def https_or_loopback(url: str) -> bool:
    """An absolute https URL, or http to a loopback host (the rule FHIR fetches follow)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is no number raises here)
    except ValueError:
        return False
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)


def normalise_issuer(url: str) -> str:
    """A FHIR base URL as issuers are compared: surrounding space and trailing slashes removed."""
    return url.strip().rstrip("/")


class SmartSettings(BaseModel):
    """netcds as a SMART on FHIR app (EHR launch). ``enabled`` comes last: its check reads the others."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str | None = None
    redirect_uri: str | None = None
    issuers: tuple[str, ...] = ()
    scope: str = DEFAULT_SCOPE
    # one request to the EHR (configuration, token, one FHIR page)
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    # all FHIR requests reading one patient's record together
    budget_s: float = Field(default=20.0, gt=0, le=300)
    # the standalone launch too: opened outside the EHR, the EHR's authorization server asks for the patient
    standalone: bool = False
    enabled: bool = False

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not _CLIENT_ID.match(value.strip()):
            raise ValueError("must be 1 to 200 printable ASCII characters (the id the EHR registered)")
        return value.strip()

    @field_validator("redirect_uri")
    @classmethod
    def _redirect_uri(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        uri = value.strip()
        if not https_or_loopback(uri):
            raise ValueError(
                "must be an absolute https URL (http only to localhost or 127.0.0.1), exactly as registered "
                "with the EHR"
            )
        parts = urlsplit(uri)
        if parts.query or parts.fragment:
            raise ValueError("must have no query or fragment")
        if not parts.path.endswith(CALLBACK_PATH):
            raise ValueError(
                f"must be this service's {CALLBACK_PATH} (e.g. https://netcds.example{CALLBACK_PATH})"
            )
        return uri

    @field_validator("issuers")
    @classmethod
    def _issuers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out: list[str] = []
        for entry in value:
            iss = normalise_issuer(entry)
            if not https_or_loopback(iss):
                raise ValueError(
                    f"{entry[:80]!r} is not a FHIR base URL netcds reads from (https, or http to localhost "
                    "or 127.0.0.1)"
                )
            parts = urlsplit(iss)
            if parts.query or parts.fragment or parts.username or parts.password:
                raise ValueError(f"{entry[:80]!r}: a FHIR base URL has no query, fragment or user name")
            if iss not in out:
                out.append(iss)
        return tuple(out)

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        tokens = value.split()
        bad = [t for t in tokens if not _SCOPE_TOKEN.match(t)]
        if bad:
            raise ValueError(
                f"{bad[0][:40]!r} is not an OAuth scope (printable ASCII, no quote or backslash)"
            )
        if "launch" not in tokens:
            raise ValueError("must include 'launch' (an EHR launch passes its context through it)")
        return " ".join(tokens)

    @property
    def standalone_scope(self) -> str:
        """``scope`` for a standalone launch: ``launch/patient`` (the authorization server asks the user for
        a patient) in place of ``launch`` (an EHR launch's context)."""
        return " ".join("launch/patient" if t == "launch" else t for t in self.scope.split())

    @field_validator("enabled")
    @classmethod
    def _complete(cls, value: bool, info: ValidationInfo) -> bool:
        if not value:
            return value
        for key, env in (
            ("client_id", "NETCDS_SMART_CLIENT_ID"),
            ("redirect_uri", "NETCDS_SMART_REDIRECT_URI"),
        ):
            if key in info.data and not info.data[key]:
                raise ValueError(f"needs smart.{key} ({env})")
        if "issuers" in info.data and not info.data["issuers"]:
            raise ValueError(
                "needs smart.issuers (NETCDS_SMART_ISSUERS): the EHR FHIR base URLs allowed to launch"
            )
        return value


# config-file key -> flat name; environment variable -> (flat name, kind); merged into netcds.settings' tables
_SMART_NAMES = (
    "enabled",
    "client_id",
    "redirect_uri",
    "issuers",
    "scope",
    "timeout_s",
    "budget_s",
    "standalone",
)
SMART_TOML_KEYS: dict[str, str] = {f"smart.{name}": f"smart_{name}" for name in _SMART_NAMES}
SMART_ENV_KEYS: dict[str, tuple[str, str]] = {
    "NETCDS_SMART_ENABLED": ("smart_enabled", "bool"),
    "NETCDS_SMART_CLIENT_ID": ("smart_client_id", "str"),
    "NETCDS_SMART_REDIRECT_URI": ("smart_redirect_uri", "str"),
    "NETCDS_SMART_ISSUERS": ("smart_issuers", "list"),
    "NETCDS_SMART_SCOPE": ("smart_scope", "str"),
    "NETCDS_SMART_TIMEOUT_S": ("smart_timeout_s", "float"),
    "NETCDS_SMART_BUDGET_S": ("smart_budget_s", "float"),
    "NETCDS_SMART_STANDALONE": ("smart_standalone", "bool"),
}
_PREFIX = "smart_"


def nest_smart(values: dict[str, Any]) -> dict[str, Any]:
    """The flat ``smart_*`` values gathered into ``values["smart"]`` (the other values unchanged)."""
    flat = {k: v for k, v in values.items() if k.startswith(_PREFIX)}
    if not flat:
        return values
    out = {k: v for k, v in values.items() if k not in flat}
    nested = dict(out.get("smart") or {})
    nested.update({k.removeprefix(_PREFIX): v for k, v in flat.items()})
    out["smart"] = nested
    return out


def flat_field(loc: list[str]) -> list[str]:
    """An error location in the nested model (``["smart", "client_id"]``) as the flat name that the config
    and environment tables know (``["smart_client_id"]``), the rest kept."""
    if len(loc) > 1 and loc[0] == "smart":
        return [f"{_PREFIX}{loc[1]}", *loc[2:]]
    return loc
