"""The fake EHR of the SMART launch tests (tests/web/test_smart.py): a SMART configuration, an authorize
endpoint, a token endpoint checking the PKCE verifier, and FHIR searches over one Bundle's resources; and
the helpers that drive a launch through the app as a browser would (redirects followed by hand, the launch
cookie carried). No tests here."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from netcds.api.app import create_app
from netcds.settings import Settings
from netcds.settings_smart import SmartSettings
from netcds.web import smart_seal
from tests.web.conftest import FHIR, ROOT

NET_BUNDLE = FHIR / "ileal_net_ssa_progression.json"  # the ileal NET record the FHIR mapping tests read
NET_PATIENT = "net-ileum-1"
MCODE_BUNDLE = ROOT / "tests" / "fixtures" / "mcode" / "Bundle-mcode-patient-bundle-jenny-m.json"
MCODE_PATIENT = "cancer-patient-jenny-m"
ACCESS_TOKEN = "at-7f3kq9-SECRET-zz81"  # recognisable: searched for in the logs and the page
CLIENT_ID = "netcds-test-client"
REDIRECT_URI = "https://netcds.example/ui/smart/callback"
LAUNCH = "launch-ctx-4471"
LINK_SECRET = "s" * 40
FAKE_EHR_PORTS = range(18200, 18300)  # the loopback ports these tests may serve the fake EHR on


def fake_ehr_socket() -> socket.socket:
    for port in FAKE_EHR_PORTS:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        return sock
    raise RuntimeError("no free port for the fake EHR")


@dataclass
class FakeEhr:
    """An EHR with a SMART authorization server and a FHIR server holding one Bundle's resources."""

    bundle: dict[str, Any]
    base: str = ""
    config_override: dict[str, Any] | None = None
    token_status: int = 200
    token_body: dict[str, Any] | None = None
    fhir_status: int = 200
    slow_observations_s: float = 0.0
    foreign_next_link: bool = False
    raw_search: dict[str, bytes] = field(default_factory=dict)  # resource type -> the search's raw body
    next_link: str | None = None  # a next link on the Observation search (same origin or not)
    refused_types: frozenset[str] = frozenset()  # resource types the token may not read (403)
    medication_status: int | None = None  # the status every Medication read answers (e.g. 410), when set
    slow_medications_s: float = 0.0  # how long each Medication read takes
    requests: list[tuple[str, str, dict[str, str]]] = field(
        default_factory=list
    )  # method, path?query, headers
    authorize_params: list[dict[str, str]] = field(default_factory=list)
    token_forms: list[dict[str, str]] = field(default_factory=list)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def iss(self) -> str:
        return f"{self.base}/fhir"

    def patient_id(self) -> str:
        return next(
            e["resource"]["id"] for e in self.bundle["entry"] if e["resource"]["resourceType"] == "Patient"
        )

    def _record(self, request: Request) -> None:
        where = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        self.requests.append((request.method, where, dict(request.headers)))

    async def config(self, request: Request) -> Response:
        self._record(request)
        body: dict[str, Any] = {
            "authorization_endpoint": f"{self.base}/auth/authorize",
            "token_endpoint": f"{self.base}/auth/token",
            "capabilities": ["launch-ehr", "client-public", "context-ehr-patient"],
            "code_challenge_methods_supported": ["S256"],
        }
        if self.config_override is not None:
            body = self.config_override
        return JSONResponse(body)

    async def authorize(self, request: Request) -> Response:
        self._record(request)
        params = dict(request.query_params)
        self.authorize_params.append(params)
        code = f"code-{len(self.codes)}"
        self.codes[code] = params
        query = urlencode({"code": code, "state": params.get("state", "")})
        return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=302)

    async def token(self, request: Request) -> Response:
        self._record(request)
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.token_forms.append(form)
        if self.token_status != 200:
            return JSONResponse({"error": "invalid_grant"}, status_code=self.token_status)
        asked = self.codes.get(form.get("code", ""))
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        ok = (
            asked is not None
            and form.get("grant_type") == "authorization_code"
            and form.get("redirect_uri") == asked["redirect_uri"]
            and form.get("client_id") == asked["client_id"]
            and asked.get("code_challenge_method") == "S256"
            and challenge == asked.get("code_challenge")
        )
        if not ok:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        body = {"access_token": ACCESS_TOKEN, "token_type": "bearer", "patient": self.patient_id()}
        body["scope"] = asked["scope"] if asked else ""
        if self.token_body is not None:
            body = self.token_body
        return JSONResponse(body)

    async def fhir(self, request: Request) -> Response:
        self._record(request)
        if request.headers.get("authorization") != f"Bearer {ACCESS_TOKEN}" or self.fhir_status != 200:
            status = self.fhir_status if self.fhir_status != 200 else 401
            return JSONResponse({"resourceType": "OperationOutcome", "issue": []}, status_code=status)
        rtype, rid = request.path_params["rtype"], request.path_params.get("rid")
        if rtype in self.refused_types:
            return JSONResponse({"resourceType": "OperationOutcome", "issue": []}, status_code=403)
        resources = [e["resource"] for e in self.bundle["entry"] if e["resource"]["resourceType"] == rtype]
        if rid is not None and rtype == "Medication":
            await asyncio.sleep(self.slow_medications_s)
            if self.medication_status is not None:
                outcome = {"resourceType": "OperationOutcome", "issue": []}
                return JSONResponse(outcome, status_code=self.medication_status)
        if rid is not None:
            found = [r for r in resources if r.get("id") == rid]
            return JSONResponse(found[0]) if found else JSONResponse({}, status_code=404)
        if rid is None and rtype in self.raw_search:
            return Response(self.raw_search[rtype], media_type="application/fhir+json")
        if rtype == "Observation" and self.slow_observations_s:
            await asyncio.sleep(self.slow_observations_s)
        wanted = f"Patient/{request.query_params.get('patient')}"
        matches = [
            r for r in resources if (r.get("subject") or r.get("patient") or {}).get("reference") == wanted
        ]
        page: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"fullUrl": f"{self.iss}/{rtype}/{r['id']}", "resource": r} for r in matches],
        }
        if rtype == "Observation" and self.foreign_next_link:
            page["link"] = [{"relation": "next", "url": self.iss.replace("127.0.0.1", "localhost") + "/x"}]
        if rtype == "Observation" and self.next_link is not None:
            page["link"] = [{"relation": "next", "url": self.next_link}]
        return JSONResponse(page)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/fhir/.well-known/smart-configuration", self.config),
                Route("/auth/authorize", self.authorize),
                Route("/auth/token", self.token, methods=["POST"]),
                Route("/fhir/{rtype}/{rid}", self.fhir),
                Route("/fhir/{rtype}", self.fhir),
            ]
        )


def load_bundle(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def smart_settings(tmp_path: Path, iss: str, **smart: Any) -> Settings:
    values: dict[str, Any] = {
        "enabled": True,
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "issuers": (iss,),
    }
    values.update(smart)
    return Settings(
        db_url=f"sqlite:///{tmp_path}/smart.db", link_secret=LINK_SECRET, smart=SmartSettings(**values)
    )


class Netcds:
    """Apps built from settings (each one a separate ``create_app``), their stores closed at the end."""

    def __init__(self) -> None:
        self.apps: list[Any] = []

    def client(self, settings: Settings) -> TestClient:
        app = create_app(settings)
        self.apps.append(app)
        return TestClient(app, base_url="https://netcds.example", follow_redirects=False)

    def close(self) -> None:
        for app in self.apps:
            app.state.netcds.store.close()


def launch(client: TestClient, ehr: FakeEhr, iss: str | None = None) -> httpx.Response:
    return client.get("/ui/smart/launch", params={"iss": iss or ehr.iss, "launch": LAUNCH})


def authorize(launched: httpx.Response) -> dict[str, str]:
    """Follow the launch's redirect to the fake EHR's authorize endpoint; the callback's query it sends back."""
    assert launched.status_code == 302, launched.text
    back = httpx.get(launched.headers["location"], follow_redirects=False)
    assert back.status_code == 302
    location = back.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def ehr_state(launched: httpx.Response) -> str:
    """The state the launch sent to the authorization endpoint (as an EHR would send it back)."""
    assert launched.status_code == 302, launched.text
    return parse_qs(urlsplit(launched.headers["location"]).query)["state"][0]


def callback(client: TestClient, params: dict[str, str]) -> httpx.Response:
    return client.get("/ui/smart/callback", params=params)


def cleared(response: httpx.Response) -> bool:
    """The answer clears the launch cookie (its path, no value, expired)."""
    for header in response.headers.get_list("set-cookie"):
        if (
            header.startswith(f"{smart_seal.COOKIE}_")
            and "Max-Age=0" in header
            and "Path=/ui/smart" in header
        ):
            return True
    return False


def text(response: httpx.Response) -> str:
    import html

    return html.unescape(response.text)
