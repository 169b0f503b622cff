"""Browser test: a patient-view card's signed link, clicked in Chromium with no token, opens the stored
evaluation's page and its timeline; a changed or expired link shows a refusal page with no patient data."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from importlib.util import find_spec
from typing import Any

import httpx
import pytest

from netcds.api.app import create_app
from netcds.settings import Settings
from tests.api.conftest import hook_request, prefetch
from tests.web.conftest import loopback_socket, served_on
from tests.web.test_browser import browser, page, pytestmark  # noqa: F401 (fixtures and markers)

MARKER = "phi-marker-4417"
SECRET = "s" * 20 + "0123456789abcdef"
pytestmark = [
    *pytestmark,
    pytest.mark.skipif(find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping not present yet"),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """The service (token required on REST and stored cases, hooks open for the test) on a free port."""
    sock, base = loopback_socket()
    settings = Settings(
        db_url=f"sqlite:///{tmp_path_factory.mktemp('signed')}/signed.db",
        base_url=base,
        hooks_open=True,
        api_require_token=True,
        link_secret=SECRET,
    )
    app = create_app(settings)
    with served_on(app, sock):
        yield base, app


def card_link(base: str) -> str:
    data = json.loads(json.dumps(prefetch()).replace('"Patient/p1"', f'"Patient/{MARKER}"'))
    data["patient"]["id"] = MARKER
    body = hook_request("patient-view", prefetch_data=data)
    body["context"]["patientId"] = MARKER
    r = httpx.post(f"{base}/cds-services/netcds-patient-view", json=body, timeout=30)
    assert r.status_code == 200, r.text
    url: str = next(k["url"] for k in r.json()["cards"][0]["links"] if "/ui/evaluations/" in k["url"])
    return url


def test_a_clicked_card_link_opens_the_evaluation_and_a_bad_one_is_refused(
    page: Any,  # noqa: F811 (the fixture)
    served: tuple[str, Any],
) -> None:
    base, app = served
    url = card_link(base)
    response = page.goto(url)
    assert response.status == 200
    assert MARKER in page.inner_text("h1")
    with page.expect_navigation():
        page.click("a.btn:has-text('Timeline')")
    assert "/timeline?" in page.url and "Lines of therapy" in page.inner_text("h1")
    with page.expect_navigation():
        page.click("a.btn:has-text('Back to the evaluation')")
    assert MARKER in page.inner_text("h1")

    signer = app.state.netcds.link_signer
    path = url.removeprefix(base).split("?")[0]
    expired = signer.url(base, path, now=time.time() - signer.lifetime_s - 5)
    tampered = url.replace("sig=", "sig=x")
    for bad, words in ((expired, "expired"), (tampered, "not valid"), (base + path, "not available")):
        response = page.goto(bad)
        assert response.status == 403, bad
        text = page.inner_text("main")
        assert words in text and MARKER not in page.content()
