"""The ``[smart]`` settings (netcds.settings_smart) and the sealed launch cookie (netcds.web.smart_seal):
off by default, every invalid value stops the load naming its key, and a cookie opens only unchanged, with
the key it was sealed with, within ten minutes."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from netcds.settings import SettingsError, load_settings
from netcds.settings_smart import DEFAULT_SCOPE
from netcds.web import smart_seal
from netcds.web.smart_ehr import new_state, new_verifier, s256

GOOD = {
    "NETCDS_SMART_ENABLED": "1",
    "NETCDS_SMART_CLIENT_ID": "netcds",
    "NETCDS_SMART_REDIRECT_URI": "https://netcds.example/ui/smart/callback",
    "NETCDS_SMART_ISSUERS": "https://ehr.example/fhir/, http://127.0.0.1:18201/fhir",
}


def test_off_by_default_with_the_documented_scope() -> None:
    smart = load_settings(environ={}).smart
    assert smart.enabled is False and smart.issuers == ()
    assert smart.scope == DEFAULT_SCOPE
    assert DEFAULT_SCOPE.split() == [
        "launch", "patient/Patient.read", "patient/Condition.read", "patient/Observation.read",
        "patient/MedicationRequest.read", "patient/MedicationStatement.read",
        "patient/MedicationAdministration.read", "patient/Procedure.read", "patient/Medication.read",
    ]  # fmt: skip


def test_from_the_environment_with_issuers_normalised() -> None:
    smart = load_settings(environ=GOOD).smart
    assert smart.enabled and smart.client_id == "netcds"
    assert smart.issuers == ("https://ehr.example/fhir", "http://127.0.0.1:18201/fhir")


def test_from_the_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "netcds.toml"
    cfg.write_text(
        '[smart]\nenabled = true\nclient_id = "c1"\nredirect_uri = "https://n.example/ui/smart/callback"\n'
        'issuers = ["https://ehr.example/r4/"]\nscope = "launch openid fhirUser patient/*.rs"\ntimeout_s = 3\n'
    )
    smart = load_settings(cfg, environ={}).smart
    assert smart.issuers == ("https://ehr.example/r4",) and smart.timeout_s == 3
    assert smart.scope == "launch openid fhirUser patient/*.rs"


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        ({"NETCDS_SMART_CLIENT_ID": ""}, "smart.enabled / NETCDS_SMART_ENABLED", "needs smart.client_id"),
        ({"NETCDS_SMART_REDIRECT_URI": ""}, "smart.enabled / NETCDS_SMART_ENABLED", "needs smart.redirect_uri"),
        ({"NETCDS_SMART_ISSUERS": ""}, "smart.enabled / NETCDS_SMART_ENABLED", "needs smart.issuers"),
        ({"NETCDS_SMART_ISSUERS": "http://ehr.example/fhir"}, "smart.issuers / NETCDS_SMART_ISSUERS", "https"),
        ({"NETCDS_SMART_ISSUERS": "https://ehr.example/fhir?x=1"}, "smart.issuers / NETCDS_SMART_ISSUERS",
         "no query"),
        ({"NETCDS_SMART_ISSUERS": "ehr.example/fhir"}, "smart.issuers / NETCDS_SMART_ISSUERS", "https"),
        ({"NETCDS_SMART_REDIRECT_URI": "/ui/smart/callback"}, "smart.redirect_uri / NETCDS_SMART_REDIRECT_URI",
         "absolute"),
        ({"NETCDS_SMART_REDIRECT_URI": "http://netcds.example/ui/smart/callback"},
         "smart.redirect_uri / NETCDS_SMART_REDIRECT_URI", "https"),
        ({"NETCDS_SMART_REDIRECT_URI": "https://netcds.example/callback"},
         "smart.redirect_uri / NETCDS_SMART_REDIRECT_URI", "/ui/smart/callback"),
        ({"NETCDS_SMART_SCOPE": "patient/*.rs"}, "smart.scope / NETCDS_SMART_SCOPE", "'launch'"),
        ({"NETCDS_SMART_SCOPE": 'launch pa"tient'}, "smart.scope / NETCDS_SMART_SCOPE", "not an OAuth scope"),
        ({"NETCDS_SMART_CLIENT_ID": "caf\u00e9"}, "smart.client_id / NETCDS_SMART_CLIENT_ID", "ASCII"),
        ({"NETCDS_SMART_TIMEOUT_S": "0"}, "smart.timeout_s / NETCDS_SMART_TIMEOUT_S", "greater than 0"),
        ({"NETCDS_SMART_BUDGET_S": "soon"}, "NETCDS_SMART_BUDGET_S", "must be a number"),
        ({"NETCDS_SMART_ENABLED": "maybe"}, "NETCDS_SMART_ENABLED", "true/false"),
    ],
)  # fmt: skip
def test_an_invalid_value_stops_the_load_naming_its_key(change: dict[str, str], key: str, words: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={**GOOD, **change})
    assert err.value.key == key
    assert words in err.value.message


def test_an_unknown_smart_key_in_the_file_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "netcds.toml"
    cfg.write_text('[smart]\nclient_secret = "x"\n')
    with pytest.raises(SettingsError) as err:
        load_settings(cfg, environ={})
    assert err.value.key.endswith("smart.client_secret") and err.value.message == "unknown setting"


def test_a_misspelt_smart_variable_is_named_with_the_closest_one() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"NETCDS_SMART_ISSUERS"[:-1]: "https://ehr.example/fhir"})
    assert "did you mean NETCDS_SMART_ISSUERS?" in err.value.message


# --- PKCE and state -------------------------------------------------------------------------------------
def test_state_and_verifier_are_random_and_long_enough() -> None:
    states = {new_state() for _ in range(50)}
    assert len(states) == 50 and all(len(base64.urlsafe_b64decode(s + "=")) >= 16 for s in states)
    verifier = new_verifier()
    assert 43 <= len(verifier) <= 128 and verifier != new_verifier()


def test_s256_is_the_unpadded_base64url_sha256_of_the_verifier() -> None:
    v = new_verifier()
    assert s256(v) == base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).decode().rstrip("=")


# --- the sealed cookie ----------------------------------------------------------------------------------
LAUNCH = smart_seal.PendingLaunch(
    state="st-1", verifier="ver-1", iss="https://ehr.example/fhir", token_endpoint="https://ehr.example/t"
)
KEY = smart_seal.cookie_key(b"k" * 32)


def test_a_sealed_launch_opens_with_its_key_within_ten_minutes() -> None:
    sealed = smart_seal.seal(KEY, LAUNCH, now=1_000_000)
    assert "st-1" not in sealed and "ver-1" not in sealed and "ehr.example" not in sealed
    assert smart_seal.unseal(KEY, sealed, now=1_000_000 + 599) == LAUNCH
    assert smart_seal.unseal(KEY, sealed, now=1_000_000 + 601) is smart_seal.Unsealed.EXPIRED


def test_a_changed_or_foreign_cookie_does_not_open() -> None:
    sealed = smart_seal.seal(KEY, LAUNCH, now=1_000_000)
    changed = sealed[:30] + ("A" if sealed[30] != "A" else "B") + sealed[31:]
    assert smart_seal.unseal(KEY, changed, now=1_000_000) is smart_seal.Unsealed.INVALID
    other = smart_seal.cookie_key(b"j" * 32)
    assert smart_seal.unseal(other, sealed, now=1_000_000) is smart_seal.Unsealed.INVALID
    assert smart_seal.unseal(KEY, None) is smart_seal.Unsealed.MISSING
    assert smart_seal.unseal(KEY, "x" * 5000) is smart_seal.Unsealed.INVALID
    assert smart_seal.unseal(KEY, "caf\u00e9") is smart_seal.Unsealed.INVALID
    # expired only when authentic: a changed old cookie is invalid, not expired
    assert smart_seal.unseal(KEY, changed, now=1_000_000 + 10_000) is smart_seal.Unsealed.INVALID


def test_the_cookie_key_is_derived_not_the_link_key_itself() -> None:
    link_key = b"k" * 32
    assert smart_seal.cookie_key(link_key)._signing_key != link_key[:16]
    raw = base64.urlsafe_b64decode(base64.urlsafe_b64encode(link_key))
    assert smart_seal.cookie_key(link_key)._encryption_key != raw[16:]
