"""The OpenAPI document says which operations take a bearer JWT, and the service does exactly that; the
API page loads a pinned Swagger UI whose files the browser checks by Subresource Integrity."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.api.openapi import build_openapi
from netcds.api.security import SWAGGER_SRI, SWAGGER_UI_VERSION
from netcds.settings import Settings

ID = "0b6f1d3e-7a4c-4d7e-9a51-2f3c4b5a6d7e"


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield method, path, op


def _call(c: TestClient, method: str, path: str) -> int:
    url = path.format(
        case_id=ID,
        evaluation_id=ID,
        service_id="netcds-patient-view",
        guideline_id="x",
        version="y",
        agent_id="x",
    )
    if method == "post":
        return c.post(url, content=b"{}", headers={"content-type": "application/json"}).status_code
    return c.get(url).status_code


def test_the_bearer_scheme_is_declared_and_named_by_the_operations_that_check_it() -> None:
    doc = build_openapi()
    scheme = doc["components"]["securitySchemes"]["bearerJWT"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    secured = {(m, p): op.get("security") for m, p, op in _operations(doc)}
    for (m, p), security in secured.items():
        if p.startswith("/cds-services"):
            assert security == [{"bearerJWT": []}], (m, p)  # always: CDS Hooks 2.0 service authorization
        elif p.startswith(("/api/v1/evaluate", "/api/v1/cases", "/api/v1/evaluations")):
            assert security == [{"bearerJWT": []}, {}], (m, p)  # only with server.require_token
        else:
            assert security is None, (m, p)  # health, guidelines, agents: no patient data
    for m, p, op in _operations(doc):
        assert ("401" in op["responses"]) == (secured[(m, p)] is not None), (m, p)
        r429 = op["responses"]["429"]
        assert "Retry-After" in r429["headers"] and "application/problem+json" in r429["content"], (m, p)


@pytest.mark.parametrize("require_token", [True, False])
def test_the_service_asks_for_a_token_exactly_where_the_document_says(
    tmp_path: Path, require_token: bool
) -> None:
    """Without a token: 401 on an operation iff the document requires a bearer there (a REST operation
    requires it only with server.require_token); never 401 elsewhere."""
    doc = build_openapi()
    settings = Settings(db_url=f"sqlite:///{tmp_path / 's.db'}", api_require_token=require_token)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        seen = {}
        for m, p, op in _operations(doc):
            security = op.get("security")
            required = security is not None and ({} not in security or require_token)
            status = _call(c, m, p)
            seen[(m, p)] = status
            assert (status == 401) == required, (m, p, status)
            assert status < 500, (m, p, status)
    assert sum(s == 401 for s in seen.values()) >= (10 if require_token else 3)


def test_the_api_page_pins_swagger_ui_and_checks_its_files(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(db_url=f"sqlite:///{tmp_path / 's.db'}"))) as c:
        r = c.get("/api/v1/docs")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    tags = re.findall(r"<(?:script|link)[^>]*(?:src|href)=\"https://[^>]*>", r.text)
    assert len(tags) == 2  # the bundle and its style, nothing else from another origin
    for url, digest in SWAGGER_SRI.items():
        assert f"@{SWAGGER_UI_VERSION}/" in url
        tag = next(t for t in tags if url in t)
        assert f'integrity="{digest}"' in tag and 'crossorigin="anonymous"' in tag
        assert url in csp  # the policy names the pinned files, not the whole CDN
    assert "https://cdn.jsdelivr.net " not in csp and "fastapi.tiangolo.com" not in r.text + csp


def test_the_integrity_digests_are_those_of_the_published_package(tmp_path: Path) -> None:
    """The digests are recomputed from the npm registry's swagger-ui-dist release (as jsDelivr serves it)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm not available")
    proc = subprocess.run(
        [npm, "pack", f"swagger-ui-dist@{SWAGGER_UI_VERSION}", "--silent", "--pack-destination", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    tgz = tmp_path / f"swagger-ui-dist-{SWAGGER_UI_VERSION}.tgz"
    assert proc.returncode == 0 and tgz.exists(), proc.stderr
    with tarfile.open(tgz, "r:gz") as tar:
        for url, digest in SWAGGER_SRI.items():
            member = tar.extractfile("package/" + url.rsplit("/", 1)[1])
            assert member is not None
            got = "sha384-" + base64.b64encode(hashlib.sha384(member.read()).digest()).decode()
            assert got == digest, url
