"""The SMART standalone launch (smart.standalone): netcds opened outside the EHR asks the EHR's authorization
server for a patient (scope launch/patient instead of launch, no launch parameter) and ends on the same
form as an EHR launch; off (the default), a launch without its launch parameter is refused as before."""

from __future__ import annotations

import logging
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from netcds.settings import SettingsError, load_settings
from netcds.settings_smart import SmartSettings
from tests.web import test_smart as smart_tests
from tests.web.conftest import field_block
from tests.web.test_smart_fake import (
    ACCESS_TOKEN,
    NET_PATIENT,
    FakeEhr,
    Netcds,
    authorize,
    callback,
    cleared,
    smart_settings,
    text,
)

ehr, netcds = smart_tests.ehr, smart_tests.netcds
OTHER_ISS = "https://ehr-two.example/fhir/r4"


@pytest.fixture
def client(netcds: Netcds, ehr: FakeEhr, tmp_path: Path) -> TestClient:
    return netcds.client(smart_settings(tmp_path, ehr.iss, standalone=True))


def test_the_standalone_scope_asks_for_a_patient_in_place_of_the_ehr_context() -> None:
    smart = SmartSettings(scope="openid launch patient/Condition.rs fhirUser")
    assert smart.standalone_scope == "openid launch/patient patient/Condition.rs fhirUser"
    assert SmartSettings().standalone_scope.split()[0] == "launch/patient"
    assert "launch" not in SmartSettings().standalone_scope.split()


def test_a_standalone_launch_ends_on_the_form_filled_from_the_ehr_record(
    client: TestClient, ehr: FakeEhr, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="netcds.web.smart")
    launched = client.get("/ui/smart/launch", params={"iss": ehr.iss})
    params = authorize(launched)
    sent = ehr.authorize_params[0]
    assert "launch" not in sent  # no EHR context to pass on
    scopes = sent["scope"].split()
    assert scopes[0] == "launch/patient" and "launch" not in scopes and "patient/Condition.read" in scopes
    assert sent["aud"] == ehr.iss and sent["code_challenge_method"] == "S256"
    page = callback(client, params)
    assert page.status_code == 200, text(page)
    assert f"Imported FHIR Bundle Patient/{NET_PATIENT} from the EHR at {ehr.iss}" in text(page)
    assert '<option value="ileum" selected>' in field_block(page.text, "tumor.primary_site")
    assert cleared(page) and ACCESS_TOKEN not in page.text
    said = [r.getMessage() for r in caplog.records]
    assert any("outcome=authorize-standalone" in m for m in said)
    assert any("outcome=record-shown" in m for m in said)
    assert not any(NET_PATIENT in m or ACCESS_TOKEN in m for m in said)


def test_an_ehr_launch_still_passes_its_context_when_standalone_is_on(
    client: TestClient, ehr: FakeEhr
) -> None:
    authorize(smart_tests.launch(client, ehr))
    sent = ehr.authorize_params[0]
    assert sent["launch"] == smart_tests.LAUNCH and sent["scope"].split()[0] == "launch"


def test_a_standalone_launch_from_an_unlisted_issuer_is_refused_without_any_request(
    client: TestClient, ehr: FakeEhr
) -> None:
    page = client.get("/ui/smart/launch", params={"iss": "https://evil.example/fhir"})
    assert page.status_code == 400 and "smart.issuers" in text(page)
    assert ehr.requests == []


def test_the_launch_path_without_parameters_lists_the_issuers_as_links(
    netcds: Netcds, ehr: FakeEhr, tmp_path: Path
) -> None:
    settings = smart_settings(tmp_path, ehr.iss, standalone=True)
    settings = settings.model_copy(
        update={"smart": settings.smart.model_copy(update={"issuers": (ehr.iss, OTHER_ISS)})}
    )
    client = netcds.client(settings)
    page = client.get("/ui/smart/launch")
    assert page.status_code == 200
    assert "Open a patient's record from an EHR" in text(page)
    links = [unescape(h) for h in page.text.split('href="')[1:] if h.startswith("/ui/smart/launch?")]
    targets = [parse_qs(urlsplit(h.split('"')[0]).query)["iss"][0] for h in links]
    assert targets == [ehr.iss, OTHER_ISS]
    assert "<form" not in page.text.split("<main", 1)[-1]  # links: a form's redirect would break form-action
    assert ehr.requests == []  # nothing is fetched until an issuer is chosen
    # following a link starts the standalone launch at that issuer
    authorize(client.get(links[0].split('"')[0]))
    assert "launch" not in ehr.authorize_params[0]


@pytest.mark.parametrize("params", [{}, {"launch": "ctx-1"}])
def test_off_by_default_a_launch_lacking_iss_or_launch_is_refused_as_before(
    netcds: Netcds, ehr: FakeEhr, tmp_path: Path, params: dict[str, str]
) -> None:
    client = netcds.client(smart_settings(tmp_path, ehr.iss))
    page = client.get("/ui/smart/launch", params=params)
    assert page.status_code == 400 and "iss parameter" in text(page)
    page = client.get("/ui/smart/launch", params={"iss": ehr.iss})
    assert page.status_code == 400 and "launch parameter" in text(page) and "smart.standalone" in text(page)
    assert ehr.requests == []


def test_with_standalone_on_a_launch_parameter_without_iss_is_still_refused(client: TestClient) -> None:
    page = client.get("/ui/smart/launch", params={"launch": "ctx-1"})
    assert page.status_code == 400 and "iss parameter" in text(page)


def test_the_setting_reads_from_the_environment_and_the_config_file(tmp_path: Path) -> None:
    assert load_settings(environ={}).smart.standalone is False
    assert load_settings(environ={"NETCDS_SMART_STANDALONE": "yes"}).smart.standalone is True
    with pytest.raises(SettingsError, match="NETCDS_SMART_STANDALONE"):
        load_settings(environ={"NETCDS_SMART_STANDALONE": "maybe"})
    config = tmp_path / "netcds.toml"
    config.write_text("[smart]\nstandalone = true\n", encoding="utf-8")
    assert load_settings(config, environ={}).smart.standalone is True
