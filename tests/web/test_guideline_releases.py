"""The guideline browser per knowledge release: ``/ui/guideline/{id}/{release}`` and ``.../{table}`` show
what that release encodes (a card computed with it links there), state the release, and a release other
than the service's says so with a link to the current one; anything else is a 404 page, never a 500."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.knowledge import load as knowledge_load
from netcds.knowledge.load import DEFAULT_VERSION, available_versions, default_knowledge_dir
from netcds.settings import Settings
from tests.web.test_pages import assert_safe_html

RELEASES = available_versions("nccn-net")
TABLES = ["gi_wd_g12", "lung_thymus", "pancreas_wd_g12", "wd_g3"]
CAPTEM = 'data-entry="pancreas.capecitabine_temozolomide"'
R6_NOTE = "note: The table prefers this regimen where the tumor needs to respond"
R5_QUALIFIER = "note: tumor response needed for symptoms or cytoreduction"


def release_shown(html: str) -> str:
    found = re.findall(r'data-release="([^"]+)"', html)
    assert len(found) == 1, found
    return found[0]


def notice(html: str) -> str | None:
    """The "not the release this service uses now" note, if the page has one."""
    m = re.search(
        r'<div class="callout callout-warn" role="note" data-current-release="[^"]+">.*?</div>', html, re.S
    )
    return m.group(0) if m else None


def entry(html: str, marker: str) -> str:
    return html.split(marker, 1)[1].split("</div>", 1)[0]


@pytest.fixture
def pinned_r5(tmp_path: Path) -> Iterator[TestClient]:
    """A service whose knowledge release is pinned to 5.2024-r5 (``knowledge.version``)."""
    settings = Settings(db_url=f"sqlite:///{tmp_path}/r5.db", guideline_version="5.2024-r5")
    with TestClient(create_app(settings)) as c:
        yield c


def test_every_installed_release_has_its_index_and_table_pages(client: TestClient) -> None:
    assert DEFAULT_VERSION in RELEASES and "5.2024" in RELEASES and len(RELEASES) >= 6
    for release in RELEASES:
        r = client.get(f"/ui/guideline/nccn-net/{release}")
        assert r.status_code == 200, (release, r.text[:300])
        assert_safe_html(r)
        assert release_shown(r.text) == f"nccn-net/{release}"
        # the index links to this release's table pages, not the current release's
        links = re.findall(r'<h2><a href="([^"]+)"', r.text)
        assert links == [f"/ui/guideline/nccn-net/{release}/{t}" for t in TABLES]
        for table in TABLES:
            page = client.get(f"/ui/guideline/nccn-net/{release}/{table}")
            assert page.status_code == 200, (release, table)
            assert_safe_html(page)
            assert release_shown(page.text) == f"nccn-net/{release}"
            assert f'data-table="{table}"' in page.text
            nav = page.text.split('<nav class="subnav"', 1)[1].split("</nav>", 1)[0]
            assert f'href="/ui/guideline/nccn-net/{release}/{table}" aria-current="page"' in nav


def test_an_older_release_shows_what_it_encoded_and_links_to_the_current_one(client: TestClient) -> None:
    """5.2024-r5 computed a qualifier for pancreatic CAPTEM that 5.2024-r6 replaced by a note: a card
    computed with r5 must lead to a page that still says what r5 said."""
    old = client.get("/ui/guideline/nccn-net/5.2024-r5/pancreas_wd_g12").text
    assert R5_QUALIFIER in entry(old, CAPTEM) and R6_NOTE not in old
    said = notice(old)
    assert said is not None and "5.2024-r5" in said and DEFAULT_VERSION in said
    assert f'href="/ui/guideline/nccn-net/{DEFAULT_VERSION}/pancreas_wd_g12"' in said
    r6 = client.get("/ui/guideline/nccn-net/5.2024-r6/pancreas_wd_g12").text
    assert R6_NOTE in entry(r6, CAPTEM) and R5_QUALIFIER not in r6
    current = client.get(f"/ui/guideline/nccn-net/{DEFAULT_VERSION}/pancreas_wd_g12").text
    assert R6_NOTE in entry(current, CAPTEM) and R5_QUALIFIER not in current
    assert notice(current) is None and "the release this service uses now" in current
    # the first release (its manifest names no separate release id) says which it is too
    first = client.get("/ui/guideline/nccn-net/5.2024").text
    assert release_shown(first) == "nccn-net/5.2024"
    assert f'href="/ui/guideline/nccn-net/{DEFAULT_VERSION}"' in (notice(first) or "")


def test_the_unversioned_pages_are_the_current_release_and_say_which(client: TestClient) -> None:
    index = client.get("/ui/guideline").text
    assert release_shown(index) == f"nccn-net/{DEFAULT_VERSION}" and notice(index) is None
    assert '<h2><a href="/ui/guideline/gi_wd_g12">' in index  # links stay under /ui/guideline
    table = client.get("/ui/guideline/pancreas_wd_g12").text
    assert release_shown(table) == f"nccn-net/{DEFAULT_VERSION}" and R6_NOTE in table


def test_a_service_pinned_to_an_older_release_calls_that_one_current(pinned_r5: TestClient) -> None:
    index = pinned_r5.get("/ui/guideline").text
    assert release_shown(index) == "nccn-net/5.2024-r5" and notice(index) is None
    assert notice(pinned_r5.get("/ui/guideline/nccn-net/5.2024-r5/wd_g3").text) is None
    newer = pinned_r5.get("/ui/guideline/nccn-net/5.2024-r6/wd_g3").text
    said = notice(newer)
    assert said is not None and 'href="/ui/guideline/nccn-net/5.2024-r5/wd_g3"' in said


@pytest.mark.parametrize(
    "url",
    [
        "/ui/guideline/nccn-net/9.9999",
        "/ui/guideline/nccn-net/9.9999/gi_wd_g12",
        "/ui/guideline/other/5.2024",
        "/ui/guideline/NCCN-NET/5.2024-r6",
        "/ui/guideline/nccn-net/5.2024-R6",
        "/ui/guideline/nccn-net/%2E%2E",
        "/ui/guideline/%2E%2E/nccn-net",
        "/ui/guideline/%2E%2E/%2E%2E/gi_wd_g12",
        "/ui/guideline/nccn-net/5.2024-r6/%2E%2E",
        "/ui/guideline/nccn-net/5.2024-r6%0A",
        "/ui/guideline/nccn-net/5.2024-r6%00",
        "/ui/guideline/nccn-net/5.2024-r6/gi_wd_g12%00",
        "/ui/guideline/nccn-net/5.2024-r6/nope",
        "/ui/guideline/nccn-net/5.2024-r6/GI_WD_G12",
        "/ui/guideline/nccn-net/5.2024-r%C3%A9",
        "/ui/guideline/nccn-net/5.2024-r6/%E6%B6%88%E5%8C%96",
        "/ui/guideline/%E2%80%AEten-ccn/5.2024-r6",
        "/ui/guideline/nccn-net/%F0%9F%92%8A/gi_wd_g12",
        "/ui/guideline/nccn-net/" + "r" * 5000,
        "/ui/guideline/" + "n" * 5000 + "/5.2024-r6/gi_wd_g12",
        "/ui/guideline/nccn-net/5.2024-r6/" + "t" * 5000,
    ],
)
def test_unknown_guideline_release_or_table_is_a_404_page(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 404, r.text[:300]
    assert_safe_html(r)
    message = r.text.split('role="alert"><p>', 1)[1].split("</p>", 1)[0]
    assert len(message) < 300  # the odd text is cut and quoted, never echoed whole
    assert "\u202e" not in r.text


def test_a_release_is_loaded_once_per_process_not_per_request(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.get("/ui/guideline/nccn-net/5.2024-r3/wd_g3").status_code == 200

    def no_reading(folder: Path) -> None:
        raise AssertionError(f"knowledge read again from {folder}")

    monkeypatch.setattr(knowledge_load, "load_folder", no_reading)
    for url in ("/ui/guideline/nccn-net/5.2024-r3", "/ui/guideline/nccn-net/5.2024-r3/gi_wd_g12"):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    "content",
    [b"- letter: A\n  available: maybe\n", b"\xff\xfe not UTF-8", b"[" * 100_000],
    ids=["invalid", "not_utf8", "nested_too_deeply"],
)
def test_an_installed_release_that_does_not_load_is_a_503_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    root = tmp_path / "knowledge"
    shutil.copytree(default_knowledge_dir(), root)
    broken = root / "nccn-net" / "9.9-broken"
    shutil.copytree(root / "nccn-net" / "5.2024-r5", broken)
    (broken / "footnotes.yaml").write_bytes(content)
    monkeypatch.setenv("NETCDS_KNOWLEDGE_DIR", str(root))
    with TestClient(create_app(Settings(db_url=f"sqlite:///{tmp_path}/t.db"))) as c:
        r = c.get("/ui/guideline/nccn-net/9.9-broken/gi_wd_g12")
        assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
        assert "9.9-broken" in r.text and "footnotes" in r.text
        assert c.get("/ui/guideline/nccn-net/5.2024-r5/gi_wd_g12").status_code == 200
