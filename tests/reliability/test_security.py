"""Security of the service: headers on every response, CORS only for configured origins, the per-client
rate limit, the configurable body limit, and secrets (database password) never echoed."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.api.security import TokenBuckets
from netcds.settings import Settings, SettingsError, load_settings, redact_url
from tests.api.conftest import patient_record

PROBLEM = "application/problem+json"


def make(tmp_path: Path, **over: Any) -> TestClient:
    values: dict[str, Any] = {"db_url": f"sqlite:///{tmp_path / 's.db'}", "hooks_open": True}
    values.update(over)
    return TestClient(create_app(Settings(**values)), raise_server_exceptions=False, **_client(over))


def _client(over: dict[str, Any]) -> dict[str, Any]:
    return {"client": ("198.51.100.7", 40000)} if over.get("rate_limit_loopback") is False else {}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make(tmp_path) as c:
        yield c


# --- headers ------------------------------------------------------------------------------------------------
def assert_security_headers(r: Any) -> None:
    h = r.headers
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] in ("no-referrer", "same-origin")
    csp = h["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert h["x-request-id"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/api/v1/health", {}, 200),
        ("GET", "/api/v1/openapi.json", {}, 200),
        ("GET", "/cds-services", {}, 200),
        ("POST", "/api/v1/evaluate", {"json": patient_record()}, 200),
        ("POST", "/api/v1/evaluate", {"json": {"tumor": {}}}, 422),
        ("POST", "/api/v1/evaluate", {"content": b"x", "headers": {"content-type": "text/plain"}}, 415),
        ("POST", "/api/v1/evaluate", {"content": b"x" * 3_000_000, "headers": {"content-type": "application/json"}}, 413),
        ("GET", "/api/v1/evaluate", {}, 405),
        ("GET", "/api/v1/nowhere", {}, 404),
        ("GET", "/ui", {}, 200),
        ("GET", "/ui/patient", {}, 200),
        ("GET", "/ui/static/app.css", {}, 200),
        ("GET", "/api/v1/docs", {}, 200),
    ],
)  # fmt: skip
def test_every_response_carries_the_security_headers(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    r = client.request(method, path, **kwargs)
    assert r.status_code == status, r.text[:200]
    assert_security_headers(r)
    if status >= 400:
        assert r.headers["content-type"].startswith(PROBLEM)
    if path.startswith("/api/") or path.startswith("/cds-services"):
        assert r.headers["cache-control"] == "no-store"  # answers carry patient data


def test_api_answers_get_a_deny_everything_policy(client: TestClient) -> None:
    csp = client.get("/api/v1/health").headers["content-security-policy"]
    assert csp.startswith("default-src 'none'")


def test_web_pages_keep_their_strict_csp(client: TestClient) -> None:
    r = client.get("/ui/patient")
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "object-src 'none'" in csp
    assert r.headers.get_list("content-security-policy") == [csp]  # not doubled by the middleware
    assert "<script>" not in r.text and " style=" not in r.text  # nothing inline that the CSP would need


def test_docs_page_allows_only_its_cdn_and_its_own_script_by_hash(client: TestClient) -> None:
    r = client.get("/api/v1/docs")
    csp = r.headers["content-security-policy"]
    inline = re.findall(r"<script>(.*?)</script>", r.text, re.S)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    assert (
        "script-src https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.35.0/swagger-ui-bundle.js 'sha256-" in csp
    )


# --- CORS ---------------------------------------------------------------------------------------------------
PREFLIGHT = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}


def test_no_cors_by_default(client: TestClient) -> None:
    r = client.options("/api/v1/evaluate", headers={"origin": "https://ehr.example", **PREFLIGHT})
    assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM)
    assert "access-control-allow-origin" not in r.headers
    r = client.post("/api/v1/evaluate", json=patient_record(), headers={"origin": "https://ehr.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_cors_allows_exactly_the_configured_origins(tmp_path: Path) -> None:
    with make(tmp_path, cors_origins=("https://board.hospital.example",)) as c:
        ok = c.options("/api/v1/evaluate", headers={"origin": "https://board.hospital.example", **PREFLIGHT})
        assert ok.status_code == 204
        assert ok.headers["access-control-allow-origin"] == "https://board.hospital.example"
        assert "POST" in ok.headers["access-control-allow-methods"]
        assert "Content-Type" in ok.headers["access-control-allow-headers"]
        assert "Origin" in ok.headers["vary"]
        assert_security_headers(ok)
        for origin in ("https://evil.example", "https://board.hospital.example.evil.example", "null"):
            bad = c.options("/api/v1/evaluate", headers={"origin": origin, **PREFLIGHT})
            assert bad.status_code == 403, origin
            assert "access-control-allow-origin" not in bad.headers
        actual = c.post(
            "/api/v1/evaluate", json=patient_record(), headers={"origin": "https://board.hospital.example"}
        )
        assert actual.headers["access-control-allow-origin"] == "https://board.hospital.example"
        assert "X-Request-Id" in actual.headers["access-control-expose-headers"]
        other = c.post("/api/v1/evaluate", json=patient_record(), headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("bad", ["*", "https://x.example/path", "ftp://x.example", "x.example"])
def test_cors_origins_must_be_origins(bad: str) -> None:
    with pytest.raises(SettingsError, match="cors_origins"):
        load_settings(environ={"NETCDS_CORS_ORIGINS": bad})


def test_cors_origins_from_environment() -> None:
    s = load_settings(environ={"NETCDS_CORS_ORIGINS": "https://a.example, http://localhost:5173/"})
    assert s.cors_origins == ("https://a.example", "http://localhost:5173")


# --- rate limit ---------------------------------------------------------------------------------------------
def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    with make(tmp_path, rate_limit_per_minute=6, rate_limit_burst=3, rate_limit_loopback=False) as c:
        codes = [c.get("/api/v1/health").status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        r = c.get("/api/v1/health")
        assert r.status_code == 429
        assert r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["type"] == "urn:netcds:problem:rate-limited"
        assert 1 <= int(r.headers["retry-after"]) <= 10  # 6/min: one token every 10 s
        assert_security_headers(r)


def test_loopback_is_not_limited_unless_configured(tmp_path: Path) -> None:
    with make(tmp_path, rate_limit_per_minute=6, rate_limit_burst=1) as c:  # the test client is local
        assert {c.get("/api/v1/health").status_code for _ in range(20)} == {200}
    with make(tmp_path, rate_limit_per_minute=6, rate_limit_burst=1, rate_limit_loopback=True) as c:
        assert [c.get("/api/v1/health").status_code for _ in range(2)] == [200, 429]


def test_rate_limit_off(tmp_path: Path) -> None:
    with make(tmp_path, rate_limit_per_minute=0, rate_limit_loopback=False) as c:
        assert {c.get("/api/v1/health").status_code for _ in range(30)} == {200}


def _token(iss: str, sub: str) -> str:
    def part(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"Bearer {part({'alg': 'RS256'})}.{part({'iss': iss, 'sub': sub})}.c2ln"


def test_rate_limit_unverified_tokens_share_the_address_bucket(tmp_path: Path) -> None:
    """rate_limit_key = "client" keys a bucket on a VERIFIED token only: unsigned iss/sub claims draw from the
    sender's address bucket, so made-up subjects neither bypass the limit nor spend another client's bucket
    (verified clients: tests/api/test_security_review26.py)."""
    with make(
        tmp_path,
        rate_limit_per_minute=6,
        rate_limit_burst=2,
        rate_limit_loopback=False,
        rate_limit_key="client",
    ) as c:
        a, b = {"authorization": _token("https://a", "x")}, {"authorization": _token("https://b", "x")}
        assert [c.get("/api/v1/health", headers=a).status_code for _ in range(3)] == [200, 200, 429]
        assert c.get("/api/v1/health", headers=b).status_code == 429


def test_token_bucket_refills() -> None:
    b = TokenBuckets(per_minute=60, burst=2)
    assert b.take("k", now=0.0) == 0.0
    assert b.take("k", now=0.0) == 0.0
    assert b.take("k", now=0.0) == pytest.approx(1.0)  # one token a second
    assert b.take("k", now=1.0) == 0.0
    assert b.take("other", now=1.0) == 0.0
    small = TokenBuckets(per_minute=60, burst=1, max_keys=2)
    for k in ("a", "b", "c"):
        small.take(k, now=0.0)
    assert len(small._buckets) == 2  # bounded memory


# --- body limit ---------------------------------------------------------------------------------------------
def test_body_limit_is_configurable(tmp_path: Path) -> None:
    s = load_settings(environ={"NETCDS_MAX_BODY_BYTES": "4096"})
    assert s.max_body_bytes == 4096
    with make(tmp_path, max_body_bytes=4096) as c:
        r = c.post("/api/v1/evaluate", json=patient_record(medications=["x" * 50] * 100))
        assert r.status_code == 413 and "4096 bytes" in r.json()["detail"]
        assert c.post("/api/v1/evaluate", json=patient_record()).status_code == 200


# --- secrets ------------------------------------------------------------------------------------------------
SECRET = "Zq7-very-secret-pw"


def test_db_password_is_never_in_repr_or_messages() -> None:
    s = Settings(db_url=f"postgresql://netcds:{SECRET}@db.internal:5432/netcds")
    assert SECRET not in repr(s) and SECRET not in str(s)
    assert s.redacted_db_url == "postgresql://netcds:***@db.internal:5432/netcds"
    assert redact_url("sqlite:///x.db") == "sqlite:///x.db"


def test_db_url_from_a_secret_file(tmp_path: Path) -> None:
    f = tmp_path / "db-url"
    f.write_text(f"postgresql://netcds:{SECRET}@db/netcds\n")
    s = load_settings(environ={"NETCDS_DB_URL_FILE": str(f), "NETCDS_DB_URL": "sqlite:///ignored.db"})
    assert s.db_url == f"postgresql://netcds:{SECRET}@db/netcds"
    s = load_settings(environ={"NETCDS_DB_URL_FILE": str(f)}, overrides={"db_url": "sqlite:///cli.db"})
    assert s.db_url == "sqlite:///cli.db"
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"NETCDS_DB_URL_FILE": str(tmp_path / "absent")})
    assert "NETCDS_DB_URL_FILE" in str(err.value) and SECRET not in str(err.value)


@pytest.mark.parametrize("how", ["env", "argument"])
def test_serve_never_echoes_the_db_password(tmp_path: Path, how: str) -> None:
    """A database that cannot be opened (nothing listens on port 9): one line naming it, password blanked."""
    url = f"postgresql://netcds:{SECRET}@127.0.0.1:9/netcds"
    cmd = [sys.executable, "-m", "netcds", "serve", "--port", "0"]
    env = {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1", "NETCDS_LOG_LEVEL": "debug"}
    if how == "env":
        env["NETCDS_DB_URL"] = url
    else:
        cmd += ["--db", url]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=90)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert SECRET not in out
    assert "Traceback" not in out
    assert "postgresql://netcds:***@127.0.0.1:9/netcds" in out
    if how == "argument":
        assert "command-line arguments are visible" in out
