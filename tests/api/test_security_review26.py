"""Security review 26 (R2): the rate limit keyed on VERIFIED clients only, the Host allow-list (DNS
rebinding), a bound on a token's exp, the required JWT typ, and the request-header ceiling."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.api.cli import derived_hosts
from netcds.api.security import host_allowed
from netcds.settings import Settings, SettingsError, load_settings
from tests.api.conftest import BASE, ISS, KID, Keys, make_settings, patient_record
from tests.reliability.server import start

PROBLEM = "application/problem+json"
DISCOVERY = "/cds-services"
HEALTH = "/api/v1/health"


def _security_headers(r: httpx.Response) -> None:
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def _forged(sub: str, iss: str = ISS) -> dict[str, str]:
    """A token naming a trusted issuer and any subject, with a signature nobody made (as the reviewer sent)."""
    now = int(time.time())
    claims = {"iss": iss, "sub": sub, "aud": BASE + DISCOVERY, "iat": now, "exp": now + 300, "jti": sub}
    return {"authorization": f"Bearer {jwt.encode(claims, 'x' * 32, algorithm='HS256')[:-8]}AAAAAAAA"}


def _fake_rs(sub: str) -> dict[str, str]:
    """The reviewer's exact token: an RS256 header, iss/sub, and a junk signature."""

    def part(d: dict[str, Any]) -> str:
        import base64

        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return {
        "authorization": f"Bearer {part({'alg': 'RS256', 'kid': KID})}.{part({'iss': ISS, 'sub': sub})}.AAAA"
    }


def _signed(keys: Keys, path: str = DISCOVERY, **claims: Any) -> dict[str, str]:
    return {"authorization": f"Bearer {keys.token(BASE + path, **claims)}"}


@pytest.fixture
def limited(tmp_path: Path, keys: Keys) -> Iterator[TestClient]:
    """rate_limit_key = "client", burst 2, 6 a minute, the test client's address limited too."""
    s = make_settings(
        tmp_path,
        keys,
        rate_limit_per_minute=6,
        rate_limit_burst=2,
        rate_limit_loopback=True,
        rate_limit_key="client",
    )
    with TestClient(create_app(s), raise_server_exceptions=False) as c:
        yield c


# --- 1. rate limit: only a verified principal gets its own bucket ---------------------------------------------
def test_random_subjects_do_not_bypass_the_limit(limited: TestClient) -> None:
    """A fresh unsigned sub each time used to get a fresh bucket: now unverified tokens share the address's."""
    codes = [limited.get(HEALTH, headers=_fake_rs(f"s{i}")).status_code for i in range(5)]
    assert codes == [200, 200, 429, 429, 429]
    r = limited.post("/api/v1/evaluate", json=patient_record(), headers=_fake_rs("another"))
    assert r.status_code == 429
    _security_headers(r)


def test_forged_tokens_cannot_lock_out_the_client_they_name(limited: TestClient, keys: Keys) -> None:
    """Forged requests naming the victim's iss/sub (from the victim's own proxy address, even) are charged
    to that address; the victim's validly signed calls still draw from the victim's own bucket."""
    assert limited.get(DISCOVERY, headers=_signed(keys, sub="victim")).status_code == 200
    forged = [limited.get(DISCOVERY, headers=_fake_rs("victim")).status_code for _ in range(4)]
    assert forged == [401, 401, 429, 429]
    forged_hs = limited.get(DISCOVERY, headers=_forged("victim")).status_code
    assert forged_hs == 429
    assert limited.get(DISCOVERY, headers=_signed(keys, sub="victim")).status_code == 200


def test_verified_clients_behind_one_address_each_get_a_bucket(limited: TestClient, keys: Keys) -> None:
    """The reason for "client" mode (several EHRs behind one proxy address) still holds for verified callers;
    the unverified traffic of that address is bounded by one bucket."""
    a = [limited.get(DISCOVERY, headers=_signed(keys, sub="ehr-a")).status_code for _ in range(3)]
    b = [limited.get(DISCOVERY, headers=_signed(keys, sub="ehr-b")).status_code for _ in range(2)]
    t = [
        limited.get(DISCOVERY, headers=_signed(keys, sub="ehr-b", tenant="t2")).status_code for _ in range(2)
    ]
    assert (a, b, t) == ([200, 200, 429], [200, 200], [200, 200])
    assert [limited.get(HEALTH).status_code for _ in range(3)] == [200, 200, 429]
    assert limited.get(DISCOVERY, headers=_signed(keys, sub="ehr-c")).status_code == 200


def test_a_replayed_token_is_charged_to_the_sender_not_its_client(limited: TestClient, keys: Keys) -> None:
    first = _signed(keys, sub="victim")
    assert limited.get(DISCOVERY, headers=first).status_code == 200
    replays = [limited.get(DISCOVERY, headers=first).status_code for _ in range(3)]
    assert replays == [401, 401, 429]  # refused as replays, then by the address's bucket
    assert limited.get(DISCOVERY, headers=_signed(keys, sub="victim")).status_code == 200


def test_a_token_for_another_service_is_not_a_client(limited: TestClient, keys: Keys) -> None:
    """Validly signed but addressed elsewhere: counted against the address (and refused by the view)."""
    other = {"authorization": f"Bearer {keys.token('https://elsewhere.example/cds-services', sub='victim')}"}
    assert [limited.get(DISCOVERY, headers=other).status_code for _ in range(3)] == [401, 401, 429]
    assert limited.get(DISCOVERY, headers=_signed(keys, sub="victim")).status_code == 200


def test_ip_mode_is_unchanged(tmp_path: Path, keys: Keys) -> None:
    s = make_settings(tmp_path, keys, rate_limit_per_minute=6, rate_limit_burst=2, rate_limit_loopback=True)
    with TestClient(create_app(s), raise_server_exceptions=False) as c:
        codes = [c.get(DISCOVERY, headers=_signed(keys, sub=f"s{i}")).status_code for i in range(3)]
        assert codes == [200, 200, 429]


# --- 3. Host allow-list ---------------------------------------------------------------------------------------
def test_host_outside_the_allow_list_is_refused(tmp_path: Path, keys: Keys) -> None:
    s = make_settings(tmp_path, keys, allowed_hosts=("cds.hospital.example", "127.0.0.1"))
    with TestClient(create_app(s), raise_server_exceptions=False) as c:
        evil = {"host": "attacker.example:8822", "origin": "http://attacker.example:8822"}
        r = c.get("/ui/cases", headers=evil)
        assert r.status_code == 400
        _security_headers(r)
        body = r.json()
        assert body["type"] == "urn:netcds:problem:invalid-host"
        assert "Host header" in body["detail"] and "attacker.example:8822" in body["detail"]
        assert c.post("/api/v1/evaluate", json=patient_record(), headers=evil).status_code == 400
        saved = c.post(
            "/ui/save",
            data={"patient_json": json.dumps(patient_record())},
            headers=evil,
            follow_redirects=False,
        )
        assert saved.status_code == 400
        for good in ("cds.hospital.example", "CDS.hospital.example.:443", "127.0.0.1:8000"):
            assert c.get(HEALTH, headers={"host": good}).status_code == 200, good


def test_no_allow_list_means_no_check_for_an_app_built_directly(client: TestClient) -> None:
    """Tests and `uvicorn --factory` apps check Host only when server.allowed_hosts is given."""
    assert client.get(HEALTH, headers={"host": "anything.example"}).status_code == 200


def test_host_matching() -> None:
    allowed = ("localhost", "127.0.0.1", "[::1]", "cds.example.org:8443", "*.hospital.example")
    for ok in (
        "localhost",
        "LOCALHOST:8000",
        "127.0.0.1:1",
        "[::1]:8000",
        "[::1]",
        "cds.example.org:8443",
        "a.hospital.example",
        "b.c.hospital.example:1",
    ):
        assert host_allowed(ok, allowed), ok
    for bad in (
        None,
        "",
        "cds.example.org",
        "cds.example.org:443",
        "hospital.example",
        "evilhospital.example",
        "localhost.attacker.example",
        "127.0.0.2",
        "[::2]:8000",
    ):
        assert not host_allowed(bad, allowed), bad


def test_serve_derives_the_allow_list() -> None:
    loop = derived_hosts(Settings())
    assert loop == (("localhost", "127.0.0.1", "[::1]"), None)
    with_base = derived_hosts(Settings(base_url="https://CDS.hospital.example/x"))[0]
    assert with_base == ("localhost", "127.0.0.1", "[::1]", "cds.hospital.example")
    assert derived_hosts(Settings(host="::1"))[0] == ("localhost", "127.0.0.1", "[::1]")
    assert derived_hosts(Settings(host="0.0.0.0", base_url="https://cds.h.example"))[0] == ("cds.h.example",)
    hosts, warning = derived_hosts(Settings(host="0.0.0.0"))
    assert hosts == () and warning and "Host header is not checked" in warning
    assert derived_hosts(Settings(host="0.0.0.0", allowed_hosts=("a.example",))) == (("a.example",), None)


def test_allowed_hosts_setting() -> None:
    s = load_settings(environ={"NETCDS_ALLOWED_HOSTS": "CDS.example.org, [::1]:8000"})
    assert s.allowed_hosts == ("cds.example.org", "[::1]:8000")
    for bad in ("https://cds.example.org", "cds.example.org/x", "*"):
        with pytest.raises(SettingsError, match="allowed_hosts"):
            load_settings(environ={"NETCDS_ALLOWED_HOSTS": bad})


# --- 4. exp implausibly far ahead; 7. typ required ------------------------------------------------------------
@pytest.mark.parametrize("exp", [2**63, 2**62, 10**30, 1e300, "far"])
def test_exp_far_in_the_future_is_401_naming_it(client: TestClient, keys: Keys, exp: Any) -> None:
    claims = {"exp": exp} if exp != "far" else {"exp": int(time.time()) + 3 * 24 * 3600}
    r = client.get(DISCOVERY, headers=_signed(keys, **claims))
    assert r.status_code == 401, r.text
    assert "exp" in r.json()["detail"] and "future" in r.json()["detail"]
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_exp_within_a_day_is_accepted(client: TestClient, keys: Keys) -> None:
    assert client.get(DISCOVERY, headers=_signed(keys, exp=int(time.time()) + 23 * 3600)).status_code == 200


def _token_without_typ(keys: Keys, **header: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISS,
        "sub": "ehr",
        "aud": BASE + DISCOVERY,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, keys.rsa, algorithm="RS384", headers={"kid": KID, "typ": None, **header})


def test_missing_typ_is_refused(client: TestClient, keys: Keys) -> None:
    token = _token_without_typ(keys)
    assert "typ" not in jwt.get_unverified_header(token)
    r = client.get(DISCOVERY, headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert "typ" in r.json()["detail"]
    wrong = _token_without_typ(keys, typ="at+jwt")
    assert client.get(DISCOVERY, headers={"authorization": f"Bearer {wrong}"}).status_code == 401
    lower = _token_without_typ(keys, typ="jwt")  # compared without case (RFC 7515 4.1.9)
    assert client.get(DISCOVERY, headers={"authorization": f"Bearer {lower}"}).status_code == 200


# --- 6. request-header ceiling ----------------------------------------------------------------------------------
def test_header_fields_over_the_limit_get_431(tmp_path: Path, keys: Keys) -> None:
    with TestClient(create_app(make_settings(tmp_path, keys, max_header_bytes=8192))) as c:
        assert c.get(HEALTH, headers={"x-pad": "a" * 6000}).status_code == 200
        r = c.get(HEALTH, headers={"x-pad": "a" * 9000})
        assert r.status_code == 431
        _security_headers(r)
        assert r.json()["type"] == "urn:netcds:problem:header-fields-too-large"
        assert "server.max_header_bytes" in r.json()["detail"]


def test_default_header_ceiling_is_64_kib(client: TestClient) -> None:
    assert Settings().max_header_bytes == 64 * 1024
    assert client.get(HEALTH, headers={"x-pad": "a" * 70_000}).status_code == 431
    with pytest.raises(SettingsError, match="max_header_bytes"):
        load_settings(environ={"NETCDS_MAX_HEADER_BYTES": "100"})
    assert load_settings(environ={"NETCDS_MAX_HEADER_BYTES": "131072"}).max_header_bytes == 131072


# --- the running service: real Host headers, a head too large for the parser --------------------------------------
def _raw(port: int, head: bytes, *, chunks: int = 0, chunk: bytes = b"") -> bytes:
    """Send a request head (then ``chunks`` more pieces of it) and read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(head)
        try:
            for _ in range(chunks):
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused the head and closed the connection: what is tested
        out = b""
        try:
            while data := sock.recv(65536):
                out += data
        except (ConnectionResetError, TimeoutError):
            pass
    return out


def test_served_checks_host_and_bounds_the_head(tmp_path: Path) -> None:
    served = start(f"sqlite:///{tmp_path / 's.db'}", tmp_path, env={"NETCDS_MAX_HEADER_BYTES": "16384"})
    try:
        url = served.url
        port = int(url.rsplit(":", 1)[1])
        with httpx.Client(timeout=20) as h:
            assert h.get(url + HEALTH).status_code == 200  # Host: 127.0.0.1:port
            assert h.get(f"http://localhost:{port}{HEALTH}").status_code == 200
            evil = h.get(url + "/ui/cases", headers={"host": f"attacker.example:{port}"})
            assert evil.status_code == 400 and "Host header" in evil.json()["detail"]
            assert h.get(url + HEALTH, headers={"x-pad": "a" * 20_000}).status_code == 431
        # a head that never ends: refused once it passes the limit, long before 30 MB arrive
        answer = _raw(
            port, b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ", chunks=480, chunk=b"a" * 65536
        )
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
        assert b"application/problem+json" in answer and b"server.max_header_bytes" in answer
        assert b"x-content-type-options: nosniff" in answer
        with httpx.Client(timeout=20) as h:  # still serving
            assert h.get(url + HEALTH).status_code == 200
    finally:
        served.stop()


def test_the_signature_is_checked_once_per_call(limited: TestClient, keys: Keys, monkeypatch: Any) -> None:
    """The rate limiter's check and the view's share one signature check (the token is remembered)."""
    real = jwt.decode
    signed: list[int] = []

    def counting(token: str, key: Any = None, **kw: Any) -> Any:
        if key is not None:
            signed.append(1)
        return real(token, key, **kw)

    monkeypatch.setattr(jwt, "decode", counting)
    assert limited.get(DISCOVERY, headers=_signed(keys, sub="once")).status_code == 200
    assert len(signed) == 1


def test_keys_from_a_url_count_only_once_fetched() -> None:
    """The limiter never fetches keys on the event loop: a jwks_url issuer's key counts once it is cached."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt import PyJWKSet

    from netcds.api.auth import _IssuerKeys
    from netcds.settings import IssuerConfig

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": "k1", "use": "sig"}
    issuer = _IssuerKeys(IssuerConfig(iss="https://ehr.example", jwks_url="https://keys.invalid/jwks"))
    assert issuer.held_key("k1") is None  # nothing fetched, nothing fetched here either
    assert issuer._client is not None and issuer._client.jwk_set_cache is not None
    issuer._client.jwk_set_cache.put(PyJWKSet.from_dict({"keys": [jwk]}))
    held = issuer.held_key("k1")
    assert held is not None and held.key_id == "k1"
    assert issuer.held_key("other") is None
