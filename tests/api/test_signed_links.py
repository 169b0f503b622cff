"""Card links go to web pages a clinician reads; a stored evaluation's link is signed (HMAC-SHA256 over its
path and expiry) and opens without a bearer token, and only as signed: another path, a changed signature or
expiry, a link past its expiry or one signed with another key is refused with a page naming no patient data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.api.signed_links import LinkCheck, LinkSigner, evaluation_path, key_from_secret
from netcds.settings import Settings, SettingsError, load_settings
from tests.api.conftest import (
    BASE,
    CLARITHROMYCIN,
    OS,
    PV,
    Keys,
    auth,
    draft_cabozantinib,
    evaluation_id_of,
    hook_request,
    make_settings,
    prefetch,
)

SECRET = "k" * 16 + "0123456789abcdef0123"  # 36 characters, as a configured secret would be
OTHER_SECRET = "z" * 40
MARKER = "phi-marker-7731"  # the patient's id: must show on the page, never on a refusal
needs_mapping = pytest.mark.skipif(
    find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping not present yet"
)
needs_safety = pytest.mark.skipif(find_spec("netcds.safety") is None, reason="safety layer not present yet")


# --- the signer --------------------------------------------------------------------------------------------


def signer(secret: str = SECRET, lifetime_s: int = 3600) -> LinkSigner:
    return LinkSigner.of(Settings(link_secret=secret, link_lifetime_s=lifetime_s))


def parts(url: str) -> tuple[str, str, str]:
    """``(path, exp, sig)`` of a signed URL."""
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path, query["exp"][0], query["sig"][0]


def test_a_link_is_signed_over_its_path_and_expiry_with_the_configured_secret() -> None:
    path = evaluation_path("8a7c1f0e-8d1c-4a51-9d36-2f1f4c1e2b3a")
    url = signer().url(BASE, path, now=1_800_000_000)
    got_path, exp, sig = parts(url)
    assert url.startswith(f"{BASE}/ui/evaluations/") and got_path == path
    assert exp == str(1_800_000_000 + 3600)  # the configured lifetime from now
    # recomputed here from the secret alone: the key is the secret's, not a built-in or a random one
    key = hmac.new(SECRET.encode(), b"netcds signed card links v1", hashlib.sha256).digest()
    mac = hmac.new(key, f"{path}\n{exp}".encode(), hashlib.sha256).digest()
    assert sig == base64.urlsafe_b64encode(mac).decode().rstrip("=")
    assert key_from_secret(SECRET) == key
    assert signer().check(path, exp, sig, now=1_800_000_000) is LinkCheck.VALID
    # the same secret after a restart (a new signer) accepts it; another secret does not
    assert signer().check(path, exp, sig, now=1_800_000_100) is LinkCheck.VALID
    assert signer(OTHER_SECRET).check(path, exp, sig, now=1_800_000_000) is LinkCheck.INVALID


def test_a_changed_path_signature_or_expiry_and_an_expired_link_are_refused() -> None:
    s = signer()
    now = 1_800_000_000
    path = evaluation_path("8a7c1f0e-8d1c-4a51-9d36-2f1f4c1e2b3a")
    _, exp, sig = parts(s.url(BASE, path, now=now))
    other = evaluation_path("00000000-8d1c-4a51-9d36-2f1f4c1e2b3a")
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    assert s.check(other, exp, sig, now=now) is LinkCheck.INVALID  # another evaluation
    assert s.check(path + "/pdf", exp, sig, now=now) is LinkCheck.INVALID  # another page of it
    assert s.check(path, exp, flipped, now=now) is LinkCheck.INVALID
    assert s.check(path, str(int(exp) + 1), sig, now=now) is LinkCheck.INVALID  # expiry extended
    assert s.check(path, exp, sig, now=int(exp)) is LinkCheck.EXPIRED
    assert s.check(path, exp, sig, now=int(exp) + 86400) is LinkCheck.EXPIRED
    assert s.check(path, None, None) is LinkCheck.MISSING
    for bad_exp, bad_sig in ((exp, None), (None, sig), ("", sig), ("12a", sig), ("١٢٣", sig), (exp, "")):
        assert s.check(path, bad_exp, bad_sig, now=now) is LinkCheck.INVALID, (bad_exp, bad_sig)
    # a link signed for longer than links live now (the lifetime was lowered) is not one to honour
    long = LinkSigner(s.key, 30 * 86400)
    _, long_exp, long_sig = parts(long.url(BASE, path, now=now))
    assert s.check(path, long_exp, long_sig, now=now) is LinkCheck.INVALID


def test_without_a_secret_the_key_is_random_per_start_and_shared_by_the_workers() -> None:
    a, b = LinkSigner.of(Settings()), LinkSigner.of(Settings())
    assert a.random_key and b.random_key and a.key != b.key and len(a.key) == 32
    shared = b"\x01" * 32  # made once by `netcds serve` for all its workers
    assert LinkSigner.of(Settings(), shared).key == LinkSigner.of(Settings(), shared).key == shared
    configured = LinkSigner.of(Settings(link_secret=SECRET), shared)  # a configured secret wins
    assert not configured.random_key and configured.key == key_from_secret(SECRET)
    assert SECRET not in repr(configured) and "key=b" not in repr(configured)


# --- settings ----------------------------------------------------------------------------------------------


def test_the_link_secret_and_lifetime_come_from_the_environment_or_a_file(tmp_path: Path) -> None:
    assert Settings().link_lifetime_s == 24 * 3600 and Settings().link_secret is None
    s = load_settings(environ={"NETCDS_LINK_SECRET": SECRET, "NETCDS_LINK_LIFETIME_S": "600"})
    assert s.link_secret == SECRET and s.link_lifetime_s == 600
    assert SECRET not in repr(s)
    secret_file = tmp_path / "link-secret"
    secret_file.write_text(OTHER_SECRET + "\n", encoding="utf-8")
    env = {"NETCDS_LINK_SECRET": SECRET, "NETCDS_LINK_SECRET_FILE": str(secret_file)}
    assert load_settings(environ=env).link_secret == OTHER_SECRET  # the file wins
    config = tmp_path / "netcds.toml"
    config.write_text(f'[links]\nsecret_file = "{secret_file}"\nlifetime_s = 7200\n', encoding="utf-8")
    from_file = load_settings(config, environ={})
    assert from_file.link_secret == OTHER_SECRET and from_file.link_lifetime_s == 7200


def test_a_short_or_unreadable_link_secret_stops_the_service_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as short:
        load_settings(environ={"NETCDS_LINK_SECRET": "hunter2-short"})
    assert "NETCDS_LINK_SECRET" in str(short.value) and "hunter2" not in str(short.value)
    with pytest.raises(SettingsError) as missing:
        load_settings(environ={"NETCDS_LINK_SECRET_FILE": str(tmp_path / "none")})
    assert "NETCDS_LINK_SECRET_FILE" in str(missing.value)
    with pytest.raises(SettingsError) as lifetime:
        load_settings(environ={"NETCDS_LINK_LIFETIME_S": "5"})
    assert "NETCDS_LINK_LIFETIME_S" in str(lifetime.value)


# --- through the service -----------------------------------------------------------------------------------


def marked_prefetch(medications: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The realistic prefetch, its patient's id a marker to look for in pages."""
    text = json.dumps(prefetch(medications)).replace('"Patient/p1"', f'"Patient/{MARKER}"')
    data: dict[str, Any] = json.loads(text)
    data["patient"]["id"] = MARKER
    return data


def chart(medications: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    body = hook_request("patient-view", prefetch_data=marked_prefetch(medications), **extra)
    body["context"]["patientId"] = MARKER
    return body


@pytest.fixture
def locked(tmp_path: Path, keys: Keys) -> Iterator[TestClient]:
    """The service with the REST API (and the web pages' stored cases) behind a token, a link secret set."""
    settings = make_settings(tmp_path, keys, api_require_token=True, link_secret=SECRET)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def open_chart(c: TestClient, keys: Keys, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    r = c.post(PV, json=body or chart(), headers=auth(keys, PV))
    assert r.status_code == 200, r.text
    cards: list[dict[str, Any]] = r.json()["cards"]
    return cards


def follow(c: TestClient, url: str) -> httpx.Response:
    """GET a card link as the clinician's browser does: no Authorization header."""
    assert url.startswith(BASE + "/"), url
    return c.get(url.removeprefix(BASE))


def refused(r: httpx.Response) -> None:
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert MARKER not in r.text and "Lines of therapy" not in r.text and "Ki-67" not in r.text


def explanation(cards: list[dict[str, Any]]) -> str:
    links = [k for k in cards[0]["links"] if "/ui/evaluations/" in k["url"]]
    assert len(links) == 1, cards[0]["links"]
    assert links[0]["type"] == "absolute"
    url: str = links[0]["url"]
    return url


@needs_mapping
def test_card_links_point_at_web_pages_not_json(locked: TestClient, keys: Keys) -> None:
    cards = open_chart(locked, keys)
    urls = [k["url"] for c in cards for k in c.get("links", [])]
    assert urls and all(u.startswith(f"{BASE}/ui/") for u in urls), urls
    assert not [u for u in urls if "/api/v1/" in u]
    options, missing = cards[0], cards[1]
    for card in (options, missing):
        assert [k["url"].split("?")[0] for k in card["links"]] == [
            f"{BASE}/ui/evaluations/{evaluation_id_of(explanation(cards))}",
            f"{BASE}/ui/guideline/nccn-net/5.2024-r13/gi_wd_g12",
        ]
    # the guideline table's page opens in a browser without a token: plain, unsigned
    page = follow(locked, options["links"][1]["url"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


@needs_mapping
def test_a_signed_link_opens_the_evaluation_page_without_a_token(locked: TestClient, keys: Keys) -> None:
    cards = open_chart(locked, keys)
    url = explanation(cards)
    evaluation_id = evaluation_id_of(url)
    page = follow(locked, url)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert MARKER in page.text and "well-differentiated grade 1/2" in page.text
    assert page.headers["cache-control"] == "no-store"
    # the JSON of the same evaluation still needs the token (the REST API is unchanged)
    assert locked.get(f"/api/v1/evaluations/{evaluation_id}").status_code == 401
    # the read is audited as a signed link's
    store = locked.app.state.netcds.store  # type: ignore[attr-defined]
    reads = [a for a in store.audit_log(20, "evaluation.read") if a.target == evaluation_id]
    assert reads and reads[0].actor == "web-signed-link"
    # its timeline and PDF are linked signed with the same expiry, and open too
    exp = parts(url)[1]
    for sub, kind in (("timeline", "text/html"), ("pdf", "application/pdf")):
        m = re.search(rf'href="(/ui/evaluations/{evaluation_id}/{sub}\?[^"]+)"', page.text)
        assert m, sub
        href = m.group(1).replace("&amp;", "&")
        assert parse_qs(urlsplit(href).query)["exp"] == [exp]
        got = locked.get(href)
        assert got.status_code == 200 and got.headers["content-type"].startswith(kind), sub
    timeline = locked.get(
        re.search(r'href="(/ui/evaluations/[^"]+/timeline\?[^"]+)"', page.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    )
    back = re.search(rf'href="(/ui/evaluations/{evaluation_id}\?[^"]+)"', timeline.text)
    assert back and locked.get(back.group(1).replace("&amp;", "&")).status_code == 200


@needs_mapping
def test_a_missing_changed_or_expired_signature_is_refused_without_patient_data(
    locked: TestClient, keys: Keys
) -> None:
    first, second = explanation(open_chart(locked, keys)), explanation(open_chart(locked, keys))
    path, exp, sig = parts(first)
    other_path = parts(second)[0]
    assert path != other_path
    refused(locked.get(path))  # no signature: the web pages do not open stored cases when a token is required
    refused(locked.get(f"{other_path}?exp={exp}&sig={sig}"))  # the signature of another evaluation
    refused(locked.get(f"{path}/pdf?exp={exp}&sig={sig}"))  # of another page
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    refused(locked.get(f"{path}?exp={exp}&sig={flipped}"))
    refused(locked.get(f"{path}?exp={int(exp) + 3600}&sig={sig}"))  # extended by hand
    refused(locked.get(f"{path}?exp={exp}"))
    ctx = locked.app.state.netcds  # type: ignore[attr-defined]
    expired = ctx.link_signer.url(BASE, path, now=time.time() - ctx.settings.link_lifetime_s - 1)
    r = follow(locked, expired)
    refused(r)
    assert "expired" in r.text
    # signed with another secret (another installation): refused
    foreign = LinkSigner.of(Settings(link_secret=OTHER_SECRET)).url(BASE, path)
    refused(follow(locked, foreign))
    assert follow(locked, first).status_code == 200  # the real link still opens


@needs_mapping
def test_links_signed_with_the_configured_secret_survive_a_restart(tmp_path: Path, keys: Keys) -> None:
    settings = make_settings(tmp_path, keys, api_require_token=True, link_secret=SECRET)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        url = explanation(open_chart(c, keys))
    with TestClient(create_app(settings), raise_server_exceptions=False) as again:  # same secret
        assert follow(again, url).status_code == 200
    other = settings.model_copy(update={"link_secret": OTHER_SECRET})
    with TestClient(create_app(other), raise_server_exceptions=False) as changed:
        refused(follow(changed, url))
    random_key = settings.model_copy(update={"link_secret": None})
    with TestClient(create_app(random_key), raise_server_exceptions=False) as restarted:
        refused(follow(restarted, url))  # no secret: a random key per start, its links die with it


@needs_mapping
def test_with_the_token_off_signed_and_plain_links_open_but_a_bad_signature_is_refused(
    tmp_path: Path, keys: Keys
) -> None:
    with TestClient(create_app(make_settings(tmp_path, keys)), raise_server_exceptions=False) as c:
        url = explanation(open_chart(c, keys))
        path, exp, sig = parts(url)
        assert follow(c, url).status_code == 200
        plain = c.get(path)  # as before: the web pages are open when no token is required
        assert plain.status_code == 200 and MARKER in plain.text
        refused(c.get(f"{path}?exp={int(exp) + 1}&sig={sig}"))  # a link that is signed is always checked


@needs_mapping
def test_same_record_same_card_uuids_whatever_the_key_or_time(tmp_path: Path, keys: Keys) -> None:
    answers = []
    for i, secret in enumerate((SECRET, OTHER_SECRET, None)):
        settings = make_settings(tmp_path / str(i), keys, link_secret=secret, link_lifetime_s=60 + i)
        (tmp_path / str(i)).mkdir()
        with TestClient(create_app(settings), raise_server_exceptions=False) as c:
            answers.append(open_chart(c, keys))
            answers.append(open_chart(c, keys))
    uuids = [[c["uuid"] for c in a] for a in answers]
    assert all(u == uuids[0] for u in uuids)
    assert len({explanation(a) for a in answers}) == len(answers)  # each call its own signed link


@needs_mapping
@needs_safety
def test_order_card_links_go_to_the_agent_and_table_pages(locked: TestClient, keys: Keys) -> None:
    body = hook_request(
        "order-sign", prefetch_data=prefetch([CLARITHROMYCIN]), drafts=[draft_cabozantinib(60)]
    )
    r = locked.post(OS, json=body, headers=auth(keys, OS))
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    urls = {k["url"] for c in cards for k in c.get("links", [])}
    assert f"{BASE}/ui/agents/cabozantinib" in urls
    assert any(u.startswith(f"{BASE}/ui/guideline") for u in urls)
    assert all(u.startswith(f"{BASE}/ui/") and "sig=" not in u for u in urls), (
        urls
    )  # nothing patient-specific
    for url in urls:
        page = follow(locked, url)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), url
