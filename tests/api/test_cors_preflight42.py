"""An allowed CORS preflight is answered 204 with no content (QA session 42, L3): no content type (it said
application/problem+json, the type of a problem document that is not there), no Content-Length, no body. A
refused one stays a 403 problem document."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from netcds.api.app import create_app
from tests.api.conftest import Keys, make_settings

ORIGIN = "https://board.hospital.example"
PREFLIGHT = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}


def test_an_allowed_preflight_is_a_204_without_content(tmp_path: Path, keys: Keys) -> None:
    settings = make_settings(tmp_path, keys, cors_origins=(ORIGIN,))
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        ok = c.options("/api/v1/evaluate", headers={"origin": ORIGIN, **PREFLIGHT})
        assert ok.status_code == 204
        assert "content-type" not in ok.headers and "content-length" not in ok.headers
        assert ok.content == b""
        assert ok.headers["access-control-allow-origin"] == ORIGIN
        assert ok.headers["x-request-id"]  # the middleware's own headers are still added
        bad = c.options("/api/v1/evaluate", headers={"origin": "https://evil.example", **PREFLIGHT})
        assert bad.status_code == 403
        assert bad.headers["content-type"] == "application/problem+json"
        assert int(bad.headers["content-length"]) == len(bad.content) > 0
