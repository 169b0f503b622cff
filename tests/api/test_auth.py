"""The CDS client's JWT: accepted only when correctly signed, addressed, fresh and never seen before."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.settings import IssuerConfig
from tests.api.conftest import BASE, ISS, KID, Keys, make_settings, patient_record

DISCOVERY = "/cds-services"


def call(client: TestClient, token: str | None, path: str = DISCOVERY) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.get(path, headers=headers)


def refused(r: Any) -> str:
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"].startswith("Bearer")
    return str(r.json()["detail"])


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_valid_rs384_token_accepted(client: TestClient, keys: Keys) -> None:
    r = call(client, keys.token(BASE + DISCOVERY))
    assert r.status_code == 200
    assert {s["id"] for s in r.json()["services"]} >= {"netcds-patient-view", "netcds-order-sign"}


def test_valid_es256_token_accepted(client: TestClient, keys: Keys) -> None:
    assert call(client, keys.token(BASE + DISCOVERY, alg="ES256", kid="ehr-ec-1")).status_code == 200


def test_aud_as_list_accepted(client: TestClient, keys: Keys) -> None:
    assert call(client, keys.token([BASE + DISCOVERY])).status_code == 200


def test_missing_header_refused(client: TestClient) -> None:
    assert "missing" in refused(call(client, None))
    assert "Bearer" in refused(client.get(DISCOVERY, headers={"Authorization": "Basic abc"}))


def test_unsigned_alg_none_refused(client: TestClient) -> None:
    now = int(time.time())
    claims = {"iss": ISS, "aud": BASE + DISCOVERY, "iat": now, "exp": now + 300, "jti": "n1"}
    token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': KID})}.{_b64(claims)}."
    assert "algorithm" in refused(call(client, token))


def test_hs256_refused_even_with_public_key_as_secret(client: TestClient, keys: Keys) -> None:
    now = int(time.time())
    claims = {"iss": ISS, "aud": BASE + DISCOVERY, "iat": now, "exp": now + 300, "jti": "h1"}
    token = jwt.encode(claims, "shared-secret-of-32-bytes-or-more!!", algorithm="HS256", headers={"kid": KID})
    assert "algorithm" in refused(call(client, token))


def test_expired_refused(client: TestClient, keys: Keys) -> None:
    now = int(time.time())
    token = keys.token(BASE + DISCOVERY, iat=now - 900, exp=now - 600)
    assert "expired" in refused(call(client, token))


def test_wrong_audience_refused(client: TestClient, keys: Keys) -> None:
    assert "audience" in refused(call(client, keys.token("https://elsewhere.example/cds-services")))
    # a token for one service is not valid at another endpoint
    assert "audience" in refused(call(client, keys.token(BASE + "/cds-services/netcds-order-sign")))


def test_unknown_issuer_refused(client: TestClient, keys: Keys) -> None:
    assert "issuer" in refused(call(client, keys.token(BASE + DISCOVERY, iss="https://rogue.example")))


def test_replayed_jti_refused(client: TestClient, keys: Keys) -> None:
    token = keys.token(BASE + DISCOVERY, jti="once-only")
    assert call(client, token).status_code == 200
    assert "replay" in refused(call(client, token))
    # a fresh token with the same jti is a replay too
    assert "replay" in refused(call(client, keys.token(BASE + DISCOVERY, jti="once-only")))


def test_tampered_payload_refused(client: TestClient, keys: Keys) -> None:
    token = keys.token(BASE + DISCOVERY, sub="ehr-client")
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "admin"
    assert "signature" in refused(call(client, f"{head}.{_b64(claims)}.{sig}"))


def test_signed_by_another_key_refused(client: TestClient, keys: Keys) -> None:
    assert "signature" in refused(call(client, keys.token(BASE + DISCOVERY, key=keys.other_rsa)))


def test_unknown_kid_and_missing_kid_refused(client: TestClient, keys: Keys) -> None:
    assert "key" in refused(call(client, keys.token(BASE + DISCOVERY, kid="other")))
    assert "kid" in refused(call(client, keys.token(BASE + DISCOVERY, kid=None)))


def test_alg_must_match_the_pinned_key_alg(client: TestClient, keys: Keys) -> None:
    assert "algorithm" in refused(call(client, keys.token(BASE + DISCOVERY, alg="RS256")))


@pytest.mark.parametrize("claim", ["exp", "jti", "iat"])
def test_required_claims(client: TestClient, keys: Keys, claim: str) -> None:
    assert claim in refused(call(client, keys.token(BASE + DISCOVERY, drop=(claim,))))


def test_garbage_token_refused(client: TestClient) -> None:
    refused(call(client, "not.a.jwt"))
    refused(call(client, "abc"))


def test_hook_call_refused_without_token(client: TestClient) -> None:
    r = client.post("/cds-services/netcds-patient-view", json={"hook": "patient-view"})
    refused(r)


def test_open_mode_needs_explicit_setting_and_warns(
    tmp_path: Path, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(tmp_path, keys, hooks_open=True))
    assert "OPEN MODE" in caplog.text
    with TestClient(app) as c:
        assert c.get(DISCOVERY).status_code == 200


def test_jwks_from_file(tmp_path: Path, keys: Keys) -> None:
    path = tmp_path / "ehr.jwks.json"
    path.write_text(json.dumps(keys.jwks()))
    s = make_settings(tmp_path, keys, hooks_issuers=(IssuerConfig(iss=ISS, jwks_file=str(path)),))
    with TestClient(create_app(s)) as c:
        assert call(c, keys.token(BASE + DISCOVERY)).status_code == 200


def test_replay_survives_restart(tmp_path: Path, keys: Keys) -> None:
    s = make_settings(tmp_path, keys)
    token = keys.token(BASE + DISCOVERY)
    with TestClient(create_app(s)) as c:
        assert call(c, token).status_code == 200
    with TestClient(create_app(s)) as c:
        refused(call(c, token))


NO_CREDENTIALS = 'Bearer realm="netcds"'


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}, {"Authorization": "Bearer   "}],
    ids=["no-header", "other-scheme", "bearer-without-token", "bearer-blank-token"],
)
def test_no_token_gets_a_challenge_without_error_code(client: TestClient, headers: dict[str, str]) -> None:
    """RFC 6750 section 3.1: a request without any bearer token gets a plain challenge, no error code."""
    for r in (
        client.get(DISCOVERY, headers=headers),
        client.post("/cds-services/netcds-patient-view", json={"hook": "patient-view"}, headers=headers),
    ):
        refused(r)
        assert r.headers["www-authenticate"] == NO_CREDENTIALS
        assert "error=" not in r.headers["www-authenticate"]


def test_bad_token_keeps_invalid_token_error(client: TestClient, keys: Keys) -> None:
    for token in ("abc", keys.token("https://elsewhere.example/cds-services")):
        r = call(client, token)
        refused(r)
        assert 'error="invalid_token"' in r.headers["www-authenticate"]


def test_rest_without_token_gets_a_challenge_without_error_code(tmp_path: Path, keys: Keys) -> None:
    app = create_app(make_settings(tmp_path, keys, api_require_token=True))
    with TestClient(app) as c:
        r = c.post("/api/v1/evaluate", json=patient_record())
        refused(r)
        assert r.headers["www-authenticate"] == NO_CREDENTIALS
        r = c.post("/api/v1/evaluate", json=patient_record(), headers={"Authorization": "Bearer not.a.jwt"})
        refused(r)
        assert 'error="invalid_token"' in r.headers["www-authenticate"]
