"""One loopback test (api/security.py ``is_loopback``) for both of its uses: where ``serve`` binds (api/cli.py:
open hooks, the derived Host allow-list) takes real hosts only, while the rate limiter also exempts Starlette's
in-process client ("testclient", "testserver"), which no server can listen on."""

from __future__ import annotations

import pytest

from netcds.api import cli, security
from netcds.api.cli import derived_hosts, open_hooks_problem
from netcds.api.security import is_loopback_client, limited
from netcds.settings import Settings

# host -> (a loopback bind address, a request from it exempt from the rate limit)
HOSTS: dict[str, tuple[bool, bool]] = {
    "localhost": (True, True),
    "127.0.0.1": (True, True),
    "127.9.9.9": (True, True),
    "::1": (True, True),
    "0.0.0.0": (False, False),
    "10.0.0.1": (False, False),
    "cds.hospital.example": (False, False),
    "": (False, False),
    "testserver": (False, True),
    "testclient": (False, True),
}


def test_the_cli_uses_the_one_loopback_test() -> None:
    assert cli.is_loopback is security.is_loopback
    assert not hasattr(cli, "_loopback")


@pytest.mark.parametrize(("host", "bind"), [(h, b) for h, (b, _) in HOSTS.items()])
def test_a_bind_address_is_loopback_only_when_it_is_this_machine(host: str, bind: bool) -> None:
    assert security.is_loopback(host) is bind
    settings = Settings(db_url="sqlite://", hooks_open=True, host=host)
    refused = open_hooks_problem(settings, True, host)
    assert (refused is None) is bind, refused
    hosts, warning = derived_hosts(settings)
    if bind:  # the loopback names, and the bound address itself
        assert hosts[:3] == ("localhost", "127.0.0.1", "[::1]") and warning is None
    else:  # beyond loopback without base_url or allowed_hosts: no check, and a warning saying so
        assert hosts == () and warning is not None and warning.startswith(f"listening on {host} without")


@pytest.mark.parametrize(("host", "exempt"), [(h, e) for h, (_, e) in HOSTS.items()])
def test_the_rate_limit_exempts_loopback_clients_and_the_in_process_client(host: str, exempt: bool) -> None:
    assert is_loopback_client(host) is exempt
    assert limited(host, Settings(db_url="sqlite://", rate_limit_per_minute=6)) is not exempt
    # configured to limit loopback too, every client is limited; with no limit, none is
    assert limited(host, Settings(db_url="sqlite://", rate_limit_per_minute=6, rate_limit_loopback=True))
    assert not limited(host, Settings(db_url="sqlite://", rate_limit_per_minute=0))
