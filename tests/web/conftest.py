"""Fixtures for the web app tests: the service app with the web pages mounted, and form helpers."""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from netcds.web import create_web_app, mount
from netcds.web.form_data import NONE_SUFFIX, state_from_record

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "patients"
FHIR = ROOT / "tests" / "fixtures" / "fhir"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives headless Chromium (/usr/bin/chromium) with Playwright"
    )


def loopback_socket() -> tuple[socket.socket, str]:
    """A socket bound to a free loopback port, and its base URL (known before the app is made)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextmanager
def served_on(app: FastAPI, sock: socket.socket) -> Iterator[None]:
    """``app`` served by uvicorn on ``sock`` in a thread, from when it has started until the block ends."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def make_app(db_url: str) -> FastAPI:
    """``create_app`` with the web pages (mounted here unless create_app already does), else a bare app."""
    try:
        from netcds.api.app import create_app
        from netcds.settings import Settings

        app = create_app(Settings(db_url=db_url))
    except Exception as exc:  # the service is not usable: test the pages on a bare app
        warnings.warn(f"create_app unavailable ({type(exc).__name__}: {exc}); using a bare app", stacklevel=2)
        return create_web_app()
    mount(app)  # idempotent
    return app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(make_app(f"sqlite:///{tmp_path}/web.db")) as c:
        yield c


@pytest.fixture
def bare_client() -> Iterator[TestClient]:
    with TestClient(create_web_app()) as c:
        yield c


def example(name: str) -> dict[str, Any]:
    data = json.loads((EXAMPLES / f"{name}.json").read_text())
    assert isinstance(data, dict)
    return data


def form_fields(record: dict[str, Any]) -> dict[str, Any]:
    """The form a user would post for ``record`` (what the patient page shows, as name -> value(s))."""
    out: dict[str, Any] = {}
    for name, value in state_from_record(record).values.items():
        if isinstance(value, list):
            for v in value:
                if v == NONE_SUFFIX:
                    out[name + NONE_SUFFIX] = "1"
                else:
                    out.setdefault(name, []).append(v)
        else:
            out[name] = value
    return out


def field_block(html: str, name: str) -> str:
    """The HTML of the form field named ``name`` (its wrapper div)."""
    start = html.find(f'data-field="{name}"')
    assert start >= 0, f"no field {name} in the page"
    end = html.find('<div class="field', start + 10)
    return html[start : end if end > 0 else start + 3000]


def hidden(html: str, name: str) -> str:
    import html as h

    m = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert m, f"no hidden {name}"
    return h.unescape(m.group(1))


class Controls(HTMLParser):
    """Collects form controls, label targets and wrapping labels."""

    def __init__(self) -> None:
        super().__init__()
        self.label_for: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.in_label = 0
        self.in_template = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "template":
            self.in_template += 1
        if tag == "label":
            self.in_label += 1
            if a.get("for"):
                self.label_for.add(str(a["for"]))
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit", "button"):
            self.controls.append({**a, "_wrapped": "1" if self.in_label else None, "_tag": tag})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.in_label -= 1
        if tag == "template":
            self.in_template -= 1


def unlabelled(html: str) -> list[str]:
    p = Controls()
    p.feed(html)
    return [
        str(c.get("name") or c.get("id"))
        for c in p.controls
        if not c.get("_wrapped")
        and (not c.get("id") or c.get("id") not in p.label_for)
        and not c.get("aria-label")
    ]


def load_fetch_axe(module_name: str = "fetch_axe") -> ModuleType:
    """scripts/fetch_axe.py as a module named ``module_name`` (where the pinned axe-core version, digests
    and path are written); a test that patches it loads its own copy under another name."""
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "scripts" / "fetch_axe.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
