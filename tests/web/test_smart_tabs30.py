"""SMART launches begun in several tabs of one browser each finish.

Each pending launch is kept in its own cookie, named for a digest of its ``state``. Before, one cookie
held the one pending launch, so a second launch (a second chart opened within the ten minutes) overwrote
the first, whose callback was then refused. A new launch also drops the browser's launch cookies that no
longer open, and the oldest beyond ``MAX_PENDING``, so the Cookie header stays small.
"""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from netcds.web import smart_seal
from netcds.web.smart_seal import MAX_PENDING, PendingLaunch, cookie_key, cookie_name, seal, stale_cookies
from tests.web import test_smart as smart_tests
from tests.web.test_smart_fake import NET_PATIENT, FakeEhr, authorize, callback, cleared, launch, text

ehr, netcds, client = smart_tests.ehr, smart_tests.netcds, smart_tests.client  # the launch tests' fixtures
KEY = cookie_key(b"k" * 32)


def deleted(response: httpx.Response) -> set[str]:
    """The launch cookies an answer deletes."""
    out = set()
    for header in response.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0]
        if name.startswith(f"{smart_seal.COOKIE}_") and "Max-Age=0" in header:
            out.add(name)
    return out


def test_two_launches_in_one_browser_both_finish_in_either_order(client: TestClient, ehr: FakeEhr) -> None:
    first = authorize(launch(client, ehr))
    second = authorize(launch(client, ehr))
    assert first["state"] != second["state"]
    done = callback(client, second)
    assert done.status_code == 200, text(done)
    assert deleted(done) == {cookie_name(second["state"])}  # its own cookie only
    done = callback(client, first)
    assert done.status_code == 200, text(done)
    assert f"Patient/{NET_PATIENT}" in text(done) and cleared(done)


def test_the_cookie_name_is_a_digest_not_the_state() -> None:
    state = "s" * 43
    name = cookie_name(state)
    assert name.startswith(f"{smart_seal.COOKIE}_") and state not in name
    assert name != cookie_name(state[:-1] + "t") and name == cookie_name(state)


def pending(state: str) -> PendingLaunch:
    return PendingLaunch(
        state=state,
        verifier="v" * 43,
        iss="https://ehr.example/fhir",
        token_endpoint="https://ehr.example/token",
    )


def test_a_new_launch_drops_cookies_that_no_longer_open_and_the_oldest_beyond_the_limit() -> None:
    now = 1_900_000_000
    cookies = {
        cookie_name(f"state-{k}"): seal(KEY, pending(f"state-{k}"), now - 100 + k)
        for k in range(MAX_PENDING + 1)
    }
    expired = cookie_name("old")
    cookies[expired] = seal(KEY, pending("old"), now - smart_seal.LIFETIME_S - 1)
    foreign = cookie_name("foreign")
    cookies[foreign] = seal(cookie_key(b"other" * 8), pending("foreign"), now)
    misnamed = cookie_name("elsewhere")
    cookies[misnamed] = seal(KEY, pending("not-elsewhere"), now)  # opens, but not under its own name
    cookies["unrelated"] = "x"
    dropped = stale_cookies(KEY, cookies, now)
    # k = 0, 1 are the oldest: MAX_PENDING - 1 newest stay waiting beside the launch beginning now
    oldest = {cookie_name("state-0"), cookie_name("state-1")}
    assert set(dropped) == {expired, foreign, misnamed} | oldest
    assert "unrelated" not in dropped


def test_within_the_limit_nothing_waiting_is_dropped() -> None:
    now = 1_900_000_000
    cookies = {cookie_name(f"s{k}"): seal(KEY, pending(f"s{k}"), now - k) for k in range(MAX_PENDING - 1)}
    assert stale_cookies(KEY, cookies, now) == []


def test_a_browser_never_carries_more_than_max_pending_launches(client: TestClient, ehr: FakeEhr) -> None:
    states = [authorize(launch(client, ehr))["state"] for _ in range(MAX_PENDING + 2)]
    held = [name for name in client.cookies.keys() if name.startswith(f"{smart_seal.COOKIE}_")]  # noqa: SIM118
    assert len(held) <= MAX_PENDING
    newest = callback(client, {"state": states[-1], "code": "code-" + str(len(states) - 1)})
    assert newest.status_code == 200, text(newest)


def test_a_planted_cookie_whose_name_is_no_cookie_key_does_not_break_the_launch(
    client: TestClient, ehr: FakeEhr
) -> None:
    """Review finding: a sibling site could plant `netcds_smart_launch_(x)`; deleting it raised (a 500)."""
    launched = client.get(
        "/ui/smart/launch",
        params={"iss": ehr.iss, "launch": "L"},
        headers={"Cookie": "netcds_smart_launch_(x)=junk; netcds_smart_launch_zz=junk"},
    )
    assert launched.status_code == 302
    assert deleted(launched) == set()  # only names cookie_name makes are netcds's to delete
    assert stale_cookies(
        KEY, {"netcds_smart_launch_(x)": "junk", f"{smart_seal.COOKIE}_{'0' * 20}": "junk"}
    ) == [f"{smart_seal.COOKIE}_{'0' * 20}"]
